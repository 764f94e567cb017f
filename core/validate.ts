/**
 * Validation at upload time: when a document under the spec prefix is created or deleted,
 * its result goes straight into the status of every spec (or Recovery) in it, so whoever
 * uploaded a broken spec reads why within seconds (`stash status`, or the object itself).
 *
 * Which status a broken document belongs to: its `metadata.name` when that is a usable name,
 * else the file's base name (`specs/team-a/db.yaml` -> `db`).
 */
import { recoverySpecName } from '../schemas/recovery';
import { Dns1123LabelSchema } from '../schemas/restic';
import { repositoryLocationProblem, type S3RepositoryLocation } from '../schemas/secret';
import type { ValidationStatus } from '../schemas/status';
import { errorMessage, formatProblem, StashError, type SpecProblem } from './errors';
import type { LoadedSpec, RecoveryStatusStore, SpecDocument, StatusStore } from './ports';
import { isRecoveryText, loadRecoveries, pendingStatus, type LoadedRecovery } from './recovery';
import { loadSpecs, parseSpecDocument, yamlValues } from './spec';

/** What checking a set of documents gives: the valid specs and Recoveries, and why the rest are not. */
export interface DocumentsCheck {
  readonly specs: readonly LoadedSpec[];
  readonly recoveries: readonly LoadedRecovery[];
  readonly problems: readonly SpecProblem[];
  readonly warnings: readonly SpecProblem[];
}

/**
 * Checks documents as `stash validate` reports them: every Restic (as the dispatcher loads
 * them) and every Recovery (as a restore loads them), each problem once. A Recovery whose
 * Restic is not among the valid specs given gets a warning naming it, since that is the spec
 * its restore will need. Pure.
 */
export function validateDocuments(docs: readonly SpecDocument[]): DocumentsCheck {
  const specs = loadSpecs(docs);
  const recoveries = loadRecoveries(docs);
  // A file that is not YAML is reported by both loaders; once is enough.
  const reported = new Set(specs.problems.map(formatProblem));
  const problems = [...specs.problems, ...recoveries.problems.filter((p) => !reported.has(formatProblem(p))).map(({ source, path, message }) => ({ source, path, message }))];
  const warnings = [...specs.warnings, ...recoveries.warnings];
  for (const { recovery, source } of recoveries.recoveries) {
    const name = recoverySpecName(recovery);
    if (specs.specs.some((s) => s.spec.metadata.name === name)) continue;
    const { restic, repository } = recovery.spec;
    const path = restic !== undefined ? 'spec.restic' : repository ? 'spec.repository.name' : 'spec.workload.name';
    warnings.push({ source, path, message: `restores from the Restic spec "${name}", which is not among the valid specs given` });
  }
  return { specs: specs.specs, recoveries: recoveries.recoveries, problems, warnings };
}

/** The validation result of one spec in a document. */
export interface SpecValidation {
  /** The status it is written to. */
  readonly name: string;
  readonly validation: ValidationStatus;
}

/** What validating a document did. */
export interface ValidationReport {
  readonly source: string;
  readonly specs: readonly SpecValidation[];
  /** Recoveries found in the document: their name and whether they are valid. */
  readonly recoveries: readonly { readonly name: string; readonly valid: boolean; readonly errors: readonly string[] }[];
  /** Statuses written; failures to write are collected, not thrown, so one does not hide the others. */
  readonly errors: readonly string[];
}

/** Raised when a document cannot be validated at all (it could not be read). */
export class ValidateError extends StashError {}

