/**
 * One Fargate task: the environment carries references only (spec key and version, secret
 * ARN, run id), never a secret value; the task reads the spec and the secret itself, runs
 * the runner, logs JSON lines and exits with the outcome's code
 * ({@link OUTCOME_EXIT_CODES}: 0 succeeded, 1 failed, 2 configuration error, 3 partial,
 * 4 interrupted). The record Lambda turns that code into the spec's status.
 */
import { z } from 'zod';
import type { Secret } from '../schemas/secret';
import { OUTCOME_EXIT_CODES, type RunResult } from '../schemas/status';
import { ConfigError, errorMessage, formatProblem } from '../lambda/core/errors';
import type { SpecDocument } from '../lambda/core/ports';
import { parseSpecDocument } from '../lambda/core/spec';
import { restoreSpec, runBackup, runCheck, type RunLog } from './runner/run';

const csv = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []));

/** The task's environment: set by the task definition and the RunTask overrides. */
export const TaskEnvSchema = z.object({
  STASH_SPEC_NAME: z.string().min(1),
  STASH_SPEC_KEY: z.string().min(1),
  STASH_SPEC_VERSION: z.string().optional(),
  STASH_SECRET_ID: z.string().min(1),
  STASH_RUN_ID: z.string().min(1),
  STASH_SLOT: z.iso.datetime().optional(),
  STASH_RUN_KIND: z.enum(['backup', 'check', 'restore']).default('backup'),
  /** Run `restic check` after the backup (a check fell due in the same tick). */
  STASH_ALSO_CHECK: z.enum(['true', 'false']).default('false'),
  /** Restore: the folder (a mounted volume) to restore into, the snapshot, and optionally which fileGroup paths. */
  STASH_RESTORE_TARGET: z.string().optional(),
  STASH_RESTORE_SNAPSHOT: z.string().default('latest'),
  STASH_RESTORE_PATHS: csv,
});
export type TaskEnv = z.infer<typeof TaskEnvSchema>;

/** Reads the task's environment once; the error names every missing or malformed variable. */
export function readTaskEnv(env: NodeJS.ProcessEnv): TaskEnv {
  const parsed = TaskEnvSchema.safeParse(env, { reportInput: true });
  if (!parsed.success) {
    const what = (i: z.core.$ZodIssue) => `${i.path.join('.')}: ${i.input === undefined ? 'missing' : i.message}`;
    throw new ConfigError(`invalid task environment: ${parsed.error.issues.map(what).join('; ')}`);
  }
  return parsed.data;
}

/** Where the task's inputs come from: S3 and Secrets Manager on AWS, anything in tests. */
export interface TaskInputs {
  /** The spec document at the version the dispatcher planned with. */
  specDocument(env: TaskEnv): Promise<SpecDocument>;
  /** The backend's secret, or undefined when it does not exist. */
  secret(env: TaskEnv): Promise<Secret | undefined>;
}

/** Runs the task described by `env`; returns the process exit code. Never throws. */
export async function runTask(env: TaskEnv, inputs: TaskInputs, log: RunLog, signal?: AbortSignal): Promise<number> {
  const base = { spec: env.STASH_SPEC_NAME, run: env.STASH_RUN_ID };
  let doc: SpecDocument;
  let secret: Secret | undefined;
  try {
    doc = await inputs.specDocument(env);
    secret = await inputs.secret(env);
  } catch (err) {
    log.error('failed to read the spec or its secret', { ...base, outcome: 'config-error', error: errorMessage(err) });
    return OUTCOME_EXIT_CODES['config-error'];
  }
  const loaded = parseSpecDocument(doc);
  const found = loaded.specs.find((s) => s.spec.metadata.name === env.STASH_SPEC_NAME);
  if (!found) {
    const problems = loaded.problems.map(formatProblem);
    log.error('the spec is not valid at this version', {
      ...base,
      outcome: 'config-error',
      error: problems.length ? problems.join('; ') : `${doc.source} holds no spec named ${env.STASH_SPEC_NAME}`,
    });
    return OUTCOME_EXIT_CODES['config-error'];
  }
  const ctx = {
    spec: found.spec,
    secret,
    mode: { kind: 'aws' } as const,
    run: env.STASH_RUN_ID,
    slot: env.STASH_SLOT ? new Date(env.STASH_SLOT) : undefined,
    log,
    signal,
  };
  if (env.STASH_RUN_KIND === 'restore') {
    if (!env.STASH_RESTORE_TARGET) {
      log.error('restore needs STASH_RESTORE_TARGET', { ...base, outcome: 'config-error' });
      return OUTCOME_EXIT_CODES['config-error'];
    }
    const wanted = env.STASH_RESTORE_PATHS;
    const spec = wanted.length
      ? { ...found.spec, spec: { ...found.spec.spec, fileGroups: found.spec.spec.fileGroups.filter((g) => wanted.includes(g.path)) } }
      : found.spec;
    if (!spec.spec.fileGroups.length) {
      log.error('none of the requested paths is a fileGroup of the spec', { ...base, outcome: 'config-error', paths: wanted });
      return OUTCOME_EXIT_CODES['config-error'];
    }
    try {
      const restored = await restoreSpec({ ...ctx, spec, targetDir: env.STASH_RESTORE_TARGET, snapshot: env.STASH_RESTORE_SNAPSHOT });
      log.info('run finished', { ...base, kind: 'restore', outcome: 'succeeded', restored });
      return OUTCOME_EXIT_CODES.succeeded;
    } catch (err) {
      const outcome = signal?.aborted ? 'interrupted' : 'failed';
      log.error('run finished', { ...base, kind: 'restore', outcome, error: errorMessage(err) });
      return OUTCOME_EXIT_CODES[outcome];
    }
  }
  let result: RunResult;
  if (env.STASH_RUN_KIND === 'check') {
    result = await runCheck({ ...ctx, readDataSubset: found.spec.spec.check?.readDataSubset });
  } else {
    result = await runBackup(ctx);
    if (env.STASH_ALSO_CHECK === 'true' && !signal?.aborted) {
      const check = await runCheck({ ...ctx, run: `${ctx.run}-check`, readDataSubset: found.spec.spec.check?.readDataSubset });
      if (check.outcome !== 'succeeded' && result.outcome === 'succeeded') return OUTCOME_EXIT_CODES.failed;
    }
  }
  return OUTCOME_EXIT_CODES[result.outcome];
}
