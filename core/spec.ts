/**
 * From stored documents to validated specs: YAML or JSON (multi-document allowed), the zod
 * schema, then what the schema cannot see (schedules, volume references, unique names).
 * Every problem names its source and dotted field path; one bad document never hides the
 * others. Pure: the stores hand documents in, nothing here reads or writes.
 */
import { posix } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import type * as z from '../schemas/zod';
import {
  API_VERSION,
  mountedVolume,
  ResticSchema,
  retentionPolicyOf,
  unsupportedVolumeSource,
  type FileGroup,
  type Restic,
  type RetentionPolicy,
  type VolumeSource,
} from '../schemas/restic';
import { parseGoDuration } from './duration';
import { compareNames } from './names';
import { errorMessage, type SpecProblem } from './errors';
import type { LoadedSpec, SpecDocument, YamlValue } from './ports';
import { parseSchedule } from './schedule';

/** Documents larger than this are refused unread (a spec is a few hundred bytes). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** YAML aliases allowed per document; more is treated as an alias bomb. */
export const MAX_YAML_ALIASES = 100;

/**
 * Nesting allowed in a document; a spec needs about eight levels. Deeper would overflow the
 * parser's stack. yaml 2.9 turns its own stack overflow into a document error, which is enough
 * on Node.js 24, but on Node.js 22 (which `engines` allows) two such documents in one process
 * still abort it in V8's regular expression compiler: so the guard stays.
 */
export const MAX_YAML_NESTING = 64;

/** Kinds that may sit next to specs and are not specs (Stash's `Recovery`, which core/recovery.ts reads). */
const OTHER_KINDS = new Set(['Recovery']);

/**
 * Kinds of Stash's later API (0.9 and later: `stash.appscode.com/v1beta1`, and the
 * `Repository` that Stash 0.7 created itself) and what to write instead.
 */
const LATER_KINDS: Readonly<Record<string, string>> = {
  BackupConfiguration: 'write it as a Restic: its paths as fileGroups, its schedule, its repository\'s backend and its retention policy',
  BackupBatch: 'write a Restic for each of its members',
  BackupBlueprint: 'write a Restic for each workload it would have backed up',
  BackupSession: 'nothing to convert: runs follow each Restic\'s schedule, and stash backup NAME starts one now',
  RestoreSession: 'write it as a Recovery that names the Restic to restore from',
  RestoreBatch: 'write a Recovery for each of its members',
  Repository: 'put its backend in the spec.backend of the Restic that writes to it',
  Task: 'nothing to convert: the runner runs restic itself',
  Function: 'nothing to convert: the runner runs restic itself',
};

/** Why a document of Stash's later API is not read here, or undefined for any other document. */
function laterApiProblem(value: Record<string, unknown>): { path: string; message: string } | undefined {
  const { kind, apiVersion } = value;
  const reads = `this project reads Stash 0.5 to 0.8's Restic and Recovery (${API_VERSION})`;
  const stash = typeof apiVersion === 'string' && apiVersion.startsWith('stash.appscode.com/');
  if (typeof kind === 'string' && Object.hasOwn(LATER_KINDS, kind) && (stash || apiVersion === undefined)) {
    const line = kind === 'Repository' && apiVersion !== 'stash.appscode.com/v1beta1' ? 'Stash 0.7 and later (which created one for each Restic)' : 'Stash 0.9 and later';
    return { path: 'kind', message: `${kind}${stash ? ` (${String(apiVersion)})` : ''} belongs to ${line}; ${reads}: ${LATER_KINDS[kind]}` };
  }
  if (stash && apiVersion !== API_VERSION) {
    return { path: 'apiVersion', message: `${String(apiVersion)} is the API of Stash 0.9 and later; ${reads}` };
  }
  return undefined;
}

/** What loading a set of documents gives: usable specs, and why the rest are not. */
export interface SpecLoadResult {
  readonly specs: LoadedSpec[];
  readonly problems: SpecProblem[];
  readonly warnings: SpecProblem[];
}

/** Turns a zod path into our dotted form: `spec.fileGroups[0].path`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** One zod issue as one or more problems (one per unknown field); the Recovery loader reports through it too. */
export function issueProblems(source: string, issue: z.core.$ZodIssue): SpecProblem[] {
  const path = formatPath(issue.path);
  const at = (p: string) => ({ source, path: p });
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        ...at(formatPath([...issue.path, key])),
        message: issue.message.startsWith('unsupported') ? issue.message : 'unknown field',
      }));
    case 'invalid_type':
      return [{ ...at(path), message: issue.input === undefined ? 'Required' : `must be ${article(issue.expected)} (got ${describe(issue.input)})` }];
    default:
      return [{ ...at(path), message: issue.message }];
  }
}