/** A usable status name from a file name: `specs/team-a/DB backup.yaml` -> `db-backup`. */
export function nameFromSource(source: string): string {
  const base = source.replace(/#\d+$/, '').split('/').pop() ?? source;
  const stem = base.replace(/\.(ya?ml|json)$/i, '');
  const name = stem
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'unnamed';
}

/** `metadata.name` of each document in a stored document, by the source its problems carry, where it is a usable name. */
function namesBySource(doc: SpecDocument): Map<string, string> {
  const names = new Map<string, string>();
  for (const { source, value } of yamlValues(doc).values) {
    const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
    if (typeof name === 'string' && Dns1123LabelSchema.safeParse(name).success) names.set(source, name);
  }
  return names;
}

/**
 * What a spec's S3 repository needs from the stack: a warning when it is at an AWS endpoint
 * outside the stack's `s3RepositoryBuckets` (`locations`), whose runs then need keys in the
 * secret (the validator reads no secret, so it cannot tell whether they are there).
 */
export function repositoryWarning(spec: LoadedSpec, locations: readonly S3RepositoryLocation[]): SpecProblem | undefined {
  const problem = repositoryLocationProblem(spec.spec.spec.backend, locations);
  if (!problem) return undefined;
  return {
    source: spec.source,
    path: 'spec.backend.s3.bucket',
    message: `${problem}: the task role may not use it, so runs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the secret`,
  };
}

/**
 * Validates one stored document as the dispatcher would (schema, schedule, volumes), giving
 * one result per spec in it. With the stack's S3 repository buckets, a spec at an AWS S3
 * endpoint outside them gets a warning ({@link repositoryWarning}). Pure.
 */
export function validateDocument(doc: SpecDocument, now: Date, s3Repositories?: readonly S3RepositoryLocation[]): SpecValidation[] {
  const result = parseSpecDocument(doc);
  const names = namesBySource(doc);
  const checkedAt = now.toISOString();
  const byName = new Map<string, { source: string; errors: string[]; warnings: string[] }>();
  const entry = (name: string, source: string) => {
    let e = byName.get(name);
    if (!e) {
      e = { source, errors: [], warnings: [] };
      byName.set(name, e);
    }
    return e;
  };
  const nameOf = (p: SpecProblem) => names.get(p.source) ?? nameFromSource(doc.source);
  for (const s of result.specs) entry(s.spec.metadata.name, s.source);
  for (const p of result.problems) entry(nameOf(p), p.source).errors.push(formatProblem(p));
  for (const w of result.warnings) entry(nameOf(w), w.source).warnings.push(formatProblem(w));
  for (const s of s3Repositories ? result.specs : []) {
    const warning = repositoryWarning(s, s3Repositories!);
    if (warning) entry(s.spec.metadata.name, s.source).warnings.push(formatProblem(warning));
  }
  return [...byName].map(([name, e]) => ({
    name,
    validation: {
      valid: e.errors.length === 0,
      source: e.source,
      ...(doc.version ? { version: doc.version } : {}),
      checkedAt,
      errors: e.errors,
      warnings: e.warnings,
    },
  }));
}

/** Ports the validate step writes through. */
export interface ValidateDeps {
  readonly statuses: StatusStore;
  readonly recoveries?: RecoveryStatusStore;
  /** The stack's `s3RepositoryBuckets`, for {@link repositoryWarning}; none given, none checked. */
  readonly s3Repositories?: readonly S3RepositoryLocation[];
}

/**
 * Validates a created or changed document and writes the result into each spec's status
 * (`validation`) or, for a Recovery, its status (Pending, or Failed with the problems).
 */
export async function recordValidation(deps: ValidateDeps, doc: SpecDocument, now: Date): Promise<ValidationReport> {
  const errors: string[] = [];
  if (isRecoveryText(doc.text)) {
    const { recoveries, problems } = loadRecoveries([doc]);
    const out: { name: string; valid: boolean; errors: string[] }[] = [];
    for (const r of recoveries) {
      const name = r.recovery.metadata.name;
      out.push({ name, valid: true, errors: [] });
      if (!deps.recoveries) continue;
      try {
        await deps.recoveries.update(name, (current) =>
          current && current.version === r.version && current.source === r.source ? current : pendingStatus(r, now),
        );
      } catch (err) {
        errors.push(`${name}: could not write the Recovery status: ${errorMessage(err)}`);
      }
    }
    const failed = new Map<string, { source: string; errors: string[] }>();
    for (const p of problems) {
      const name = p.name && Dns1123LabelSchema.safeParse(p.name).success ? p.name : nameFromSource(doc.source);
      const e = failed.get(name) ?? { source: p.source, errors: [] };
      e.errors.push(formatProblem(p));
      failed.set(name, e);
    }
    for (const [name, e] of failed) {
      out.push({ name, valid: false, errors: e.errors });
      if (!deps.recoveries) continue;
      try {
        await deps.recoveries.update(name, () => ({
          name,
          phase: 'Failed',
          source: e.source,
          ...(doc.version ? { version: doc.version } : {}),
          stats: [],
          errors: e.errors,
          updatedAt: now.toISOString(),
        }));
      } catch (err) {
        errors.push(`${name}: could not write the Recovery status: ${errorMessage(err)}`);
      }
    }
    return { source: doc.source, specs: [], recoveries: out, errors };
  }
  const specs = validateDocument(doc, now, deps.s3Repositories);
  for (const s of specs) {
    try {
      await deps.statuses.update(s.name, (current) => ({ ...current, validation: s.validation }));
    } catch (err) {
      errors.push(`${s.name}: could not write the validation result: ${errorMessage(err)}`);
    }
  }
  return { source: doc.source, specs, recoveries: [], errors };
}

/**
 * A document was deleted: every spec status validated from it says so (the status itself
 * is kept, with its history).
 */
export async function recordDeletion(deps: ValidateDeps, source: string, now: Date): Promise<ValidationReport> {
  const errors: string[] = [];
  const specs: SpecValidation[] = [];
  const from = (s: string | undefined) => s === source || (s?.startsWith(`${source}#`) ?? false);
  for (const status of await deps.statuses.list()) {
    if (!from(status.validation?.source)) continue;
    const validation: ValidationStatus = {
      valid: false,
      source: status.validation!.source,
      checkedAt: now.toISOString(),
      errors: [`${source}: deleted; the spec no longer runs`],
      warnings: [],
    };
    specs.push({ name: status.name, validation });
    try {
      await deps.statuses.update(status.name, (current) => ({ ...current, validation }));
    } catch (err) {
      errors.push(`${status.name}: could not record the deletion: ${errorMessage(err)}`);
    }
  }
  return { source, specs, recoveries: [], errors };
}
