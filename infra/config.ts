/**
 * The stack's settings: what a user may choose with `cdk deploy -c key=value` (or in
 * `cdk.json`'s `context`, or as stack props), their defaults, and their validation. A wrong
 * value fails synthesis with the key and the reason, before any resource is created:
 *
 * ```
 * Invalid Stash settings:
 *   subnetIds: "subnet-1" is not a subnet id (subnet-0123abcd...)
 *   tickMinutes: must be a whole number of minutes from 1 to 60
 * ```
 */
import type { IConstruct } from 'constructs';
import * as z from '../schemas/zod';
import { ConfigError } from '../core/errors';
import { isTickMinutes, TICK_MINUTES_RULE } from '../core/limits';
import { DEFAULT_MAX_TASK_SIZE, describeSizes, FARGATE_SIZES, fargateMemories } from '../core/task-size';
import { isEfsId } from '../schemas/restic';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import { isMetricsNamespace, METRICS_NAMESPACE_RULE } from './metrics';
import { isSecretPrefix, SECRET_PREFIX_RULE } from './secrets';

import { RUNS_PREFIX, STATE_PREFIX, STATUS_PREFIX } from '../schemas/bucket';
import { formatS3RepositoryLocation, parseS3RepositoryLocation, type S3RepositoryLocation } from '../schemas/secret';

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** How tasks reach AWS APIs and backends when the stack creates its own VPC. */
export const EGRESS_MODES = ['endpoints', 'nat', 'public'] as const;
export type EgressMode = (typeof EGRESS_MODES)[number];

/**
 * A new VPC's default: public subnets, a public IP only while a task runs, no inbound rule.
 * It costs nothing while nothing runs and reaches every backend; `endpoints` and `nat` are
 * for private subnets, at $7 to $33 a month before the first backup.
 */
export const DEFAULT_EGRESS: EgressMode = 'public';

/** The network the runner tasks use. */
export type NetworkSettings =
  | {
      /** Use a VPC and subnets that already exist (where the EFS file systems are). */
      readonly kind: 'existing';
      readonly vpcId: string;
      readonly subnetIds: readonly string[];
      /** Extra security groups for the tasks, besides the one the stack creates. */
      readonly securityGroupIds: readonly string[];
      /** Whether tasks get a public IP (only for public subnets without a NAT gateway). */
      readonly assignPublicIp: boolean;
    }
  | {
      /** Create a small VPC. */
      readonly kind: 'new';
      readonly egress: EgressMode;
      readonly maxAzs: number;
    };