function article(expected: string): string {
  const names: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping', int: 'an integer' };
  return names[expected] ?? expected;
}

/** The checks beyond the document's shape; returns problems and warnings for one spec. */
function semanticChecks(source: string, restic: Restic): { problems: SpecProblem[]; warnings: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const warnings: SpecProblem[] = [];
  const spec = restic.spec;
  const problem = (path: string, message: string) => problems.push({ source, path, message });
  const warn = (path: string, message: string) => warnings.push({ source, path, message });

  try {
    parseSchedule(spec.schedule);
  } catch (err) {
    problem('spec.schedule', errorMessage(err));
  }
  if (spec.check?.schedule !== undefined) {
    try {
      parseSchedule(spec.check.schedule);
    } catch (err) {
      problem('spec.check.schedule', errorMessage(err));
    }
  }
  if (spec.timeout !== undefined) {
    const ms = parseGoDuration(spec.timeout);
    if (ms === undefined || ms < 1_000) problem('spec.timeout', `must be a duration of at least 1s such as 6h or 90m (got "${spec.timeout}")`);
  }
  if (spec.startWindow !== undefined) {
    const ms = parseGoDuration(spec.startWindow);
    if (ms === undefined || ms < 60_000) problem('spec.startWindow', `must be a duration of at least 1m such as 30m or 2h (got "${spec.startWindow}")`);
  }

  const volumes = spec.volumes ?? [];
  const seen = new Map<string, number>();
  volumes.forEach((v, i) => {
    const first = seen.get(v.name);
    if (first !== undefined) problem(`spec.volumes[${i}].name`, `duplicate volume "${v.name}" (also spec.volumes[${first}])`);
    else seen.set(v.name, i);
  });
  (spec.volumeMounts ?? []).forEach((m, i) => {
    if (!seen.has(m.name)) {
      warn(
        `spec.volumeMounts[${i}].name`,
        `volume "${m.name}" is not defined in spec.volumes; the spec cannot run until it is (hostPath locally, efs on AWS)`,
      );
    }
  });
  const mounts = spec.volumeMounts ?? [];
  spec.fileGroups.forEach((g, i) => {
    if (mounts.length && !mounts.some((m) => isUnder(g.path, m.mountPath))) {
      warn(`spec.fileGroups[${i}].path`, `is not under any volumeMount's mountPath (${mounts.map((m) => m.mountPath).join(', ')})`);
    }
  });
  retentionChecks(spec, problem, warn);
  mountChecks(spec, problem);
  folderChecks(restic, problem, warn);
  if (spec.backend.local) {
    const repository = mountedVolume(spec.backend.local);
    const at = `spec.backend.local.${repository.field}`;
    if (!repository.source) warn(at, `${unsupportedVolumeSource(repository.kind)}; until then every run of this spec fails`);
    else if (repository.kind === 'emptyDir') warn(at, 'an emptyDir repository does not outlive its run on AWS; use efs (or hostPath locally)');
  }
  if (spec.selector) warn('spec.selector', 'ignored: there are no pods to select; fileGroups come from spec.volumes');
  if (spec.backend.azure) {
    // Debian builds restic without its Azure backend (a patch of its own since restic 0.16).
    warn('spec.backend.azure', "the runner image's restic (Debian's package) has no Azure backend, so runs on AWS fail; locally, use a restic built with it (restic's own release)");
  }
  if (spec.useAutoPrefix !== undefined) warn('spec.useAutoPrefix', 'ignored: the repository path is exactly the backend prefix');
  if (spec.type === 'offline') {
    warn(
      'spec.type',
      'offline runs as online does: there are no pods to stop and restart around a backup, so each scheduled run reads the volumes as they are (stop what writes to them first if it needs to)',
    );
  }
  if (spec.imagePullSecrets !== undefined) warn('spec.imagePullSecrets', "ignored: the runner's image is the stack's own");
  return { problems, warnings };
}

/**
 * Stash's rule for `retentionPolicyName` (0.6 and later): a name given must be the name of
 * one of `spec.retentionPolicies`. A fileGroup takes either that or Stash 0.5's inline policy.
 * Duplicate names are allowed, as in Stash, which used the first.
 */
