/**
 * The composition root: SDK clients built once per cold start (or passed in by tests and
 * the CLI), the adapters on them, Powertools Logger and Metrics. Handlers stay thin.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DispatchDeps } from '../core/dispatch';
import { errorMessage } from '../core/errors';
import { systemClock, type Clock } from '../core/ports';
import { launchRecoveries, recordRestore } from '../core/recovery';
import { SpecCache } from '../core/spec';
import { EcsLauncher, type EcsLauncherOptions } from '../aws/ecs-launcher';
import { ecsConfigOf, S3LauncherConfig, type LauncherConfig } from '../aws/launcher-config';
import { SecretsManagerSecretStore } from '../aws/secrets-manager';
import { COMPILED_SPECS_NAME, S3CompiledSpecs } from '../aws/s3-compiled-specs';
import { S3SpecStore } from '../aws/s3-spec-store';
import { S3RecoveryStatusStore, S3StatusStore } from '../aws/s3-status-store';
import { S3Watermark } from '../aws/s3-watermark';
import { S3RunStore } from '../aws/s3-run-store';
import type { CommonEnv, DispatchEnv, RecordEnv, ValidateEnv } from './env';

/** The SDK clients a runtime uses; any not given is built with the defaults. */
export interface AwsClients {
  readonly s3?: S3Client;
  /** Built with `maxAttempts: 1`: the launcher paces and backs off itself. */
  readonly ecs?: ECSClient;
  readonly secrets?: SecretsManagerClient;
}

/** Logger and Metrics for one Lambda, configured from its environment. */
export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Powertools Logger (JSON lines) and Metrics (EMF, dimension service=<service name>). */
export function telemetry(env: CommonEnv): Telemetry {
  return {
    logger: new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME }),
    metrics: new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME }),
  };
}

/** What every runtime holds: the stores on the config bucket. */
interface StoreRuntime extends Telemetry {
  readonly s3: S3Client;
  readonly specs: S3SpecStore;
  readonly statuses: S3StatusStore;
  readonly recoveries: S3RecoveryStatusStore;
  readonly cache: SpecCache;
  readonly clock: Clock;
}

/**
 * The running code, for compiled specs: a hash of the file this module is in, which in a
 * function is its whole bundle, so any change to the code that validates specs is a new release.
 */
export function codeRelease(): string {
  return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 32);
}

/** `state/compiled-specs.json` on the runtime's spec store and cache (dispatch writes it, record reads it). */
function compiledSpecs(env: CommonEnv, base: StoreRuntime, release = codeRelease()): S3CompiledSpecs {
  return new S3CompiledSpecs({ client: base.s3, bucket: env.CONFIG_BUCKET, key: `${env.STATE_PREFIX}${COMPILED_SPECS_NAME}`, store: base.specs, cache: base.cache, release });
}

/**
 * Seeds a runtime's spec store and cache from the compiled specs, once per container; a
 * failure is a warning, since every document can still be read and parsed.
 */
export async function restoreCompiledSpecs(rt: { readonly compiled: S3CompiledSpecs; readonly logger: Logger }): Promise<void> {
  try {
    const documents = await rt.compiled.restore();
    rt.logger.debug('compiled specs read', { documents });
  } catch (err) {
    rt.logger.warn('could not read the compiled specs; every spec document is read and parsed', { error: errorMessage(err) });
  }
}

function stores(env: CommonEnv, clients: AwsClients, clock: Clock): StoreRuntime {
  const s3 = clients.s3 ?? new S3Client({});
  const bucket = env.CONFIG_BUCKET;
  return {
    ...telemetry(env),
    s3,
    specs: new S3SpecStore({ client: s3, bucket, prefix: env.SPEC_PREFIX }),
    statuses: new S3StatusStore({ client: s3, bucket, prefix: env.STATUS_PREFIX }),
    recoveries: new S3RecoveryStatusStore({ client: s3, bucket, prefix: env.STATUS_PREFIX }),
    cache: new SpecCache(),
    clock,
  };
}