/** Settings after validation, with every default filled in. */
export interface StashSettings {
  /** Secrets Manager name prefix; tasks and Lambdas may read only secrets under it. */
  readonly secretPrefix: string;
  /** Key prefix of the `Restic` specs in the config bucket. */
  readonly specPrefix: string;
  /** Minutes between two dispatcher ticks. */
  readonly tickMinutes: number;
  /** Where alarm notifications go, if anywhere besides the SNS topic. */
  readonly alarmEmail?: string;
  /** Retention of every log group the stack creates, days. */
  readonly logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** Days an overwritten or deleted spec version is kept (a queued task may still load it). */
  readonly noncurrentVersionDays: number;
  readonly network: NetworkSettings;
  /** EFS file systems that specs may back up (mounted read-only, and no ClientWrite in IAM); never also a repository or restore target. */
  readonly efsSources: readonly string[];
  /** EFS file systems that may hold `local` backend repositories (read-write). */
  readonly efsRepositories: readonly string[];
  /** EFS file systems a `Recovery` may restore into (read-write). */
  readonly efsRestoreTargets: readonly string[];
  /** CloudWatch namespace of the EMF metrics. */
  readonly metricsNamespace: string;
  /** Runner task CPU units. */
  readonly taskCpu: number;
  /** Runner task memory, MiB. */
  readonly taskMemoryMiB: number;
  /** The largest CPU a spec's `resources` may ask for: RunTask is allowed up to it, no further. */
  readonly maxTaskCpu: number;
  /** The largest memory (MiB) a spec's `resources` may ask for. */
  readonly maxTaskMemoryMiB: number;
  /**
   * IAM principals (role or user ARNs) that may write and delete under the spec prefix; the
   * bucket policy refuses everyone else. Empty: the spec prefix is left to your IAM policies.
   */
  readonly specWriters: readonly string[];
  /**
   * S3 buckets (`bucket`, or `bucket/prefix` for part of one) that specs may use as restic
   * repositories with the task role's credentials (a secret without keys): the task role may
   * list, read, write and delete there, nothing more. A new VPC's S3 endpoint also reaches them.
   */
  readonly s3RepositoryBuckets: readonly S3RepositoryLocation[];
  /** Whether the ECS cluster has Container Insights (metrics billed while tasks run). */
  readonly containerInsights: boolean;
  /** Whether the stack creates its CloudWatch dashboard ($3 a month beyond an account's first three). */
  readonly dashboard: boolean;
  /** Whether the alarm topic is encrypted with a KMS key of its own ($1 a month). */
  readonly alarmTopicKey: boolean;
  /** Whether the stack applies the file-system policy that makes IAM decide to each EFS file system it names. */
  readonly efsFileSystemPolicies: boolean;
}

/**
 * Settings as a user gives them: every value optional; strings (as `-c key=value` passes
 * them), or numbers, booleans and arrays (as `cdk.json` or code may).
 */
export interface StashSettingsInput {
  /** @default DEFAULT_SECRET_PREFIX ('stash/') */
  readonly secretPrefix?: unknown;
  /** @default 'specs/' */
  readonly specPrefix?: unknown;
  /** @default 1 */
  readonly tickMinutes?: unknown;
  /** @default - no e-mail subscription */
  readonly alarmEmail?: unknown;
  /** @default 90 */
  readonly logRetentionDays?: unknown;
  /** @default 30 */
  readonly noncurrentVersionDays?: unknown;
  /** @default - a new VPC */
  readonly vpcId?: unknown;
  /** Comma-separated or an array; required with vpcId. @default - none */
  readonly subnetIds?: unknown;
  /** Comma-separated or an array; only with vpcId. @default - none */
  readonly securityGroupIds?: unknown;
  /** Only with vpcId. @default false */
  readonly assignPublicIp?: unknown;
  /** Only without vpcId. @default 'public' */
  readonly egress?: unknown;
  /** Only without vpcId. @default 1 */
  readonly maxAzs?: unknown;
  /** Comma-separated or an array of `fs-...` ids. @default - none */
  readonly efsSources?: unknown;
  /** Comma-separated or an array of `fs-...` ids. @default - none */
  readonly efsRepositories?: unknown;
  /** Comma-separated or an array of `fs-...` ids. @default - none */
  readonly efsRestoreTargets?: unknown;
  /** @default 'Stash' */
  readonly metricsNamespace?: unknown;
  /** @default 1024 */
  readonly taskCpu?: unknown;
  /** @default 2048 */
  readonly taskMemoryMiB?: unknown;
  /** @default 4096 (4 vCPU), or taskCpu if larger */
  readonly maxTaskCpu?: unknown;
  /** @default 16384, or taskMemoryMiB if larger */
  readonly maxTaskMemoryMiB?: unknown;
  /** Comma-separated or an array of IAM role or user ARNs. @default - none: the spec prefix is left to IAM policies */
  readonly specWriters?: unknown;
  /** Comma-separated or an array of `bucket` or `bucket/prefix`. @default - none: every S3 repository's secret holds keys */
  readonly s3RepositoryBuckets?: unknown;
  /** @default false */
  readonly containerInsights?: unknown;
  /** @default false */
  readonly dashboard?: unknown;
  /** @default false */
  readonly alarmTopicKey?: unknown;
  /** `true` to let the stack replace each named EFS file system's policy with one that makes IAM decide. @default false */
  readonly efsFileSystemPolicies?: unknown;
}