function retentionChecks(spec: Restic['spec'], problem: (path: string, message: string) => void, warn: (path: string, message: string) => void): void {
  const first = new Map<string, number>();
  (spec.retentionPolicies ?? []).forEach((p, i) => {
    const name = p.name ?? '';
    const earlier = first.get(name);
    if (earlier === undefined) first.set(name, i);
    else warn(`spec.retentionPolicies[${i}].name`, `duplicate policy name "${name}": fileGroups that name it get spec.retentionPolicies[${earlier}], as in Stash`);
  });
  spec.fileGroups.forEach((g, i) => {
    const at = `spec.fileGroups[${i}].retentionPolicyName`;
    if (g.retentionPolicyName === undefined) return;
    if (g.retentionPolicy) problem(at, 'a fileGroup takes retentionPolicy (Stash 0.5) or retentionPolicyName (Stash 0.6 and later), not both');
    else if (g.retentionPolicyName !== '' && !first.has(g.retentionPolicyName)) {
      const names = [...first.keys()].filter(Boolean);
      problem(at, `"${g.retentionPolicyName}" is not the name of any of spec.retentionPolicies (${names.length ? names.map((n) => `"${n}"`).join(', ') : 'there are none'})`);
    }
  });
  policyChecks(spec, problem, warn);
}

/** The keep counts of a policy, each a `restic forget --keep-*` rule when above 0. */
const KEEP_COUNTS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

/** True when a policy keeps by count (a `--keep-*` above 0): only then does it bound how many snapshots stay. */
const keepsByCount = (p: RetentionPolicy) => KEEP_COUNTS.some((k) => (p[k] ?? 0) > 0);

/** True when a policy has any rule restic forget applies (the runner passes no `--keep-*` of 0, and skips forget without one). */
const hasKeepRule = (p: RetentionPolicy) => keepsByCount(p) || (p.keepTags?.length ?? 0) > 0;

/** True when `restic forget` with this policy removes snapshots (it has a rule and is not a dry run). */
const removes = (p: RetentionPolicy | undefined) => p !== undefined && hasKeepRule(p) && !p.dryRun;

/** The same policy, whatever it is named and however its fields are ordered. */
function samePolicy(a: RetentionPolicy | undefined, b: RetentionPolicy | undefined): boolean {
  const rules = (p: RetentionPolicy | undefined) =>
    p && hasKeepRule(p)
      ? JSON.stringify([...KEEP_COUNTS.map((k) => p[k] ?? 0), [...new Set(p.keepTags ?? [])].sort(), !!p.prune, !!p.dryRun])
      : undefined;
  return rules(a) === rules(b);
}

/**
 * Retention that keeps nothing or does nothing (Stash accepted all of it):
 * - refused: a policy with no keep rule (`{}`, `prune: true` alone, `dryRun: true` alone, every
 *   count 0): the runner never calls `restic forget` for it (restic itself refuses an empty
 *   policy), so it reads as retention and never removes a snapshot; no policy says that plainly;
 * - refused: `keepTags` as the only rule, for a fileGroup: its snapshots carry the fileGroup's
 *   tags, so either every one of them is kept (the policy does nothing) or none is (restic
 *   0.14 forgets them all; 0.17 and later refuse to, failing every run);
 * - warned: `dryRun: true` beside a rule, a deliberate trial that restic reports on and that
 *   removes nothing while it stays.
 */
function policyChecks(spec: Restic['spec'], problem: (path: string, message: string) => void, warn: (path: string, message: string) => void): void {
  const written: [string, RetentionPolicy][] = [
    ...(spec.retentionPolicies ?? []).map((p, i): [string, RetentionPolicy] => [`spec.retentionPolicies[${i}]`, p]),
    ...spec.fileGroups.flatMap((g, i): [string, RetentionPolicy][] => (g.retentionPolicy ? [[`spec.fileGroups[${i}].retentionPolicy`, g.retentionPolicy]] : [])),
  ];
  for (const [at, p] of written) {
    if (!hasKeepRule(p)) {
      const zero = KEEP_COUNTS.filter((k) => p[k] === 0);
      problem(
        at,
        `does nothing: it has no keep rule (a keep count above 0, or keepTags${zero.length ? `; ${zero.join(', ')}: 0 is none` : ''}), so restic forget never runs${p.prune ? ' and nothing is pruned' : ''}; ` +
          'add a rule such as keepLast: 5, or remove the policy to keep every snapshot',
      );
    } else if (p.dryRun) {
      warn(`${at}.dryRun`, 'restic forget only reports what it would remove: no snapshot is removed while dryRun is true');
    }
  }
  spec.fileGroups.forEach((g, i) => {
    const p = retentionPolicyOf(spec, g);
    if (!p || keepsByCount(p) || !p.keepTags?.length) return;
    const at = g.retentionPolicy ? `spec.fileGroups[${i}].retentionPolicy.keepTags` : `spec.fileGroups[${i}].retentionPolicyName`;
    const tags = p.keepTags.map((t) => JSON.stringify(t)).join(', ');
    const kept = p.keepTags.filter((t) => g.tags?.includes(t));
    if (kept.length) {
      problem(at, `keeps every snapshot: keepTags is its only rule and this fileGroup tags each of its snapshots ${JSON.stringify(kept[0])}; add a keep count, or remove the policy`);
    } else {
      problem(
        at,
        `keeps no snapshot: keepTags (${tags}) is its only rule and this fileGroup tags its snapshots with none of them, so restic forget would remove every one (restic 0.17 and later refuse to, failing every run); add a keep count`,
      );
    }
  });
}

