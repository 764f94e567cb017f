/**
 * The CLI against a deployed stack: `--specs s3://bucket/prefix`, `--secrets sm://prefix` and
 * `--state s3://bucket/prefix` point `validate`, `plan`, `status`, `snapshots` and `restore`
 * at the real stores, and `--remote` launches a run (or a restore into EFS) now, through the
 * same launch path as the dispatcher's tick.
 *
 * `--state s3://bucket/P` means statuses under `P` + `status/` and the stack's own state
 * (`launcher.json`, written by the dispatcher) under `P` + `state/`, as `--state DIR` means
 * `DIR/status` locally. Without `--state`, the bucket of `--specs` at its root.
 *
 * @example
 * const remote = new RemoteStash({ specs: 's3://stash-config/specs', secrets: 'sm://stash/' });
 * await remote.backupNow('db');            // { run: 'db-20260101T120000-1a2b3c', taskArn: ... }
 * await remote.restoreNow('db', { volumes: [parseVolumeFlag('/source/data=efs:fs-0123abcd:/restored')] });
 */
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { launchNow, launchRun } from '../core/launch';
import { runResultOf, taskRun, type StoppedTask } from '../core/record';
import { S3RunStore } from '../aws/s3-run-store';
import { ConfigError, errorMessage, StashError } from '../core/errors';
import { systemClock, type Clock } from '../core/ports';
import { launchRecovery, loadRecoveries, pendingStatus, type RecoveryLoadResult } from '../core/recovery';
import { parseSchedule } from '../core/schedule';
import type { VolumeMode } from '../core/volumes';
import { EcsLauncher } from '../aws/ecs-launcher';
import { ecsConfigOf, S3LauncherConfig, type LauncherConfig } from '../aws/launcher-config';
import { isConditionLost, normalisePrefix, parseS3Uri, s3Uri, type S3Location } from '../aws/s3';
import { S3SpecStore } from '../aws/s3-spec-store';
import { S3RecoveryStatusStore, S3StatusStore } from '../aws/s3-status-store';
import { SecretsManagerSecretStore } from '../aws/secrets-manager';
import { API_VERSION, type Restic } from '../schemas/restic';
import { RECOVERY_KIND, RecoverySchema, type RecoveredVolume, type Recovery, type RecoveryStatus } from '../schemas/recovery';
import { RUNS_PREFIX, STATE_PREFIX, STATUS_PREFIX } from '../schemas/bucket';
import type { RunResult, SpecStatus } from '../schemas/status';
import { DEFAULT_SECRET_PREFIX, type Secret } from '../schemas/secret';
import type { RunLog } from '../runner/run';
import { InterruptedError } from './command';
import { ofRun, SpecStash, type LogQuery, type LogRecord } from './stash';

/** `--secrets` when none is given: the stack's own prefix. */
const DEFAULT_SECRETS_URI = `sm://${DEFAULT_SECRET_PREFIX}`;

/**
 * The Secrets Manager name prefix of `sm://prefix` (`sm://stash/` -> `stash/`); a prefix
 * that is not empty and has no trailing "/" keeps it as written (`sm://team-` -> `team-`).
 */
export function parseSecretsUri(uri: string): string {
  const match = /^sm:\/\/(.*)$/.exec(uri);
  if (!match) throw new ConfigError(`--secrets "${uri}" must look like sm://prefix (the Secrets Manager name prefix, e.g. sm://stash/)`);
  return match[1];
}

/**
 * A `--volume` for a remote restore: `MOUNTPATH=efs:FILESYSTEM[:ROOTDIR][@ACCESSPOINT]`,
 * or `MOUNTPATH=emptyDir`.
 *
 * @example parseVolumeFlag('/source/data=efs:fs-0123abcd:/restored') // { mountPath: '/source/data', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/restored' } }
 */
export function parseVolumeFlag(text: string): RecoveredVolume {
  const usage = `--volume "${text}" must look like MOUNTPATH=efs:fs-0123abcd[:/root/dir][@fsap-0123abcd] or MOUNTPATH=emptyDir`;
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(usage);
  const mountPath = text.slice(0, eq);
  const source = text.slice(eq + 1);
  if (!mountPath.startsWith('/')) throw new ConfigError(`${usage}: the mount path must be absolute`);
  if (source === 'emptyDir') return { mountPath, emptyDir: {} };
  const m = /^efs:(fs-[0-9a-f]+)(?::(\/[^@]*))?(?:@(fsap-[0-9a-f]+))?$/.exec(source);
  if (!m) throw new ConfigError(usage);
  return {
    mountPath,
    efs: { fileSystemId: m[1], ...(m[2] ? { rootDirectory: m[2] } : {}), ...(m[3] ? { accessPointId: m[3] } : {}) },
  };
}

