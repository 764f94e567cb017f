/**
 * `status/<name>.json`: what Stash kept on its Repository object, plus the last error, the
 * run in progress and the last validation result. Written by the local engine and by the
 * record and validate Lambdas; read by `stash status`.
 */
import * as z from './zod';

/**
 * How a run ended. `partial` is restic's exit 3 (some files unreadable): a failure.
 * `timed-out`: stopped at the spec's `timeout`.
 */
export const OUTCOMES = ['succeeded', 'failed', 'partial', 'config-error', 'interrupted', 'timed-out'] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** The runner's process exit code for each outcome (the record Lambda maps them back). */
export const OUTCOME_EXIT_CODES: Record<Outcome, number> = {
  succeeded: 0,
  failed: 1,
  'config-error': 2,
  partial: 3,
  interrupted: 4,
  'timed-out': 5,
};

/** The kinds of run a task performs. */
export const RunKindSchema = z.enum(['backup', 'check', 'restore']);
export type RunKind = z.infer<typeof RunKindSchema>;

/** What restic reported for one fileGroup's backup. */
export const FileGroupResultSchema = z.object({
  path: z.string(),
  snapshotId: z.optional(z.string()),
  filesNew: z.optional(z.number()),
  filesChanged: z.optional(z.number()),
  filesUnmodified: z.optional(z.number()),
  dirsNew: z.optional(z.number()),
  dataAdded: z.optional(z.number()),
  totalFilesProcessed: z.optional(z.number()),
  totalBytesProcessed: z.optional(z.number()),
  /** restic's own `total_duration`, seconds. */
  duration: z.optional(z.number()),
  /** What the new data took in the repository, compressed (restic 0.17+'s `data_added_packed`). */
  dataAddedPacked: z.optional(z.number()),
  /** Snapshots removed by `restic forget`, when a retention policy is set. */
  forgotten: z.optional(z.number()),
  /** Snapshots a retention policy with `dryRun` would have removed (none were). */
  wouldForget: z.optional(z.number()),
  /** The fileGroup's snapshots in the repository after the run, as `restic forget` listed them (only when a retention policy is set). */
  snapshots: z.optional(z.number()),
  outcome: OutcomeSchema,
  error: z.optional(z.string()),
});
export type FileGroupResult = z.infer<typeof FileGroupResultSchema>;

/** One run of one spec: what the runner returns and the record step stores. */
export const RunResultSchema = z.object({
  spec: z.string(),
  run: z.string(),
  /** The scheduled time this run is for (ISO 8601), absent for a run started by hand. */
  slot: z.optional(z.string()),
  kind: z._default(RunKindSchema, 'backup'),
  outcome: OutcomeSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  fileGroups: z._default(z.array(FileGroupResultSchema), []),
  error: z.optional(z.string()),
});
export type RunResult = z.infer<typeof RunResultSchema>;

export const ValidationStatusSchema = z.object({
  valid: z.boolean(),
  source: z.string(),
  version: z.optional(z.string()),
  checkedAt: z.string(),
  errors: z._default(z.array(z.string()), []),
  warnings: z._default(z.array(z.string()), []),
});
export type ValidationStatus = z.infer<typeof ValidationStatusSchema>;

export const SpecStatusSchema = z.object({
  name: z.string(),
  firstBackupTime: z.optional(z.string()),
  lastBackupTime: z.optional(z.string()),
  lastSuccessfulBackupTime: z.optional(z.string()),
  /** Go duration string, as Stash printed it (`3.69s`). */
  lastBackupDuration: z.optional(z.string()),
  backupCount: z._default(z.number().check(z.int(), z.nonnegative()), 0),
  lastError: z.optional(z.string()),
  lastOutcome: z.optional(OutcomeSchema),
  lastRun: z.optional(RunResultSchema),
  lastCheckTime: z.optional(z.string()),
  lastCheckOutcome: z.optional(OutcomeSchema),
  /** The run in progress, if any. */
  running: z.optional(
    z.object({
      run: z.string(),
      slot: z.optional(z.string()),
      startedAt: z.string(),
      pid: z.optional(z.number()),
      taskArn: z.optional(z.string()),
    }),
  ),
  /** The last slot skipped because a run was still in progress, or missed for its start window. */
  lastSkipped: z.optional(z.object({ slot: z.string(), reason: z.string() })),
  validation: z.optional(ValidationStatusSchema),
});
export type SpecStatus = z.infer<typeof SpecStatusSchema>;