/** A path with no trailing or doubled slash and no `.` segment, so equal folders compare equal. */
const normal = (path: string) => (path === '/' ? '/' : posix.normalize(path).replace(/\/+$/, ''));

/**
 * `volumeMounts` must not repeat a mount path, nor mount one where the `local` backend's
 * repository is mounted: Kubernetes refused both in Stash's sidecar, and a task has one
 * mount per path.
 */
function mountChecks(spec: Restic['spec'], problem: (path: string, message: string) => void): void {
  const seen = new Map<string, string>();
  (spec.volumeMounts ?? []).forEach((m, i) => {
    const at = `spec.volumeMounts[${i}].mountPath`;
    const first = seen.get(normal(m.mountPath));
    if (first) problem(at, `duplicate mount path ${JSON.stringify(m.mountPath)} (also ${first})`);
    else seen.set(normal(m.mountPath), at);
  });
  if (spec.backend.local) {
    const field = spec.backend.local.path !== undefined ? 'path' : 'mountPath';
    const mountPath = mountedVolume(spec.backend.local).mountPath;
    const first = seen.get(normal(mountPath));
    if (first) problem(`spec.backend.local.${field}`, `the repository is mounted at ${JSON.stringify(mountPath)}, which is also ${first}: one path takes one volume`);
  }
}

/** Where a path's files are kept: a file system (`root`) and the folder in it. */
interface Location {
  /** `host` (this machine's folders), `container` (the task's own), `efs:<id>[@<access point>]` or `emptyDir:<volume>`. */
  readonly root: string;
  readonly path: string;
}

type Mode = 'local' | 'aws';
const MODES: readonly Mode[] = ['local', 'aws'];

/** A volume source's location, `rel` below its mount, in a mode; undefined where the mode cannot use it. */
function sourceLocation(mode: Mode, volume: string, source: VolumeSource, subPath: string | undefined, rel: string): Location | undefined {
  if (source.hostPath) return mode === 'local' ? { root: 'host', path: normal(posix.join(source.hostPath.path, subPath ?? '', rel)) } : undefined;
  if (source.efs) {
    if (mode === 'local') return undefined;
    const { fileSystemId, accessPointId, rootDirectory } = source.efs;
    // An access point has a root of its own (and takes no subPath): paths compare only under one access point.
    const root = `efs:${fileSystemId}${accessPointId ? `@${accessPointId}` : ''}`;
    return { root, path: normal(posix.join('/', accessPointId ? '' : (rootDirectory ?? ''), accessPointId ? '' : (subPath ?? ''), rel)) };
  }
  return { root: `emptyDir:${volume}`, path: normal(posix.join('/', subPath ?? '', rel)) };
}

/** A mount as the machine sees it: where, and what (undefined: a volume that is not defined). */
interface Mount {
  readonly mountPath: string;
  readonly volume: string;
  readonly source?: VolumeSource;
  readonly subPath?: string;
}

/**
 * The mounts of a mode, as core/volumes.ts and aws/task-volumes.ts resolve them: `volumeMounts`
 * locally; on AWS also the `local` backend's repository, which the task mounts beside them
 * (an ECS volume named `stash-repository`; locally the repository is not mounted, its
 * emptyDir is the state folder's `repository`).
 */
