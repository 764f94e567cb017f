/**
 * `status/<name>.json`: what Stash kept on its Repository object, plus the last error, the
 * run in progress and the last validation result. Written by the local engine and by the
 * record and validate Lambdas; read by `stash status`.
 */
import * as z from './zod';

/** How a run ended. `partial` is restic's exit 3 (some files unreadable): a failure. */
export const OUTCOMES = ['succeeded', 'failed', 'partial', 'config-error', 'interrupted'] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** The runner's process exit code for each outcome (the record Lambda maps them back). */
export const OUTCOME_EXIT_CODES: Record<Outcome, number> = {
  succeeded: 0,
  failed: 1,
  'config-error': 2,
  partial: 3,
  interrupted: 4,
};

/** What restic reported for one fileGroup's backup. */
export const FileGroupResultSchema = z.object({
  path: z.string(),
  snapshotId: z.string().optional(),
  filesNew: z.number().optional(),
  filesChanged: z.number().optional(),
  filesUnmodified: z.number().optional(),
  dirsNew: z.number().optional(),
  dataAdded: z.number().optional(),
  totalFilesProcessed: z.number().optional(),
  totalBytesProcessed: z.number().optional(),
  /** restic's own `total_duration`, seconds. */
  duration: z.number().optional(),
  /** Snapshots removed by `restic forget`, when a retention policy is set. */
  forgotten: z.number().optional(),
  outcome: OutcomeSchema,
  error: z.string().optional(),
});
export type FileGroupResult = z.infer<typeof FileGroupResultSchema>;

/** One run of one spec: what the runner returns and the record step stores. */
export const RunResultSchema = z.object({
  spec: z.string(),
  run: z.string(),
  /** The scheduled time this run is for (ISO 8601), absent for a run started by hand. */
  slot: z.string().optional(),
  kind: z.enum(['backup', 'check', 'restore']).default('backup'),
  outcome: OutcomeSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  fileGroups: z.array(FileGroupResultSchema).default([]),
  error: z.string().optional(),
});
export type RunResult = z.infer<typeof RunResultSchema>;

export const ValidationStatusSchema = z.object({
  valid: z.boolean(),
  source: z.string(),
  version: z.string().optional(),
  checkedAt: z.string(),
  errors: z.array(z.string()).default([]),
  warnings: z.array(z.string()).default([]),
});
export type ValidationStatus = z.infer<typeof ValidationStatusSchema>;

export const SpecStatusSchema = z.object({
  name: z.string(),
  firstBackupTime: z.string().optional(),
  lastBackupTime: z.string().optional(),
  lastSuccessfulBackupTime: z.string().optional(),
  /** Go duration string, as Stash printed it (`3.69s`). */
  lastBackupDuration: z.string().optional(),
  backupCount: z.number().int().nonnegative().default(0),
  lastError: z.string().optional(),
  lastOutcome: OutcomeSchema.optional(),
  lastRun: RunResultSchema.optional(),
  lastCheckTime: z.string().optional(),
  lastCheckOutcome: OutcomeSchema.optional(),
  /** The run in progress, if any. */
  running: z
    .object({
      run: z.string(),
      slot: z.string().optional(),
      startedAt: z.string(),
      pid: z.number().optional(),
      taskArn: z.string().optional(),
    })
    .optional(),
  /** The last slot skipped because a run was still in progress, or missed for its start window. */
  lastSkipped: z.object({ slot: z.string(), reason: z.string() }).optional(),
  validation: ValidationStatusSchema.optional(),
});
export type SpecStatus = z.infer<typeof SpecStatusSchema>;