/** SDK clients; any not given is built from the operator's default AWS configuration. */
export interface RemoteClients {
  readonly s3?: S3Client;
  readonly ecs?: ECSClient;
  readonly secrets?: SecretsManagerClient;
  readonly logs?: CloudWatchLogsClient;
}

/** Where the remote stores are. */
export interface RemoteOptions {
  /** `s3://bucket/prefix` of the specs. */
  readonly specs: string;
  /** `sm://prefix`. @default 'sm://stash/' */
  readonly secrets?: string;
  /** `s3://bucket/prefix`; statuses under `status/`, the stack's state under `state/`. @default the specs bucket's root */
  readonly state?: string;
  readonly clients?: RemoteClients;
  readonly clock?: Clock;
  /** The restic binary for snapshots and local restores. */
  readonly binary?: string;
  /** The log of a restore on this machine. @default none: nothing is logged */
  readonly runLog?: (name: string) => RunLog;
}

/** What `stash restore NAME --remote` asks for. */
export interface RemoteRestoreOptions {
  readonly volumes: readonly RecoveredVolume[];
  /** A snapshot id; default the latest. */
  readonly snapshot?: string;
  /** fileGroup paths; default all. */
  readonly paths?: readonly string[];
  /** The Recovery's name; default `<spec>-<time>`. */
  readonly name?: string;
}

/** What a remote restore started. */
export interface RemoteRestore {
  readonly recovery: string;
  /** Where the Recovery document was stored (the runner reads it from there). */
  readonly source: string;
  readonly run?: string;
  readonly taskArn?: string;
  readonly phase: RecoveryStatus['phase'];
  readonly reason?: string;
}

/** A run log that drops what it is told. */
const silentLog: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The remote stores of a deployed stack as a {@link SpecStash}, with what the CLI does on
 * them; adds launching a run ({@link backupNow}) or a restore ({@link restoreNow}) on AWS now.
 * SDK clients are built once, on first use.
 */
export class RemoteStash extends SpecStash {
  readonly specsAt: S3Location;
  readonly stateAt: S3Location;
  protected readonly specsSource: string;
  protected readonly clock: Clock;
  /** On this machine, paths are the spec's as written (its volumes are the stack's EFS). */
  protected readonly mode: VolumeMode = { kind: 'aws' };
  protected readonly binary: string | undefined;
  private clientsBuilt?: Required<RemoteClients>;
  private specStoreInstance?: S3SpecStore;

  constructor(private readonly options: RemoteOptions) {
    super();
    this.specsAt = parseS3Uri(options.specs, '--specs');
    this.stateAt = options.state ? parseS3Uri(options.state, '--state') : { bucket: this.specsAt.bucket, prefix: '' };
    if (options.secrets) parseSecretsUri(options.secrets);
    this.specsSource = s3Uri(this.specsAt.bucket, this.specsAt.prefix);
    this.clock = options.clock ?? systemClock;
    this.binary = options.binary;
  }

  private get clients(): Required<RemoteClients> {
    this.clientsBuilt ??= {
      s3: this.options.clients?.s3 ?? new S3Client({}),
      ecs: this.options.clients?.ecs ?? new ECSClient({ maxAttempts: 1 }),
      secrets: this.options.clients?.secrets ?? new SecretsManagerClient({}),
      logs: this.options.clients?.logs ?? new CloudWatchLogsClient({}),
    };
    return this.clientsBuilt;
  }

  /** The spec store (`--specs`). */
  get specStore(): S3SpecStore {
    this.specStoreInstance ??= new S3SpecStore({ client: this.clients.s3, bucket: this.specsAt.bucket, prefix: this.specsAt.prefix });
    return this.specStoreInstance;
  }

  /** Spec statuses (`--state` + `status/`). */
  get statusStore(): S3StatusStore {
    return new S3StatusStore({ client: this.clients.s3, bucket: this.stateAt.bucket, prefix: `${this.stateAt.prefix}${STATUS_PREFIX}` });
  }