function mountsOf(spec: Restic['spec'], mode: Mode): Mount[] {
  const mounts: Mount[] = (spec.volumeMounts ?? []).map((m) => ({
    mountPath: normal(m.mountPath),
    volume: m.name,
    source: spec.volumes?.find((v) => v.name === m.name),
    subPath: m.subPath,
  }));
  const repository = repositoryMount(spec, mode);
  return repository && mode === 'aws' ? [...mounts, repository] : mounts;
}

function repositoryMount(spec: Restic['spec'], mode: Mode): Mount | undefined {
  if (!spec.backend.local) return undefined;
  const v = mountedVolume(spec.backend.local);
  return { mountPath: normal(v.mountPath), volume: mode === 'aws' ? 'stash-repository' : 'repository', source: v.source, subPath: v.subPath };
}

/** Where a path of the spec is kept in a mode: under its deepest mount, or as written (this machine's folder, or the task's own). */
function locate(mounts: readonly Mount[], mode: Mode, path: string): Location | undefined {
  const p = normal(path);
  let best: Mount | undefined;
  for (const m of mounts) if (isUnder(p, m.mountPath) && (!best || m.mountPath.length > best.mountPath.length)) best = m;
  if (!best) return { root: mode === 'local' ? 'host' : 'container', path: p };
  return best.source && sourceLocation(mode, best.volume, best.source, best.subPath, posix.relative(best.mountPath, p));
}

const sameOrUnder = (a: Location, b: Location) => a.root === b.root && isUnder(a.path, b.path);

/** A location as a message names it. */
function describeLocation(l: Location, mode: Mode): string {
  if (l.root === 'host') return `${l.path} on this machine`;
  if (l.root === 'container') return `${l.path} in the task`;
  const [kind, name] = l.root.split(/:(.*)/);
  return kind === 'efs' ? `${name}:${l.path} on AWS` : `${l.path} of the emptyDir volume "${name}"${mode === 'aws' ? ' on AWS' : ''}`;
}

/**
 * What the fileGroups of a spec back up, resolved through volumes and mounts on this machine
 * (hostPath, emptyDir) and on AWS (EFS file system, access point and folder; the task's
 * mounts, the repository's included):
 * - a fileGroup whose path repeats another's is refused;
 * - two fileGroups on one folder by different paths (two mounts of one volume, or of one
 *   folder) are refused when restic would mix their snapshots (locally restic sees one path,
 *   and `forget --host --path` applies each policy to both fileGroups' snapshots) or their
 *   policies differ (one folder, one history); otherwise warned (it is backed up twice);
 * - a `local` repository at or below a fileGroup's folder, or a fileGroup's folder inside the
 *   repository, is refused: each backup would copy the repository into itself.
 */
function folderChecks(restic: Restic, problem: (path: string, message: string) => void, warn: (path: string, message: string) => void): void {
  const spec = restic.spec;
  const groups = spec.fileGroups;
  const paths = new Map<string, number>();
  const duplicate = new Set<number>();
  groups.forEach((g, i) => {
    const first = paths.get(normal(g.path));
    if (first === undefined) paths.set(normal(g.path), i);
    else {
      duplicate.add(i);
      problem(
        `spec.fileGroups[${i}].path`,
        `duplicate fileGroup: ${JSON.stringify(g.path)} is also spec.fileGroups[${first}].path; back a folder up once (restic forget tells snapshots apart by host and path, not by fileGroup)`,
      );
    }
  });

  const found = new Map<number, { refused: boolean; message: string }>();
  for (const mode of MODES) {
    const mounts = mountsOf(spec, mode);
    const seen = new Map<string, number>();
    groups.forEach((g, i) => {
      if (duplicate.has(i)) return;
      const here = locate(mounts, mode, g.path);
      if (!here) return;
      const key = `${here.root}\0${here.path}`;
      const first = seen.get(key);
      if (first === undefined) return void seen.set(key, i);
      const verdict = sameFolder(spec, groups[first], g, mode === 'local');
      // One message per fileGroup: the first found, unless a later mode refuses what the first only warned of.
      if (!found.has(i) || (verdict.refused && !found.get(i)!.refused)) {
        found.set(i, { refused: verdict.refused, message: `is the same folder as spec.fileGroups[${first}].path (${describeLocation(here, mode)}), ${verdict.why}` });
      }
    });
  }
  for (const [i, { refused, message }] of found) (refused ? problem : warn)(`spec.fileGroups[${i}].path`, message);

  const holding = new Set<number>();
  for (const mode of MODES) {
    const repository = repositoryMount(spec, mode);
    const repo = repository?.source && sourceLocation(mode, repository.volume, repository.source, repository.subPath, '');
    if (!repository || !repo) continue;
    const mounts = mountsOf(spec, mode);
    groups.forEach((g, i) => {
      const at = `spec.fileGroups[${i}].path`;
      const here = locate(mounts, mode, g.path);
      if (!here || duplicate.has(i) || holding.has(i)) return;
      // On AWS the task also reads every mount below the path: the repository's, or another of its volume.
      const reads = mode === 'aws' ? [here, ...mounts.filter((m) => m.mountPath !== normal(g.path) && isUnder(m.mountPath, normal(g.path))).flatMap((m) => locate(mounts, mode, m.mountPath) ?? [])] : [here];
      const where = `spec.backend.local, ${describeLocation(repo, mode)}`;
      if (sameOrUnder(here, repo)) {
        holding.add(i);
        problem(at, `is inside the repository (${where}): each backup would copy restic's own files into the repository`);
      } else if (reads.some((r) => sameOrUnder(repo, r))) {
        holding.add(i);
        problem(at, `holds the repository (${where}): each backup would copy the repository into itself, growing it by its own size every run`);
      }
    });
  }
}

