/**
 * From stored documents to validated specs: YAML or JSON (multi-document allowed), the zod
 * schema, then what the schema cannot see (schedules, volume references, unique names).
 * Every problem names its source and dotted field path; one bad document never hides the
 * others. Pure: the stores hand documents in, nothing here reads or writes.
 */
import { parseAllDocuments } from 'yaml';
import type * as z from '../schemas/zod';
import { ResticSchema, type Restic } from '../schemas/restic';
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

/** Kinds that may sit next to specs and are not specs (Stash's `Recovery`). */
const OTHER_KINDS = new Set(['Recovery']);

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

/** One zod issue as one or more problems (one per unknown field). */
function issueProblems(source: string, issue: z.core.$ZodIssue): SpecProblem[] {
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
  if (spec.backend.local?.volumeSource.emptyDir) {
    warn('spec.backend.local.volumeSource.emptyDir', 'an emptyDir repository does not outlive its run on AWS; use efs (or hostPath locally)');
  }
  if (spec.selector) warn('spec.selector', 'ignored: there are no pods to select; fileGroups come from spec.volumes');
  if (spec.useAutoPrefix !== undefined) warn('spec.useAutoPrefix', 'ignored: the repository path is exactly the backend prefix');
  return { problems, warnings };
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
 * The YAML (or JSON) documents in one stored document as plain values, empty ones left out,
 * each with its source (`FILE#i` when the file holds several), or why they cannot be read:
 * too large, not YAML, or more aliases than {@link MAX_YAML_ALIASES} (an alias bomb). A
 * document that carries its values already (read from a cache of this version) is not parsed.
 */
export function yamlValues(doc: SpecDocument): YamlRead {
  if (doc.values) return { values: [...doc.values], problems: [] };
  const { source } = doc;
  const values: YamlValue[] = [];
  const problems: SpecProblem[] = [];
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
  try {
    parsed = parseAllDocuments(doc.text, { uniqueKeys: true, prettyErrors: true, strict: true });
  } catch (err) {
    problems.push({ source, path: '', message: `not YAML: ${errorMessage(err)}` });
    return { values, problems };
  }
  const documents = Array.isArray(parsed) ? parsed : [parsed];
  documents.forEach((d, index) => {
    const where = documents.length > 1 ? `${source}#${index}` : source;
    if (d.errors.length) {
      // The first line of the parser's message; the code frame after it ends in a colon.
      problems.push({ source: where, path: '', message: `not YAML: ${d.errors[0].message.split('\n')[0].replace(/:$/, '')}` });
      return;
    }
    try {
      const value = d.toJS({ maxAliasCount: MAX_YAML_ALIASES });
      if (value !== null && value !== undefined) values.push({ source: where, value });
    } catch (err) {
      problems.push({ source: where, path: '', message: `not YAML: ${errorMessage(err)}` });
    }
  });
  return { values, problems };
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
