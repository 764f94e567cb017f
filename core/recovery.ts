/**
 * Restores on AWS: a Stash `Recovery` uploaded next to the specs (or made by
 * `stash restore NAME --remote`) becomes one restore task, launched through the same path as a
 * backup, and its outcome lands in the Recovery's status.
 *
 * ```
 * uploaded --validate--> Pending --tick launches--> Running --record--> Succeeded | Failed
 *              \--invalid--> Failed (errors name the file and field)
 * ```
 *
 * A Recovery runs once per stored version: its run id, and so RunTask's `clientToken`, is
 * derived from (name, version); uploading it again (a new version) restores again.
 */
import { createHash } from 'node:crypto';
import { RECOVERY_KIND, RecoverySchema, recoverySpecName, type Recovery, type RecoveryStatus } from '../schemas/recovery';
import { mountedVolume, unsupportedVolumeSource } from '../schemas/restic';
import type { RunResult } from '../schemas/status';
import type { TaskRun } from '../schemas/task-env';
import type { RecoveryContext, SlotReport } from './launch';
import { formatGoDuration } from './duration';
import { errorMessage, formatProblem, StashError, type SpecProblem } from './errors';
import type { LoadedSpec, RecoveryStatusStore, SpecDocument } from './ports';
import { repositoryKey } from './repository';
import { isUnder, issueProblems, yamlValues } from './spec';

/** Repositories compared where a Recovery runs: by their location, whatever machine reads them. */
const ON_AWS = { kind: 'aws' } as const;

/** A Recovery that passed validation, with where it came from. */
export interface LoadedRecovery {
  readonly recovery: Recovery;
  readonly source: string;
  readonly version?: string;
}

/** What parsing documents for Recoveries gives. */
export interface RecoveryLoadResult {
  readonly recoveries: LoadedRecovery[];
  /** Problems of documents that are Recoveries (by `kind`) but invalid, with the Recovery's name when known. */
  readonly problems: (SpecProblem & { readonly name?: string })[];
  /** What valid Recoveries hold that is ignored here, or that a restore cannot use yet. */
  readonly warnings: SpecProblem[];
}

/** Raised when a Recovery cannot be launched; carries the reason for its status. */
export class RecoveryError extends StashError {}

/**
 * True when a stored document may hold a `Recovery` (cheap: no full parse): a `kind: Recovery`
 * line, at any indentation, so that the items of a `kind: List` count too.
 */