/** Two fileGroups with different paths on one folder: refused, or warned, and why. */
function sameFolder(spec: Restic['spec'], a: FileGroup, b: FileGroup, onePath: boolean): { refused: boolean; why: string } {
  const [pa, pb] = [retentionPolicyOf(spec, a), retentionPolicyOf(spec, b)];
  if (onePath && (removes(pa) || removes(pb))) {
    return {
      refused: true,
      why: 'which restic backs up under the same path: restic forget, which tells snapshots apart by host and path only, would apply each fileGroup\'s policy to both fileGroups\' snapshots; back the folder up in one fileGroup',
    };
  }
  if (!samePolicy(pa, pb)) return { refused: true, why: 'with a different retention policy: one folder keeps one history; back it up in one fileGroup' };
  return { refused: false, why: 'so each run backs it up twice' };
}

/** True when `path` is `dir` or below it. */
export function isUnder(path: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return path === dir || path.startsWith(d) || dir === '/';
}

/** What reading one stored document's YAML gives. */
export interface YamlRead {
  readonly values: YamlValue[];
  readonly problems: SpecProblem[];
}

/**
 * The objects in one stored document as plain values, empty ones left out, each with its
 * source: its YAML (or JSON) documents, a `kind: List` read as its `items`, `FILE#i` for the
 * i-th when the file holds several. Or why they cannot be read:
 * too large, not YAML, or more aliases than {@link MAX_YAML_ALIASES} (an alias bomb). A
 * document that carries its values already (read from a cache of this version) is not parsed.
 */
export function yamlValues(doc: SpecDocument): YamlRead {
  if (doc.values) return { values: [...doc.values], problems: [] };
  const { source } = doc;
  const values: YamlValue[] = [];
  const problems: SpecProblem[] = [];
  if (doc.error !== undefined) {
    problems.push({ source, path: '', message: doc.error });
    return { values, problems };
  }
  if (Buffer.byteLength(doc.text) > MAX_DOCUMENT_BYTES) {
    problems.push({ source, path: '', message: `file is larger than ${MAX_DOCUMENT_BYTES} bytes; a spec is a few hundred` });
    return { values, problems };
  }
  const depth = nestingDepth(doc.text);
  if (depth > MAX_YAML_NESTING) {
    problems.push({ source, path: '', message: `not YAML: nested deeper than ${MAX_YAML_NESTING} levels` });
    return { values, problems };
  }
  let parsed;
  const lines = new LineCounter();
  try {
    parsed = parseAllDocuments(doc.text, { ...YAML_OPTIONS, lineCounter: lines });
  } catch (err) {
    problems.push({ source, path: '', message: `not YAML: ${errorMessage(err)}` });
    return { values, problems };
  }
  const documents = Array.isArray(parsed) ? parsed : [parsed];
  // Each YAML document is one object of the file, a `kind: List` as many as it has items.
  const objects: ({ value: unknown } | { problem: string; path: string })[] = [];
  for (const d of documents) {
    const error = firstYamlError(d, lines);
    if (error) {
      objects.push({ path: '', problem: `not YAML: ${error}` });
      continue;
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      objects.push({ path: '', problem: `not YAML: ${errorMessage(err)}` });
      continue;
    }
    if (!isList(value)) objects.push({ value });
    else if (Array.isArray(value.items)) objects.push(...value.items.map((item: unknown) => ({ value: item })));
    else objects.push({ path: 'items', problem: `must be a list: a kind: List holds its objects under items (got ${describe(value.items)})` });
  }
  objects.forEach((o, index) => {
    const where = objects.length > 1 ? `${source}#${index}` : source;
    if ('problem' in o) problems.push({ source: where, path: o.path, message: o.problem });
    else if (o.value !== null && o.value !== undefined) values.push({ source: where, value: o.value });
  });
  return { values, problems };
}