/** The dispatch Lambda's runtime. */
export interface DispatchRuntime extends StoreRuntime {
  readonly env: DispatchEnv;
  readonly deps: DispatchDeps;
  readonly launcher: EcsLauncher;
  readonly launcherConfig: S3LauncherConfig;
  readonly compiled: S3CompiledSpecs;
  /** What `state/launcher.json` should hold. */
  readonly launcherSettings: LauncherConfig;
}

/** Builds the dispatcher: S3 stores, the watermark, Secrets Manager and the ECS launcher. */
export function composeDispatch(
  env: DispatchEnv,
  clients: AwsClients = {},
  options: { clock?: Clock; launcher?: EcsLauncherOptions; /** @default codeRelease() */ release?: string } = {},
): DispatchRuntime {
  const clock = options.clock ?? systemClock;
  const base = stores(env, clients, clock);
  const ecs = clients.ecs ?? new ECSClient({ maxAttempts: 1 });
  const secrets = new SecretsManagerSecretStore(clients.secrets ?? new SecretsManagerClient({}), env.SECRET_PREFIX);
  const launcherSettings: LauncherConfig = {
    clusterArn: env.CLUSTER_ARN,
    taskDefinitionArn: env.TASK_DEFINITION_ARN,
    taskFamily: env.TASK_FAMILY,
    containerName: env.CONTAINER_NAME,
    taskRoleArn: env.TASK_ROLE_ARN,
    executionRoleArn: env.EXECUTION_ROLE_ARN,
    logGroup: env.RUNNER_LOG_GROUP,
    subnets: env.SUBNET_IDS,
    securityGroups: env.SECURITY_GROUP_IDS,
    assignPublicIp: env.ASSIGN_PUBLIC_IP,
    efsSources: env.EFS_SOURCES,
    efsRepositories: env.EFS_REPOSITORIES,
    efsRestoreTargets: env.EFS_RESTORE_TARGETS,
    maxTaskCpu: env.MAX_TASK_CPU,
    maxTaskMemoryMiB: env.MAX_TASK_MEMORY_MIB,
    specPrefix: env.SPEC_PREFIX,
    statusPrefix: env.STATUS_PREFIX,
    secretPrefix: env.SECRET_PREFIX,
  };
  const launcher = new EcsLauncher(ecs, ecsConfigOf(launcherSettings), options.launcher);
  const deps: DispatchDeps = {
    specs: base.specs,
    cache: base.cache,
    watermark: new S3Watermark({ client: base.s3, bucket: env.CONFIG_BUCKET, prefix: env.STATE_PREFIX }),
    launcher,
    secrets,
    statuses: base.statuses,
    clock,
    recoveries: (ctx) => launchRecoveries(base.recoveries, ctx),
  };
  return {
    ...base,
    env,
    deps,
    launcher,
    launcherConfig: new S3LauncherConfig(base.s3, env.CONFIG_BUCKET, env.STATE_PREFIX),
    launcherSettings,
    compiled: compiledSpecs(env, base, options.release),
  };
}

/** The record Lambda's runtime. */
export interface RecordRuntime extends StoreRuntime {
  readonly env: RecordEnv;
  readonly runs: S3RunStore;
  readonly recordRestore: ReturnType<typeof recordRestore>;
  readonly compiled: S3CompiledSpecs;
}

/** Builds the recorder: the status stores and the spec store (for overdue specs). */
export function composeRecord(env: RecordEnv, clients: AwsClients = {}, options: { clock?: Clock; /** @default codeRelease() */ release?: string } = {}): RecordRuntime {
  const base = stores(env, clients, options.clock ?? systemClock);
  const runs = new S3RunStore({ client: base.s3, bucket: env.CONFIG_BUCKET, prefix: env.RUNS_PREFIX });
  return { ...base, env, runs, recordRestore: recordRestore(base.recoveries), compiled: compiledSpecs(env, base, options.release) };
}

/** The validate Lambda's runtime. */
export interface ValidateRuntime extends StoreRuntime {
  readonly env: ValidateEnv;
}

/** Builds the validator: the spec store (to read the object) and the status stores. */
export function composeValidate(env: ValidateEnv, clients: AwsClients = {}, options: { clock?: Clock } = {}): ValidateRuntime {
  return { ...stores(env, clients, options.clock ?? systemClock), env };
}