  /** Every run's result (`--state` + `runs/`), as the task and the record function write them. */
  get runStore(): S3RunStore {
    return new S3RunStore({ client: this.clients.s3, bucket: this.stateAt.bucket, prefix: `${this.stateAt.prefix}${RUNS_PREFIX}` });
  }

  /** Recovery statuses (`--state` + `status/recoveries/`). */
  get recoveryStore(): S3RecoveryStatusStore {
    return new S3RecoveryStatusStore({ client: this.clients.s3, bucket: this.stateAt.bucket, prefix: `${this.stateAt.prefix}${STATUS_PREFIX}` });
  }

  /** The secret store (`--secrets`). */
  get secretStore(): SecretsManagerSecretStore {
    return new SecretsManagerSecretStore(this.clients.secrets, parseSecretsUri(this.options.secrets ?? DEFAULT_SECRETS_URI));
  }

  /** Every Recovery next to the specs, and the problems of invalid ones. */
  async loadRecoveries(): Promise<RecoveryLoadResult> {
    return loadRecoveries(await this.specStore.documents());
  }

  /** The Recoveries' statuses. */
  recoveries(): Promise<RecoveryStatus[]> {
    return this.recoveryStore.list();
  }

  /** The secret from Secrets Manager; a ConfigError naming the prefix when there is none. */
  protected async secretOf(spec: Restic): Promise<Secret> {
    const name = spec.spec.backend.storageSecretName;
    const found = await this.secretStore.get(name);
    if (!found) throw new ConfigError(`secret "${name}" does not exist under ${this.options.secrets ?? DEFAULT_SECRETS_URI}`);
    return found.secret;
  }

  runLog(name: string): RunLog {
    return this.options.runLog?.(name) ?? silentLog;
  }

  private launcherConfigRead?: Promise<LauncherConfig>;

  /** The stack's launcher configuration, read once (`backup --wait` launches, then follows); a failed read is tried again. */
  private launcherConfig(): Promise<LauncherConfig> {
    if (!this.launcherConfigRead) {
      this.launcherConfigRead = new S3LauncherConfig(this.clients.s3, this.stateAt.bucket, `${this.stateAt.prefix}${STATE_PREFIX}`).read();
      this.launcherConfigRead.catch(() => (this.launcherConfigRead = undefined));
    }
    return this.launcherConfigRead;
  }

  private async launcher(): Promise<EcsLauncher> {
    return new EcsLauncher(this.clients.ecs, ecsConfigOf(await this.launcherConfig()));
  }

  /**
   * Follows a launched task to its end: ECS DescribeTasks every `pollMs` (default 5 s) until
   * it is STOPPED, then the run's result as the task wrote it to `runs/` (waiting up to
   * `recordWaitMs`, default 2 min, for the record function to write one for a task that died),
   * else as the stopped task's exit code and reason tell. Aborting stops following, not the task.
   */
  async follow(
    name: string,
    started: { readonly run: string; readonly taskArn: string },
    options: { readonly signal?: AbortSignal; readonly pollMs?: number; readonly recordWaitMs?: number; readonly onStatus?: (lastStatus: string) => void } = {},
  ): Promise<{ result: RunResult; status?: SpecStatus; task: StoppedTask }> {
    const config = await this.launcherConfig();
    const pollMs = options.pollMs ?? 5000;
    const wait = async () => {
      try {
        await sleep(pollMs, undefined, { signal: options.signal });
      } catch {
        const why = options.signal?.reason instanceof InterruptedError ? `${errorMessage(options.signal.reason)}: ` : '';
        throw new StashError(`${why}stopped following ${started.taskArn}; the task goes on: see stash history ${name}`);
      }
    };
    let last: string | undefined;
    let task: Task | undefined;
    for (;;) {
      const described = await this.clients.ecs.send(new DescribeTasksCommand({ cluster: config.clusterArn, tasks: [started.taskArn] }));
      task = described.tasks?.[0];
      if (!task) throw new StashError(`ECS does not know the task ${started.taskArn} (${described.failures?.map((f) => f.reason).join('; ') || 'no such task'}): it may have stopped more than an hour ago; see stash history ${name}`);
      if (task.lastStatus && task.lastStatus !== last) options.onStatus?.((last = task.lastStatus));
      if (task.lastStatus === 'STOPPED') break;
      await wait();
    }
    const stopped = stoppedTaskOf(task);
    const runs = this.runStore;
    const deadline = Date.now() + (options.recordWaitMs ?? 120_000);
    let result = await runs.get(name, started.run);
    while (!result && Date.now() < deadline) {
      await wait();
      result = await runs.get(name, started.run);
    }
    const described = taskRun(stopped, config.containerName) ?? { spec: name, run: started.run, kind: 'backup' as const };
    result ??= runResultOf(stopped, { ...described, run: started.run }, this.clock.now(), config.containerName);
    return { result, status: await this.statusStore.get(name).catch(() => undefined), task: stopped };
  }

