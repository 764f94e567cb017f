/**
 * Each Lambda's environment, read once through a zod schema. A missing or malformed variable
 * fails the cold start with its name, instead of a confusing error minutes later.
 *
 * @example
 * const env = readEnv(DispatchEnvSchema); // throws ConfigError: "invalid environment: CLUSTER_ARN is not set"
 */
import * as z from '../schemas/zod';
import { ConfigError } from '../core/errors';
import { normalisePrefix } from '../aws/s3';
import { DEFAULT_SPEC_PREFIX, RUNS_PREFIX, STATE_PREFIX, STATUS_PREFIX } from '../schemas/bucket';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import { DEFAULT_MAX_TASK_SIZE } from '../core/task-size';

const required = z
  .string({ error: (iss) => (iss.input === undefined ? 'is not set' : 'must be a string') })
  .check(z.trim(), z.minLength(1, { error: 'is empty' }));

/** A folder prefix: no leading "/", exactly one trailing "/" (unless empty). */
const prefix = (fallback: string) =>
  z.pipe(
    z._default(z.string(), fallback),
    z.transform((p: string) => normalisePrefix(p.trim())),
  );

/** A comma-separated list; blanks are dropped. */
const csv = z.pipe(
  z._default(z.string(), ''),
  z.transform((s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
);

/** A positive whole number given as text, or `fallback` when unset. */
const wholeNumber = (fallback: number) =>
  z.pipe(
    z._default(z.string(), String(fallback)),
    z.pipe(
      z.transform((v: string) => Number(v.trim())),
      z.number({ error: 'must be a whole number' }).check(z.int({ error: 'must be a whole number' }), z.gte(1, { error: 'must be positive' })),
    ),
  );

const arn = (service: string) =>
  required.check(z.refine((v) => v.startsWith('arn:'), { error: `must be an ARN (arn:aws:${service}:...)` }));

/** What every Lambda of the stack reads. */
export const CommonEnvSchema = z.object({
  CONFIG_BUCKET: required,
  SPEC_PREFIX: prefix(DEFAULT_SPEC_PREFIX),
  STATUS_PREFIX: prefix(STATUS_PREFIX),
  STATE_PREFIX: prefix(STATE_PREFIX),
  RUNS_PREFIX: prefix(RUNS_PREFIX),
  SECRET_PREFIX: z._default(z.string(), DEFAULT_SECRET_PREFIX),
  POWERTOOLS_SERVICE_NAME: z._default(z.string().check(z.trim(), z.minLength(1)), 'stash'),
  POWERTOOLS_METRICS_NAMESPACE: z._default(z.string().check(z.trim(), z.minLength(1)), 'Stash'),
});
export type CommonEnv = z.infer<typeof CommonEnvSchema>;

/** The dispatch Lambda: where and how to launch tasks. */
export const DispatchEnvSchema = z.extend(CommonEnvSchema, {
  CLUSTER_ARN: arn('ecs'),
  /** The base revision of the runner's task definition. */
  TASK_DEFINITION_ARN: arn('ecs'),
  TASK_FAMILY: required,
  CONTAINER_NAME: z._default(z.string().check(z.trim(), z.minLength(1)), 'runner'),
  TASK_ROLE_ARN: arn('iam'),
  EXECUTION_ROLE_ARN: arn('iam'),
  RUNNER_LOG_GROUP: required,
  SUBNET_IDS: csv.check(z.refine((l) => l.length > 0, { error: 'is not set (comma-separated subnet ids)' })),
  SECURITY_GROUP_IDS: csv.check(z.refine((l) => l.length > 0, { error: 'is not set (comma-separated security group ids)' })),
  ASSIGN_PUBLIC_IP: z._default(z.enum(['ENABLED', 'DISABLED'], { error: 'must be ENABLED or DISABLED' }), 'DISABLED'),
  /** EFS file systems by role: sources are only ever mounted read-only. */
  EFS_SOURCES: csv,
  EFS_REPOSITORIES: csv,
  EFS_RESTORE_TARGETS: csv,
  /** The largest task a run may get (the RunTask grant allows no more). */
  MAX_TASK_CPU: wholeNumber(DEFAULT_MAX_TASK_SIZE.cpu),
  MAX_TASK_MEMORY_MIB: wholeNumber(DEFAULT_MAX_TASK_SIZE.memoryMiB),
  /** Where specs without AWS keys may keep S3 repositories: `bucket` or `bucket/prefix`, comma-separated. */
  S3_REPOSITORY_BUCKETS: csv,
});
export type DispatchEnv = z.infer<typeof DispatchEnvSchema>;

/** The record Lambda. */
export const RecordEnvSchema = z.extend(CommonEnvSchema, {
  CLUSTER_ARN: arn('ecs'),
  CONTAINER_NAME: z._default(z.string().check(z.trim(), z.minLength(1)), 'runner'),
});
export type RecordEnv = z.infer<typeof RecordEnvSchema>;

/** The validate Lambda: it warns of a spec at an AWS S3 endpoint outside the repository buckets. */
export const ValidateEnvSchema = z.extend(CommonEnvSchema, { S3_REPOSITORY_BUCKETS: csv });
export type ValidateEnv = z.infer<typeof ValidateEnvSchema>;

/**
 * Reads `env` through `schema`; throws ConfigError naming every missing or invalid variable.
 * Values are never echoed (an environment can hold what should not be logged).
 */
export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}