/** Every key {@link readStashSettings} reads from the CDK context. */
export const SETTING_KEYS = [
  'secretPrefix',
  'specPrefix',
  'tickMinutes',
  'alarmEmail',
  'logRetentionDays',
  'noncurrentVersionDays',
  'vpcId',
  'subnetIds',
  'securityGroupIds',
  'assignPublicIp',
  'egress',
  'maxAzs',
  'efsSources',
  'efsRepositories',
  'efsRestoreTargets',
  'metricsNamespace',
  'taskCpu',
  'taskMemoryMiB',
  'maxTaskCpu',
  'maxTaskMemoryMiB',
  'specWriters',
  's3RepositoryBuckets',
  'efsFileSystemPolicies',
  'containerInsights',
  'dashboard',
  'alarmTopicKey',
] as const satisfies readonly (keyof StashSettingsInput)[];

/** Settings that cannot be used; the message names every wrong key and why. */
export class StashSettingsError extends ConfigError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid Stash settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

// ---- parsing ------------------------------------------------------------------------------

/** `undefined`, `null` and `''` all mean "not set" (an empty `-c key=` is a common slip). */
const unset = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : v);

/** `schema` after `fn` has turned what the user wrote into what `schema` checks. */
const preprocess = <T extends z.ZodType>(fn: (value: unknown) => unknown, schema: T) => z.pipe(z.transform(fn), schema);

/** A list given as `a,b` (context) or `['a', 'b']` (cdk.json, props). */
const list = <T>(item: z.ZodType<T>) =>
  preprocess(
    (v) =>
      unset(v) ? [] : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v,
    z.array(item, { error: 'must be a comma-separated list' }),
  );

/** `'5'` as 5 (as `-c` passes numbers); anything else as it is, for the schema to judge. */
const numeric = (v: unknown) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v);

/** A whole number given as `5` or `'5'`. */
const whole = (message: string, min: number, max: number) =>
  preprocess(
    numeric,
    z.number({ error: message }).check(z.int({ error: message }), z.gte(min, { error: message }), z.lte(max, { error: message })),
  );

const quoted = (v: unknown) => JSON.stringify(v);

/** An e-mail address for the alarm topic's subscription. */
export const EmailSchema = z.email({ error: (iss) => `${quoted(iss.input)} is not an e-mail address` });

const fsId = z.string().check(
  z.refine(isEfsId, {
    error: (iss) => `${quoted(iss.input)} is not an EFS file system id (fs-0123abcd...)`,
  }),
);
const subnetId = z.string().check(
  z.refine((s) => /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(s), {
    error: (iss) => `${quoted(iss.input)} is not a subnet id (subnet-0123abcd...)`,
  }),
);
/** A principal a bucket policy can name: an IAM role or user of an account (a path is allowed). */
const principalArn = z.string().check(
  z.refine((s) => /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/.test(s), {
    error: (iss) => `${quoted(iss.input)} is not an IAM role or user ARN (arn:aws:iam::123456789012:role/name)`,
  }),
);
/** `bucket` or `bucket/prefix`: an S3 bucket name, and a key prefix of folder names (parsed settings parse again to themselves). */
const repositoryLocation = preprocess(
  (v) => (typeof v === 'object' && v !== null && 'bucket' in v ? formatS3RepositoryLocation(v as S3RepositoryLocation) : v),
  z.pipe(
  z.string().check(
    z.refine((s) => parseS3RepositoryLocation(s) !== undefined, {
      error: (iss) => `${quoted(iss.input)} is not an S3 bucket name, or a bucket/prefix such as my-backups/stash`,
    }),
  ),
  z.transform((s: string) => parseS3RepositoryLocation(s)!),
  ),
);
const securityGroupId = z.string().check(
  z.refine((s) => /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(s), {
    error: (iss) => `${quoted(iss.input)} is not a security group id (sg-0123abcd...)`,
  }),
);