  /**
   * The log groups of the stack's functions (dispatch, record, validate). The stack names its
   * log groups as CloudFormation does, `<stack>-<logical id>-<suffix>`, with the runner's
   * logical id starting `Runner` and the functions' `Functions`: so they are found by the
   * runner's group (from `launcher.json`). A runner group named otherwise gives none.
   */
  private async functionLogGroups(runnerGroup: string): Promise<string[]> {
    const stack = /^(.+)-Runner[A-Za-z0-9]*LogGroup/.exec(runnerGroup)?.[1];
    if (!stack) return [];
    const groups: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `${stack}-Functions`, nextToken: token }));
      groups.push(...(page.logGroups ?? []).flatMap((g) => (g.logGroupName ? [g.logGroupName] : [])));
      token = page.nextToken;
    } while (token);
    return groups.sort();
  }

  /**
   * The spec's records from CloudWatch Logs: the runner's log group (`launcher.json`) and the
   * functions', each read with FilterLogEvents and a filter on the JSON keys `spec` (and
   * `run`), then merged by time. Following, each group is read again every `pollMs` (default
   * 5 s) from the last event seen. `since` defaults to the last 24 hours.
   */
  async logs(name: string, query: LogQuery, emit: (record: LogRecord) => void): Promise<void> {
    const config = await this.launcherConfig();
    const groups = [config.logGroup, ...(await this.functionLogGroups(config.logGroup))];
    const filterPattern = query.run ? `{ ($.spec = ${JSON.stringify(name)}) && (($.run = ${JSON.stringify(query.run)}) || ($.run = ${JSON.stringify(`${query.run}-check`)})) }` : `{ $.spec = ${JSON.stringify(name)} }`;
    const seen = new Set<string>();
    let from = (query.since ?? new Date(this.clock.now().getTime() - 24 * 3600_000)).getTime();
    for (;;) {
      const batch: LogRecord[] = [];
      for (const group of groups) {
        let token: string | undefined;
        do {
          const page = await this.clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern, startTime: from, nextToken: token }), { abortSignal: query.signal });
          for (const e of page.events ?? []) {
            if (!e.eventId || seen.has(e.eventId)) continue;
            seen.add(e.eventId);
            const record = cloudWatchRecord(e.message ?? '', e.timestamp ?? 0, group === config.logGroup ? undefined : group);
            // The filter runs in CloudWatch; this keeps what it let through honest.
            if (record && record.spec === name && ofRun(record, query.run)) batch.push(record);
          }
          token = page.nextToken;
        } while (token);
      }
      batch.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      for (const r of batch) emit(r);
      if (batch.length) from = Date.parse(batch[batch.length - 1].timestamp);
      if (!query.follow || query.signal?.aborted || query.stop?.()) return;
      try {
        await sleep(query.pollMs ?? 5000, undefined, { signal: query.signal });
      } catch {
        return;
      }
      if (query.stop?.()) return;
    }
  }

  /** `stash backup NAME --remote` (or `check`): a Fargate task now, as the tick would start it. */
  async backupNow(name: string, kind: 'backup' | 'check' = 'backup', options: { readonly init?: boolean } = {}): Promise<{ run: string; taskArn: string }> {
    const launcher = await this.launcher();
    return launchNow({ specs: this.specStore, cache: this.cache, launcher, secrets: this.secretStore, statuses: this.statusStore }, name, this.clock.now(), kind, options);
  }

  /**
   * `stash restore NAME --remote --volume ...`: stores a Recovery next to the specs (so the
   * runner can read it and the dispatcher knows it is launched) and launches its restore
   * task now. Its outcome lands in the Recovery's status.
   */
  async restoreNow(name: string, options: RemoteRestoreOptions): Promise<RemoteRestore> {
    if (!options.volumes.length) throw new ConfigError('a remote restore needs at least one --volume to restore into');
    const now = this.clock.now();
    const loaded = await this.load();
    const recoveryName = options.name ?? `${name}-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15).toLowerCase()}`;
    const document: Recovery = RecoverySchema.parse({
      apiVersion: API_VERSION,
      kind: RECOVERY_KIND,
      metadata: { name: recoveryName },
      spec: {
        restic: name,
        ...(options.snapshot && options.snapshot !== 'latest' ? { snapshot: options.snapshot } : {}),
        ...(options.paths?.length ? { paths: [...options.paths] } : {}),
        recoveredVolumes: options.volumes.map((v) => ({ ...v })),
      },
    });
    const key = `${normalisePrefix(this.specsAt.prefix)}recoveries/${recoveryName}.yaml`;
    const source = s3Uri(this.specsAt.bucket, key);
    let version: string | undefined;
    try {
      const put = await this.clients.s3.send(
        new PutObjectCommand({ Bucket: this.specsAt.bucket, Key: key, Body: stringify(document), ContentType: 'application/yaml', IfNoneMatch: '*' }),
      );
      version = put.VersionId && put.VersionId !== 'null' ? put.VersionId : put.ETag;
    } catch (err) {
      if (isConditionLost(err)) throw new StashError(`${source} already exists: give the restore another --name`, { cause: err });
      throw new StashError(`failed to store the Recovery at ${source}: ${errorMessage(err)}`, { cause: err });
    }
    const recovery = { recovery: document, source, version };
    const store = this.recoveryStore;
    await store.update(recoveryName, () => pendingStatus(recovery, now));
    const launcher = await this.launcher();
    const running = new Map((await launcher.running()).map((r) => [r.spec, r]));
    const statuses = this.statusStore;
    const secrets = this.secretStore;
    const report = await launchRecovery(store, { specs: loaded.specs, running, now, launch: (spec, request) => launchRun({ launcher, secrets, statuses }, spec, request, now) }, recovery);
    const status = await store.get(recoveryName);
    return {
      recovery: recoveryName,
      source,
      run: report.run,
      taskArn: report.taskArn,
      phase: status?.phase ?? 'Pending',
      ...(report.reason ? { reason: report.reason } : {}),
    };
  }
}