/**
 * How spec files are parsed. `uniqueKeys` is off because the parser's own check compares each
 * key with every earlier key of its mapping (quadratic: 80,000 labels took 21 s);
 * {@link firstDuplicateKey} finds the same duplicates in one pass.
 */
export const YAML_OPTIONS: Readonly<ParseOptions & DocumentOptions & SchemaOptions> = { uniqueKeys: false, prettyErrors: true, strict: true };

/**
 * The first problem of a parsed document, as the parser words it (its first line: the code
 * frame after it ends in a colon): the earlier of the parser's first error and the first
 * duplicate key.
 */
function firstYamlError(d: Document.Parsed, lines: LineCounter): string | undefined {
  const parserError = d.errors[0];
  const duplicate = firstDuplicateKey(d);
  if (duplicate !== undefined && (parserError === undefined || duplicate < parserError.pos[0])) {
    const { line, col } = lines.linePos(duplicate);
    return `Map keys must be unique at line ${line}, column ${col}`;
  }
  return parserError?.message.split('\n')[0].replace(/:$/, '');
}

/**
 * Where the first key that repeats an earlier key of its mapping starts (a text offset), or
 * undefined. Keys are equal as the parser's `uniqueKeys: true` compares them: scalars of equal
 * value (`1` and `0x1`, `~` and `null`), anything else only if it is the same node. One pass
 * with a Set per mapping, in the order the parser reports them (a flow mapping's key after
 * its value).
 */
export function firstDuplicateKey(d: Document.Parsed): number | undefined {
  const visit = (node: unknown): number | undefined => {
    if (isSeq(node)) {
      for (const item of node.items) {
        const found = visit(item);
        if (found !== undefined) return found;
      }
    } else if (isMap(node)) {
      const seen = new Set<unknown>();
      const repeated = (key: unknown): number | undefined => {
        // NaN is not equal to itself, so `.nan` never repeats (Set would say it does).
        if (!isScalar(key) || Number.isNaN(key.value)) return undefined;
        if (seen.has(key.value)) return key.range?.[0];
        seen.add(key.value);
        return undefined;
      };
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const found =
          visit(pair.key) ?? (node.flow ? undefined : repeated(pair.key)) ?? visit(pair.value) ?? (node.flow ? repeated(pair.key) : undefined);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return visit(d.contents);
}

/**
 * `kubectl get restic -o yaml` without a name prints a `kind: List` of the objects under
 * `items`; it is read as those objects, each `FILE#i` as if they were YAML documents.
 */
function isList(value: unknown): value is { items: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'List';
}

/**
 * How deeply a YAML text nests, measured without a parser (which would recurse): open flow
 * brackets outside quotes and comments, plus block levels (indentation steps and compact
 * `- ` / `? ` indicators). An upper estimate, enough to refuse a hostile document.
 */
export function nestingDepth(text: string): number {
  let max = 0;
  let flow = 0;
  const indents: number[] = [];
  for (const line of text.split('\n')) {
    if (flow === 0) {
      const content = /^( *)((?:[-?] +)*)(.?)/.exec(line)!;
      if (content[3] !== '' && content[3] !== '#') {
        const indent = content[1].length;
        while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
        indents.push(indent);
        max = Math.max(max, indents.length + (content[2].match(/[-?]/g)?.length ?? 0));
      }
    }
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
      if (c === '"' || c === "'") {
        // Skip a quoted scalar on this line (an unclosed one runs to the line's end).
        for (i++; i < line.length && line[i] !== c; i++) if (c === '"' && line[i] === '\\') i++;
      } else if (c === '[' || c === '{') max = Math.max(max, indents.length + ++flow);
      else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
  }
  return max;
}

/** Parses and validates one stored document (which may hold several YAML documents). */
export function parseSpecDocument(doc: SpecDocument): SpecLoadResult {
  return validateValues(doc, yamlValues(doc));
}

/** Validates the values read from one stored document: the schema, then {@link semanticChecks}. */
function validateValues(doc: SpecDocument, read: YamlRead): SpecLoadResult {
  const specs: LoadedSpec[] = [];
  const warnings: SpecProblem[] = [];
  const { values } = read;
  const problems = [...read.problems];
  for (const { source: where, value } of values) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ source: where, path: '', message: `must be a Restic object (a mapping), got ${describe(value)}` });
      continue;
    }
    const kind = (value as Record<string, unknown>).kind;
    if (typeof kind === 'string' && OTHER_KINDS.has(kind)) continue;
    const later = laterApiProblem(value as Record<string, unknown>);
    if (later) {
      problems.push({ source: where, ...later });
      continue;
    }
    const result = ResticSchema.safeParse(value, { reportInput: true });
    if (!result.success) {
      problems.push(...result.error.issues.flatMap((i) => issueProblems(where, i)));
      continue;
    }
    const checked = semanticChecks(where, result.data);
    warnings.push(...checked.warnings);
    if (checked.problems.length) {
      problems.push(...checked.problems);
      continue;
    }
    specs.push({ spec: result.data, source: where, version: doc.version, warnings: checked.warnings.map((w) => `${w.path}: ${w.message}`) });
  }
  if (values.length === 0 && problems.length === 0) problems.push({ source: doc.source, path: '', message: 'empty: no Restic spec in this file' });
  return { specs, problems, warnings };
}

