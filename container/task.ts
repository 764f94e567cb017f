/**
 * One Fargate task: the environment carries references only (spec key and version, secret
 * ARN, run id), never a secret value; the task reads the spec and the secret itself, runs
 * the runner, logs JSON lines and exits with the outcome's code
 * ({@link OUTCOME_EXIT_CODES}: 0 succeeded, 1 failed, 2 configuration error, 3 partial,
 * 4 interrupted). The record Lambda turns that code into the spec's status.
 */
import type * as z from '../schemas/zod';
import { TaskEnvSchema, type TaskEnv } from '../schemas/task-env';
import type { Secret } from '../schemas/secret';
import { OUTCOME_EXIT_CODES, type Outcome, type RunResult } from '../schemas/status';
import { ConfigError, errorMessage, formatProblem } from '../core/errors';
import { runTimeoutMs } from '../core/limits';
import type { SpecDocument } from '../core/ports';
import { parseSpecDocument } from '../core/spec';
import { recoverySnapshot, type Recovery } from '../schemas/recovery';
import { loadRecoveries } from '../core/recovery';
import { restoreSpec } from '../runner/restore';
import { runBackupThenCheck, runCheck, type RunContext, type RunLog } from '../runner/run';

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
  /** The Recovery document (its key: {@link TaskEnv.recoveryKey}) of a restore run. */
  recoveryDocument(env: TaskEnv): Promise<SpecDocument>;
}

/**
 * Runs the task described by `env`; returns the process exit code: the outcome of the run
 * the task was launched for (a backup's, even when the check that rode along with it
 * failed). Never throws. `onResult` receives every result, the backup's and its check's
 * (for metrics and the run records the record function reads).
 */
export async function runTask(env: TaskEnv, inputs: TaskInputs, log: RunLog, signal?: AbortSignal, onResult?: (result: RunResult) => void | Promise<void>): Promise<number> {
  const base = { spec: env.spec, run: env.run };
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
  const found = loaded.specs.find((s) => s.spec.metadata.name === env.spec);
  if (!found) {
    const problems = loaded.problems.map(formatProblem);
    log.error('the spec is not valid at this version', {
      ...base,
      outcome: 'config-error',
      error: problems.length ? problems.join('; ') : `${doc.source} holds no spec named ${env.spec}`,
    });
    return OUTCOME_EXIT_CODES['config-error'];
  }
  const ctx = {
    spec: found.spec,
    secret,
    mode: { kind: 'aws' } as const,
    run: env.run,
    slot: env.slot ? new Date(env.slot) : undefined,
    log,
    signal,
    // The dispatcher says whether anything backed up to the repository before (it has every status).
    mayInitialise: env.mayInitialise === true,
  };
  if (env.kind === 'restore') return restoreTask(env, inputs, { ...ctx, spec: found.spec }, signal);
  const readDataSubset = env.readDataSubset ?? found.spec.spec.check?.readDataSubset;
  if (env.kind === 'check') {
    const check = await runCheck({ ...ctx, readDataSubset });
    await onResult?.(check);
    return OUTCOME_EXIT_CODES[check.outcome];
  }
  const { backup, check } = await runBackupThenCheck(ctx, env.alsoCheck ? { readDataSubset } : undefined);
  await onResult?.(backup);
  if (check) await onResult?.(check);
  return OUTCOME_EXIT_CODES[backup.outcome];
}

/** Restores what a Recovery asks for (snapshot, paths) under {@link TaskEnv.restoreRoot}. */
async function restoreTask(env: TaskEnv, inputs: TaskInputs, ctx: RunContext, signal?: AbortSignal): Promise<number> {
  const { log } = ctx;
  const base = { spec: env.spec, run: env.run, recovery: env.recoveryName };
  const fail = (outcome: Outcome, error: string) => {
    log.error('run finished', { ...base, kind: 'restore', outcome, error });
    return OUTCOME_EXIT_CODES[outcome];
  };
  if (!env.recoveryKey) return fail('config-error', 'a restore needs the key of its Recovery document');
  let recovery: Recovery;
  try {
    const doc = await inputs.recoveryDocument(env);
    const loaded = loadRecoveries([doc]);
    if (loaded.problems.length) return fail('config-error', loaded.problems.map(formatProblem).join('; '));
    if (!loaded.recoveries.length) return fail('config-error', `${doc.source} holds no Recovery`);
    recovery = loaded.recoveries[0].recovery;
  } catch (err) {
    return fail('config-error', `failed to read the Recovery ${env.recoveryKey}: ${errorMessage(err)}`);
  }
  const wanted = recovery.spec.paths ?? [];
  const groups = wanted.length ? ctx.spec.spec.fileGroups.filter((g) => wanted.includes(g.path)) : ctx.spec.spec.fileGroups;
  const unknown = wanted.filter((p) => !ctx.spec.spec.fileGroups.some((g) => g.path === p));
  if (unknown.length) return fail('config-error', `spec.paths: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not fileGroups' : 'is not a fileGroup'} of ${env.spec}`);
  const spec = { ...ctx.spec, spec: { ...ctx.spec.spec, fileGroups: groups } };
  const startedAt = Date.now();
  // A restore is bounded by the spec's timeout too: a hung restic must not hold its task.
  const limit = AbortSignal.timeout(runTimeoutMs(ctx.spec));
  try {
    const restored = await restoreSpec({ ...ctx, spec, targetDir: env.restoreRoot, snapshot: recoverySnapshot(recovery), signal: signal ? AbortSignal.any([signal, limit]) : limit });
    log.info('run finished', { ...base, kind: 'restore', outcome: 'succeeded', durationMs: Date.now() - startedAt, restored });
    return OUTCOME_EXIT_CODES.succeeded;
  } catch (err) {
    if (signal?.aborted) return fail('interrupted', errorMessage(err));
    return fail(limit.aborted ? 'timed-out' : 'failed', errorMessage(err));
  }
}