/**
 * A key prefix in the config bucket: ends with `/`, and is neither inside nor around
 * `status/` or `state/` (a status write under the spec prefix would trigger validation of
 * itself, and the dispatcher would read its own watermark as a spec).
 */
const specPrefix = z.pipe(z.string(), z.transform((s: string) => s.trim())).check(
  z.superRefine((s, ctx) => {
    if (!/^([A-Za-z0-9!_.*'()-]+\/)+$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `${quoted(s)} must be a key prefix such as "specs/": folder names ending with "/"` });
      return;
    }
    for (const fixed of [STATUS_PREFIX, STATE_PREFIX, RUNS_PREFIX]) {
      if (s.startsWith(fixed) || fixed.startsWith(s)) {
        ctx.addIssue({ code: 'custom', message: `${quoted(s)} overlaps "${fixed}", which the stack uses for its own objects` });
      }
    }
  }),
);

/** A Secrets Manager name prefix (see {@link SECRET_PREFIX_RULE}). */
const secretPrefix = z.pipe(z.string(), z.transform((s: string) => s.trim())).check(
  z.refine(isSecretPrefix, { error: (iss) => `${quoted(iss.input)} must be ${SECRET_PREFIX_RULE}` }),
);

/** The largest task a spec's `resources` may ask for unless the settings say otherwise: 4 vCPU, 16 GiB. */

/** `true`/`false` as `-c` gives them (or yes/no, enabled/disabled), or a boolean. */
const flag = preprocess(
  (v) => {
    const s = String(v).trim().toLowerCase();
    return ['true', 'enabled', 'yes'].includes(s) ? true : ['false', 'disabled', 'no'].includes(s) ? false : v;
  },
  z.boolean({ error: (iss) => `${quoted(iss.input)} must be true or false` }),
);

/** The most memory any Fargate task has, MiB. */
const LARGEST_MEMORY = Math.max(...FARGATE_SIZES.flatMap(([, memories]) => memories));

const RawSchema = z.object({
  secretPrefix: preprocess((v) => (unset(v) ? DEFAULT_SECRET_PREFIX : v), secretPrefix),
  specPrefix: preprocess((v) => (unset(v) ? 'specs/' : v), specPrefix),
  tickMinutes: preprocess(
    (v) => (unset(v) ? 1 : numeric(v)),
    z.number({ error: `must be ${TICK_MINUTES_RULE}` }).check(z.refine(isTickMinutes, { error: `must be ${TICK_MINUTES_RULE}` })),
  ),
  alarmEmail: preprocess((v) => (unset(v) ? undefined : text(v)), z.optional(EmailSchema)),
  logRetentionDays: preprocess(
    (v) => (unset(v) ? 90 : numeric(v)),
    z.number().check(
      z.refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
        error: (iss) => `${quoted(iss.input)} is not a retention CloudWatch Logs accepts; use one of ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    ),
  ),
  noncurrentVersionDays: preprocess(
    (v) => (unset(v) ? 30 : v),
    whole('must be a whole number of days from 1 to 3650 (a queued task may still load the version it was started for)', 1, 3650),
  ),
  vpcId: preprocess(
    (v) => (unset(v) ? undefined : text(v)),
    z.optional(
      z.string().check(z.refine((s) => /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(s), { error: (iss) => `${quoted(iss.input)} is not a VPC id (vpc-0123abcd...)` })),
    ),
  ),
  subnetIds: list(subnetId),
  securityGroupIds: list(securityGroupId),
  assignPublicIp: preprocess((v) => (unset(v) ? undefined : v), z.optional(flag)),
  egress: preprocess(
    (v) => (unset(v) ? undefined : text(v)),
    z.optional(z.enum(EGRESS_MODES, { error: (iss) => `${quoted(iss.input)} must be one of ${EGRESS_MODES.join(', ')}` })),
  ),
  maxAzs: preprocess((v) => (unset(v) ? undefined : v), z.optional(whole('must be a whole number of availability zones from 1 to 3', 1, 3))),
  efsSources: list(fsId),
  efsRepositories: list(fsId),
  efsRestoreTargets: list(fsId),
  metricsNamespace: preprocess(
    (v) => (unset(v) ? 'Stash' : text(v)),
    z.string().check(z.refine(isMetricsNamespace, { error: (iss) => `${quoted(iss.input)} must be ${METRICS_NAMESPACE_RULE}` })),
  ),
  taskCpu: preprocess(
    (v) => (unset(v) ? 1024 : numeric(v)),
    z.number().check(
      z.refine((n) => fargateMemories(n).length > 0, {
        error: (iss) => `${quoted(iss.input)} is not a Fargate CPU size; use one of ${FARGATE_SIZES.map(([cpu]) => cpu).join(', ')}`,
      }),
    ),
  ),
  taskMemoryMiB: preprocess(
    (v) => (unset(v) ? undefined : numeric(v)),
    z.optional(z.number({ error: 'must be a number of MiB' }).check(z.int({ error: 'must be a whole number of MiB' }))),
  ),
  maxTaskCpu: preprocess(
    (v) => (unset(v) ? undefined : numeric(v)),
    z.optional(z.number().check(
      z.refine((n) => fargateMemories(n).length > 0, {
        error: (iss) => `${quoted(iss.input)} is not a Fargate CPU size; use one of ${FARGATE_SIZES.map(([cpu]) => cpu).join(', ')}`,
      }),
    )),
  ),
  maxTaskMemoryMiB: preprocess((v) => (unset(v) ? undefined : v), z.optional(whole(`must be a whole number of MiB from 512 to ${LARGEST_MEMORY}`, 512, LARGEST_MEMORY))),
  specWriters: list(principalArn),
  s3RepositoryBuckets: list(repositoryLocation),
  efsFileSystemPolicies: preprocess((v) => (unset(v) ? false : v), flag),
  containerInsights: preprocess((v) => (unset(v) ? false : v), flag),
  dashboard: preprocess((v) => (unset(v) ? false : v), flag),
  alarmTopicKey: preprocess((v) => (unset(v) ? false : v), flag),
});


/** The locations, each once (`b` and `b/p` both stay: the first covers the second). */
function uniqueLocations(locations: readonly S3RepositoryLocation[]): S3RepositoryLocation[] {
  const seen = new Map<string, S3RepositoryLocation>();
  for (const l of locations) seen.set(`${l.bucket}/${l.prefix}`, l);
  return [...seen.values()];
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/**
 * Validates settings and fills in defaults.
 *
 * @throws StashSettingsError naming every wrong key and why.
 * @example
 * parseStashSettings({ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234,subnet-0def5678' });
 */
export function parseStashSettings(input: StashSettingsInput = {}): StashSettings {
  const parsed = RawSchema.safeParse(input);
  if (!parsed.success) {
    throw new StashSettingsError(parsed.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`));
  }
  const raw = parsed.data;
  const problems: string[] = [];

  let network: NetworkSettings;
  if (raw.vpcId !== undefined) {
    if (raw.subnetIds.length === 0) problems.push('subnetIds: required with vpcId: the subnets of that VPC where tasks run');
    if (raw.egress !== undefined) problems.push('egress: applies to a new VPC only; with vpcId the routes of your subnets decide');
    if (raw.maxAzs !== undefined) problems.push('maxAzs: applies to a new VPC only; with vpcId, subnetIds decide');
    network = {
      kind: 'existing',
      vpcId: raw.vpcId,
      subnetIds: raw.subnetIds,
      securityGroupIds: raw.securityGroupIds,
      assignPublicIp: raw.assignPublicIp ?? false,
    };
  } else {
    if (raw.subnetIds.length > 0) problems.push('subnetIds: given without vpcId; give the VPC the subnets belong to');
    if (raw.securityGroupIds.length > 0) problems.push('securityGroupIds: given without vpcId; they apply to an existing VPC only');
    if (raw.assignPublicIp !== undefined) {
      problems.push('assignPublicIp: applies to an existing VPC only; for a new VPC use egress=public');
    }
    network = { kind: 'new', egress: raw.egress ?? DEFAULT_EGRESS, maxAzs: raw.maxAzs ?? 1 };
  }

  const memories = fargateMemories(raw.taskCpu);
  const taskMemoryMiB = raw.taskMemoryMiB ?? memories[0];
  if (!memories.includes(taskMemoryMiB)) {
    problems.push(`taskMemoryMiB: ${taskMemoryMiB} does not fit taskCpu ${raw.taskCpu}; Fargate accepts ${describeSizes(memories)}`);
  }

  // Unless given, the largest size is 4 vCPU and 16 GiB, or the base size where that is larger.
  const maxTaskCpu = raw.maxTaskCpu ?? Math.max(DEFAULT_MAX_TASK_SIZE.cpu, raw.taskCpu);
  const maxTaskMemoryMiB = raw.maxTaskMemoryMiB ?? Math.max(DEFAULT_MAX_TASK_SIZE.memoryMiB, taskMemoryMiB ?? 0);
  if (maxTaskCpu < raw.taskCpu) problems.push(`maxTaskCpu: ${maxTaskCpu} is below taskCpu ${raw.taskCpu}, the size every run starts from`);
  if (taskMemoryMiB !== undefined && maxTaskMemoryMiB < taskMemoryMiB) {
    problems.push(`maxTaskMemoryMiB: ${maxTaskMemoryMiB} is below taskMemoryMiB ${taskMemoryMiB}, the size every run starts from`);
  }
  const efsSources = [...new Set(raw.efsSources)];
  for (const fs of efsSources) {
    for (const [key, list] of [['efsRepositories', raw.efsRepositories], ['efsRestoreTargets', raw.efsRestoreTargets]] as const) {
      if (list.includes(fs)) {
        problems.push(`${key}: ${fs} is also in efsSources; a source is never mounted writable, so it cannot be a repository or a restore target (see docs/deploy.md, "Restoring into a source")`);
      }
    }
  }

  if (problems.length > 0) throw new StashSettingsError(problems);
  return {
    secretPrefix: raw.secretPrefix,
    specPrefix: raw.specPrefix,
    tickMinutes: raw.tickMinutes,
    alarmEmail: raw.alarmEmail,
    logRetentionDays: raw.logRetentionDays as StashSettings['logRetentionDays'],
    noncurrentVersionDays: raw.noncurrentVersionDays,
    network,
    efsSources,
    efsRepositories: [...new Set(raw.efsRepositories)],
    efsRestoreTargets: [...new Set(raw.efsRestoreTargets)],
    metricsNamespace: raw.metricsNamespace,
    taskCpu: raw.taskCpu,
    taskMemoryMiB,
    maxTaskCpu,
    maxTaskMemoryMiB,
    specWriters: [...new Set(raw.specWriters)],
    s3RepositoryBuckets: uniqueLocations(raw.s3RepositoryBuckets),
    efsFileSystemPolicies: raw.efsFileSystemPolicies,
    containerInsights: raw.containerInsights,
    dashboard: raw.dashboard,
    alarmTopicKey: raw.alarmTopicKey,
  };
}

/** The settings given as CDK context (`-c key=value`, `cdk.json`), unvalidated. */
export function readStashSettings(scope: IConstruct): StashSettingsInput {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, scope.node.tryGetContext(k)]));
}