/** A task as DescribeTasks gives it, in the shape the record step reads (times as ISO strings). */
function stoppedTaskOf(t: Task): StoppedTask {
  const iso = (d: Date | undefined) => d?.toISOString();
  return {
    taskArn: t.taskArn ?? '',
    clusterArn: t.clusterArn,
    group: t.group,
    startedBy: t.startedBy,
    lastStatus: t.lastStatus,
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason,
    createdAt: iso(t.createdAt),
    startedAt: iso(t.startedAt),
    stoppingAt: iso(t.stoppingAt),
    stoppedAt: iso(t.stoppedAt),
    containers: (t.containers ?? []).map((c) => ({ name: c.name ?? '', exitCode: c.exitCode, reason: c.reason, lastStatus: c.lastStatus })),
    overrides: {
      containerOverrides: (t.overrides?.containerOverrides ?? []).map((o) => ({ name: o.name, environment: (o.environment ?? []).map((e) => ({ name: e.name, value: e.value })) })),
    },
  };
}

/**
 * A CloudWatch event as a record: the JSON line the runner or a function logged (Powertools'
 * `timestamp` kept when it has one); undefined for a line that is not JSON (Lambda's START,
 * END and REPORT lines).
 */
export function cloudWatchRecord(message: string, timestamp: number, source?: string): LogRecord | undefined {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    if (!value || typeof value !== 'object' || typeof value.message !== 'string') return undefined;
    const at = typeof value.timestamp === 'string' && !Number.isNaN(Date.parse(value.timestamp)) ? new Date(value.timestamp).toISOString() : new Date(timestamp).toISOString();
    return { ...value, message: value.message, timestamp: at, level: typeof value.level === 'string' ? value.level : undefined, ...(source ? { source } : {}) };
  } catch {
    return undefined;
  }
}