export function isRecoveryText(text: string): boolean {
  return /^[ \t-]*kind:\s*["']?Recovery["']?\s*$/m.test(text);
}

const NO_PODS = 'ignored: there are no pods or nodes here; the restore runs as a task on AWS';

/** What a valid Recovery holds that is accepted and ignored, or cannot be used as it is written. */
function recoveryWarnings(source: string, recovery: Recovery): SpecProblem[] {
  const spec = recovery.spec;
  const warnings: SpecProblem[] = [];
  const warn = (path: string, message: string) => warnings.push({ source, path, message });
  if (spec.backend) warn('spec.backend', `read only to check that it is the repository of the Restic this Recovery restores from (${recoverySpecName(recovery)})`);
  if (spec.podOrdinal !== undefined) warn('spec.podOrdinal', NO_PODS);
  if (spec.nodeName !== undefined) warn('spec.nodeName', NO_PODS);
  if (spec.nodeSelector !== undefined) warn('spec.nodeSelector', NO_PODS);
  if (spec.imagePullSecrets !== undefined) warn('spec.imagePullSecrets', "ignored: the runner's image is the stack's own");
  spec.recoveredVolumes.forEach((v, i) => {
    if (v.name !== undefined) warn(`spec.recoveredVolumes[${i}].name`, "ignored: Stash's recovered volumes never had a name (its 0.7 MinIO guide wrote one, which Stash ignored too)");
    const volume = mountedVolume(v);
    if (!volume.source) warn(`spec.recoveredVolumes[${i}].${volume.field}`, `${unsupportedVolumeSource(volume.kind)}; until then the restore fails`);
  });
  return warnings;
}

/**
 * The Recoveries in stored documents, in any shape Stash 0.6 to 0.8 wrote them (the one
 * loader of `stash validate`, `stash restore --remote`, the dispatcher and the restore
 * task); documents of other kinds are ignored.
 */
export function loadRecoveries(docs: readonly SpecDocument[]): RecoveryLoadResult {
  const recoveries: LoadedRecovery[] = [];
  const problems: RecoveryLoadResult['problems'] = [];
  const warnings: SpecProblem[] = [];
  for (const doc of docs) {
    if (!isRecoveryText(doc.text)) continue;
    const read = yamlValues(doc);
    problems.push(...read.problems);
    for (const { source: where, value } of read.values) {
      if (typeof value !== 'object' || (value as { kind?: unknown }).kind !== RECOVERY_KIND) continue;
      const meta = (value as { metadata?: { name?: unknown } }).metadata;
      const name = typeof meta?.name === 'string' ? meta.name : undefined;
      const result = RecoverySchema.safeParse(value, { reportInput: true });
      if (!result.success) {
        problems.push(...result.error.issues.flatMap((issue) => issueProblems(where, issue)).map((p) => ({ ...p, name })));
        continue;
      }
      recoveries.push({ recovery: result.data, source: where, version: doc.version });
      warnings.push(...recoveryWarnings(where, result.data));
    }
  }
  return { recoveries, problems, warnings };
}

/**
 * Checks a Recovery against its spec: the spec exists and is valid, a Stash 0.6 `backend` is
 * its repository, and every path is one of its fileGroups under a recovered volume. Returns
 * the paths to restore.
 */
export function recoveryPaths(recovery: Recovery, specs: readonly LoadedSpec[]): string[] {
  const specName = recoverySpecName(recovery);
  const spec = specs.find((s) => s.spec.metadata.name === specName);
  if (!spec) throw new RecoveryError(`no valid spec named "${specName}" to restore from`);
  const backend = recovery.spec.backend;
  if (backend && repositoryKey({ ...spec.spec, spec: { ...spec.spec.spec, backend } }, ON_AWS) !== repositoryKey(spec.spec, ON_AWS)) {
    throw new RecoveryError(`spec.backend: is not the repository of ${specName} (spec.backend of the Restic): a Recovery restores from its Restic's repository`);
  }
  const groups = spec.spec.spec.fileGroups.map((g) => g.path);
  const paths = recovery.spec.paths ?? groups;
  const unknown = paths.filter((p) => !groups.includes(p));
  if (unknown.length) throw new RecoveryError(`spec.paths: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not fileGroups' : 'is not a fileGroup'} of ${specName} (${groups.join(', ')})`);
  for (const p of paths) {
    if (!recovery.spec.recoveredVolumes.some((v) => isUnder(p, mountedVolume(v).mountPath))) {
      throw new RecoveryError(`spec.recoveredVolumes: no volume is mounted at or above ${p}`);
    }
  }
  return paths;
}

/** The run id of a Recovery at a version: the same Recovery version always gets the same id. */
export function recoveryRunId(recovery: Recovery, version: string | undefined): string {
  const hash = createHash('sha256').update(`${recovery.metadata.name}\0${version ?? ''}`).digest('hex').slice(0, 8);
  return `${recoverySpecName(recovery)}-restore-${hash}`;
}

const isTerminal = (s: RecoveryStatus) => s.phase === 'Succeeded' || s.phase === 'Failed';

/** A status for a Recovery that has not run, or failed validation. */
export function pendingStatus(loaded: LoadedRecovery, now: Date): RecoveryStatus {
  return {
    name: loaded.recovery.metadata.name,
    phase: 'Pending',
    source: loaded.source,
    version: loaded.version,
    spec: recoverySpecName(loaded.recovery),
    stats: [],
    errors: [],
    updatedAt: now.toISOString(),
  };
}

/**
 * The tick's recovery step: every Recovery not yet launched at its current version is
 * launched, unless its spec is running (it waits, Pending) or it cannot be (Failed, with
 * why). Plug into `DispatchDeps.recoveries` with the store bound.
 */
export async function launchRecoveries(store: RecoveryStatusStore, ctx: RecoveryContext): Promise<SlotReport[]> {
  const { recoveries, problems } = loadRecoveries(ctx.documents);
  const reports: SlotReport[] = [];
  const now = ctx.now.toISOString();
  for (const p of problems) {
    if (!p.name) continue;
    const error = formatProblem(p);
    const current = await store.get(p.name);
    if (current?.phase === 'Failed' && current.errors.includes(error)) continue;
    await store.update(p.name, () => ({ name: p.name!, phase: 'Failed', source: p.source, stats: [], errors: [error], updatedAt: now }));
  }
  for (const loaded of recoveries) {
    const { recovery } = loaded;
    const name = recovery.metadata.name;
    const specName = recoverySpecName(recovery);
    const current = await store.get(name);
    const sameVersion = current && current.version === loaded.version && current.source === loaded.source;
    if (current && sameVersion && (isTerminal(current) || current.phase === 'Running')) continue;
    const report = await launchRecovery(store, ctx, loaded, current);
    reports.push({ ...report, spec: specName });
  }
  return reports;
}

/** Launches one Recovery and records Running, Pending (waiting) or Failed. */
export async function launchRecovery(
  store: RecoveryStatusStore,
  ctx: Pick<RecoveryContext, 'specs' | 'running' | 'now' | 'launch'>,
  loaded: LoadedRecovery,
  current?: RecoveryStatus,
): Promise<SlotReport> {
  const { recovery } = loaded;
  const name = recovery.metadata.name;
  const specName = recoverySpecName(recovery);
  const run = recoveryRunId(recovery, loaded.version);
  const now = ctx.now.toISOString();
  const base = { ...pendingStatus(loaded, ctx.now), ...(current && current.version === loaded.version ? { startedAt: current.startedAt } : {}) };
  const fail = async (reason: string): Promise<SlotReport> => {
    await store.update(name, () => ({ ...base, phase: 'Failed', run, errors: [reason], finishedAt: now }));
    return { spec: specName, kind: 'restore', run, result: 'failed', reason };
  };
  let paths: string[];
  try {
    paths = recoveryPaths(recovery, ctx.specs);
  } catch (err) {
    return fail(errorMessage(err));
  }
  const spec = ctx.specs.find((s) => s.spec.metadata.name === specName)!;
  const busy = ctx.running.get(specName);
  if (busy && busy.run !== run) {
    const reason = `waiting for ${busy.run ?? busy.taskArn} of ${specName} to finish`;
    if (current?.phase !== 'Pending' || current.errors[0] !== reason) await store.update(name, () => ({ ...base, errors: [reason] }));
    return { spec: specName, kind: 'restore', run, result: 'skipped', reason };
  }
  const outcome = await ctx.launch(spec, {
    run,
    kind: 'restore',
    recovery: { name, source: loaded.source, version: loaded.version, volumes: recovery.spec.recoveredVolumes },
  });
  if (!outcome.launched) {
    if (outcome.retryable) {
      await store.update(name, () => ({ ...base, errors: [`launch deferred: ${outcome.reason}`] }));
      return { spec: specName, kind: 'restore', run, result: 'deferred', reason: outcome.reason };
    }
    return fail(`launch failed: ${outcome.reason}`);
  }
  await store.update(name, () => ({
    ...base,
    phase: 'Running',
    run,
    taskArn: outcome.taskArn,
    startedAt: now,
    stats: paths.map((path) => ({ path, phase: 'Running' as const })),
  }));
  return { spec: specName, kind: 'restore', run, result: 'launched', taskArn: outcome.taskArn };
}

/**
 * The record step for a stopped restore task: the Recovery's phase and per-path stats.
 * The Recovery is found by name (the task's `recoveryName`) or, failing that, by run id.
 */
export function recordRestore(store: RecoveryStatusStore): (run: TaskRun, result: RunResult) => Promise<void> {
  return async (run, result) => {
    let name = run.recoveryName;
    if (!name) name = (await store.list()).find((s) => s.run === run.run)?.name;
    if (!name) return;
    const phase = result.outcome === 'succeeded' ? 'Succeeded' : 'Failed';
    const duration = formatGoDuration(result.durationMs);
    await store.update(name, (current) => {
      const paths = current?.stats.length ? current.stats.map((s) => s.path) : [];
      return {
        ...(current ?? { name, stats: [], errors: [] }),
        name,
        phase,
        run: run.run,
        startedAt: current?.startedAt ?? result.startedAt,
        finishedAt: result.finishedAt,
        stats: paths.map((path) => ({ path, phase, duration })),
        errors: result.error ? [result.error] : [],
        updatedAt: result.finishedAt,
      };
    });
  };
}