/**
 * Loads a whole store: each document on its own, then names must be unique across the
 * store. Every copy of a duplicated name is refused, since which one the user meant is
 * unknowable and running the wrong one would write to the wrong repository.
 */
export function loadSpecs(docs: readonly SpecDocument[]): SpecLoadResult {
  return combine(docs.map(parseSpecDocument));
}

function combine(results: readonly SpecLoadResult[]): SpecLoadResult {
  const all = results.flatMap((r) => r.specs);
  const problems = results.flatMap((r) => r.problems);
  const warnings = results.flatMap((r) => r.warnings);
  const byName = new Map<string, LoadedSpec[]>();
  for (const s of all) {
    const list = byName.get(s.spec.metadata.name) ?? [];
    list.push(s);
    byName.set(s.spec.metadata.name, list);
  }
  const specs: LoadedSpec[] = [];
  for (const [name, list] of byName) {
    if (list.length === 1) {
      specs.push(list[0]);
      continue;
    }
    for (const s of list) {
      const others = list.filter((o) => o !== s).map((o) => o.source);
      problems.push({ source: s.source, path: 'metadata.name', message: `duplicate spec name "${name}" (also in ${others.join(', ')})` });
    }
  }
  specs.sort((a, b) => compareNames(a.spec.metadata.name, b.spec.metadata.name));
  return { specs, problems, warnings };
}

/** One document's parse: its YAML values (absent when the parser found problems) and what validating them gave. */
export interface CachedParse {
  readonly values?: readonly YamlValue[];
  readonly result: SpecLoadResult;
}

/**
 * Keeps each document's parse result by (source, version) so a warm dispatcher re-parses
 * only what changed. Documents without a version are re-parsed when their text changes.
 */
export class SpecCache {
  private readonly entries = new Map<string, CachedParse & { readonly key: string }>();

  /** Loads the store's documents, reusing results for unchanged ones. */
  load(docs: readonly SpecDocument[]): SpecLoadResult {
    const seen = new Set<string>();
    const results = docs.map((doc) => {
      seen.add(doc.source);
      const key = doc.version ?? doc.text;
      const hit = this.entries.get(doc.source);
      if (hit && hit.key === key) return hit.result;
      const read = yamlValues(doc);
      const result = validateValues(doc, read);
      // Values are kept only for what the parser read without a problem: those are what compiled specs may hold.
      this.entries.set(doc.source, { key, result, values: read.problems.length ? undefined : read.values });
      return result;
    });
    for (const source of this.entries.keys()) if (!seen.has(source)) this.entries.delete(source);
    return combine(results);
  }

  /** The parse of a document at `version`, undefined when it is not cached at that version. */
  get(source: string, version: string): CachedParse | undefined {
    const hit = this.entries.get(source);
    return hit && hit.key === version ? hit : undefined;
  }

  /**
   * Puts a parse made earlier (by this same code: compiled specs of this release) in the
   * cache, so loading that version of the document neither parses nor validates it.
   */
  seed(source: string, version: string, parse: CachedParse): void {
    this.entries.set(source, { key: version, ...parse });
  }

  /** How many documents are cached (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}
