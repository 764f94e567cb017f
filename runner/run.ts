/**
 * The runner: the only code that calls restic. Local mode and the Fargate container both
 * call it; they differ only in where the spec and secret come from (ports) and how volumes
 * resolve.
 *
 * A backup, per fileGroup:
 *
 *   restic backup --json --host <restic host: the spec's name, or its annotation> [--tag ...] <path>
 *     └─ no repository?  restic init, then the backup again, only for a repository that never
 *                        existed (no pre-check on every run: each restic command that opens a
 *                        repository derives its key)
 *   restic forget --json --host <restic host> --path <path> --keep-... [--prune] [--dry-run]
 *     └─ only when the fileGroup has a retention policy
 *   the snapshot restic reported confirmed in what forget (or restic snapshots <id>) lists
 *   any command refused for a lock: see withUnlock
 */
import { stat } from 'node:fs/promises';
import { backendKind, retentionPolicyOf, type FileGroup, type Restic, type RetentionPolicy } from '../schemas/restic';
import { missingSecretKeys, type Secret } from '../schemas/secret';
import type { FileGroupResult, Outcome, RunResult } from '../schemas/status';
import { ConfigError, errorMessage, ResticError, SecretError, type StashError } from '../core/errors';
import { formatGoDuration } from '../core/duration';
import { resticHost } from '../core/host';
import { runTimeoutMs } from '../core/limits';
import { checkRunId } from '../core/run-id';
import { resolveLocalRepository, resolvePath, type VolumeMode } from '../core/volumes';
import { prepareTarget, type ResticTarget } from './backend';
import { isLocked, isMissingRepository, outputTail, runRestic, type ResticOptions, type ResticOutcome } from './restic';

/** Where the runner writes what happens; Powertools' Logger fits, so does a console adapter. */
export interface RunLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Everything one run needs besides the spec. */
export interface RunContext {
  readonly spec: Restic;
  readonly secret: Secret | undefined;
  readonly mode: VolumeMode;
  readonly run: string;
  readonly slot?: Date;
  readonly log: RunLog;
  readonly signal?: AbortSignal;
  /**
   * Whether a backup may `restic init` a repository that is not there. Only for a repository
   * that never existed: once a spec sharing it has backed up, "no repository" means a disk
   * unmounted or a bucket deleted, and a new, empty repository would hide the history when it
   * comes back. @default false
   */
  readonly mayInitialise?: boolean;
  /** Why initialising is refused, for the error (who backed up there, and when). */
  readonly repositoryHistory?: string;
  /** Stop the run after this long and record it as `timed-out`. @default the spec's `timeout` (12 h) */
  readonly timeoutMs?: number;
  /** restic binary (tests point it elsewhere). */
  readonly binary?: string;
  /** Progress lines at most this often during long backups; default 30 s. */
  readonly progressEveryMs?: number;
  /** Every progress message restic prints (`message_type: status`), for a live display. */
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly now?: () => Date;
}

/** restic's progress for one fileGroup: its `--json` status message as restic printed it. */
export interface ProgressEvent {
  readonly action: 'backup' | 'restore';
  /** The fileGroup path, as written in the spec. */
  readonly fileGroup: string;
  /** `percent_done`, `files_done`/`files_restored`, `bytes_done`/`bytes_restored`, `total_*`, `seconds_*`. */
  readonly status: Record<string, unknown>;
}

const SEVERITY: Record<Outcome, number> = { succeeded: 0, partial: 1, failed: 2, interrupted: 3, 'timed-out': 4, 'config-error': 5 };

/** The worst of several outcomes (a run is as good as its worst fileGroup). */
export function worstOutcome(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce<Outcome>((w, o) => (SEVERITY[o] > SEVERITY[w] ? o : w), 'succeeded');
}

/** Prepares the restic target for a spec: secret checked, backend mapped, volumes resolved. */
export async function openTarget(spec: Restic, secret: Secret | undefined, mode: VolumeMode): Promise<ResticTarget> {
  const name = spec.spec.backend.storageSecretName;
  if (!secret) throw new SecretError(`secret "${name}" not found`);
  const missing = missingSecretKeys(backendKind(spec.spec.backend), secret);
  if (missing.length) throw new SecretError(`secret "${name}": ${missing.join('; ')}`);
  // restic init makes a local repository's folders itself: nothing is made here, so that a
  // vanished disk's mount point is not filled with a new repository by accident.
  const localRepository = spec.spec.backend.local ? resolveLocalRepository(spec, mode) : undefined;
  return prepareTarget(spec.spec.backend, secret, { localRepository });
}

/** The restic arguments for a retention policy; empty when the policy keeps everything. */
export function forgetArgs(policy: RetentionPolicy | undefined): string[] {
  if (!policy) return [];
  const args: string[] = [];
  const counts: [keyof RetentionPolicy, string][] = [
    ['keepLast', '--keep-last'],
    ['keepHourly', '--keep-hourly'],
    ['keepDaily', '--keep-daily'],
    ['keepWeekly', '--keep-weekly'],
    ['keepMonthly', '--keep-monthly'],
    ['keepYearly', '--keep-yearly'],
  ];
  for (const [key, flag] of counts) {
    const n = policy[key];
    if (typeof n === 'number' && n > 0) args.push(flag, String(n));
  }
  for (const tag of policy.keepTags ?? []) args.push('--keep-tag', tag);
  if (!args.length) return [];
  if (policy.prune) args.push('--prune');
  if (policy.dryRun) args.push('--dry-run');
  return args;
}

/**
 * Runs a restic command; when the repository is locked, clears what can only be a dead run's
 * lock and tries again:
 *
 * ```
 * locked ─▶ restic unlock (stale locks: this host's dead processes, older than 30 min) ─▶ retry
 *        └▶ still locked, and the spec does not say the repository is shared:
 *           restic unlock --remove-all ─▶ retry
 * ```
 *
 * This project runs one run per repository at a time (a lock per repository locally, the
 * dispatcher on AWS), so a lock a run meets is a killed run's: on Fargate every task has a
 * host name of its own, and restic's own rule keeps such a lock for 30 minutes. A repository
 * used by something else too (`spec.sharedRepository`) keeps its locks: the run fails naming
 * whose lock it is, as restic tells it.
 */
async function withUnlock(ctx: RunContext, target: ResticTarget, args: string[], options: ResticOptions): Promise<ResticOutcome> {
  const first = await runRestic(target, args, options);
  if (!isLocked(first) || first.aborted) return first;
  const quiet = { binary: options.binary, signal: options.signal };
  ctx.log.warn('repository is locked; removing stale locks and retrying once', { command: args[0], lock: outputTail(first, 4) });
  const unlock = await runRestic(target, ['unlock'], quiet);
  if (unlock.ending !== 'succeeded') ctx.log.warn('restic unlock failed', { output: outputTail(unlock) });
  const second = await runRestic(target, args, options);
  if (!isLocked(second) || second.aborted || ctx.spec.spec.sharedRepository) return second;
  ctx.log.warn('repository is still locked by a run that is gone (one run per repository at a time); removing every lock', {
    command: args[0],
    lock: outputTail(second, 4),
  });
  const removed = await runRestic(target, ['unlock', '--remove-all'], quiet);
  if (removed.ending !== 'succeeded') ctx.log.warn('restic unlock --remove-all failed', { output: outputTail(removed) });
  return runRestic(target, args, options);
}

/** How restic ended, for a message: `failed (exit 1)`, `was killed by SIGKILL`, `was interrupted`. */
function ending(r: ResticOutcome): string {
  if (r.aborted) return 'was interrupted';
  if (r.ending === 'disk-full') return 'stopped: a disk is full (no space left on device), and retrying cannot help';
  if (r.signal) return `was killed by ${r.signal}`;
  return `failed (exit ${r.exitCode})`;
}

/** `restic <command> <ending>[: <output tail>]`. */
function failureText(command: string, r: ResticOutcome): string {
  const tail = outputTail(r);
  return `restic ${command} ${ending(r)}${tail ? `: ${tail}` : ''}`;
}

/**
 * What restic refused because of the spec's configuration, not a failure of restic's: a
 * password that does not open the repository, a backend this restic was built without. Names
 * the spec and its secret, never a value; undefined for every other ending.
 */
function configProblem(spec: Restic, target: ResticTarget, r: ResticOutcome): string | undefined {
  const name = spec.metadata.name;
  const secret = spec.spec.backend.storageSecretName;
  if (r.ending === 'wrong-password') {
    return `spec ${name}: the RESTIC_PASSWORD in secret "${secret}" does not open the repository at ${target.display} (restic: wrong password or no key found)`;
  }
  if (r.ending === 'backend-unsupported') {
    return `spec ${name}: this restic cannot use the ${backendKind(spec.spec.backend)} backend of ${target.display}: it was built without it (Debian's restic package has no Azure backend)`;
  }
  return undefined;
}

/** The message for a restic command that did not succeed: the configuration problem, or restic's own words. */
function problemText(spec: Restic, target: ResticTarget, command: string, r: ResticOutcome): string {
  return configProblem(spec, target, r) ?? failureText(command, r);
}

function outcomeOf(r: ResticOutcome): Outcome {
  switch (r.ending) {
    case 'succeeded':
      return 'succeeded';
    case 'partial':
      return 'partial';
    case 'interrupted':
      return 'interrupted';
    case 'wrong-password':
    case 'backend-unsupported':
      return 'config-error';
    default:
      return 'failed';
  }
}

function summaryOf(json: unknown[]): Record<string, unknown> | undefined {
  return json.find((m): m is Record<string, unknown> => !!m && typeof m === 'object' && (m as { message_type?: unknown }).message_type === 'summary');
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Backs up one fileGroup (initialising the repository first if it has none) and applies its policy. */
async function backupFileGroup(ctx: RunContext, target: ResticTarget, group: FileGroup, index: number): Promise<FileGroupResult> {
  const name = ctx.spec.metadata.name;
  const base = { spec: name, run: ctx.run, fileGroup: group.path };
  let path: string;
  try {
    path = resolvePath(ctx.spec, group.path, ctx.mode);
  } catch (err) {
    return { path: group.path, outcome: 'config-error', error: errorMessage(err) };
  }
  try {
    await stat(path);
  } catch {
    return { path: group.path, outcome: 'failed', error: `spec.fileGroups[${index}].path: ${path} does not exist` };
  }
  const every = ctx.progressEveryMs ?? 30_000;
  let lastProgress = Date.now();
  const options: ResticOptions = {
    binary: ctx.binary,
    signal: ctx.signal,
    onJson: (m) => {
      if (m.message_type === 'status') ctx.onProgress?.({ action: 'backup', fileGroup: group.path, status: m });
      if (m.message_type !== 'status' || Date.now() - lastProgress < every) return;
      lastProgress = Date.now();
      ctx.log.info('backup progress', {
        ...base,
        percentDone: num(m.percent_done),
        filesDone: num(m.files_done),
        totalFiles: num(m.total_files),
        bytesDone: num(m.bytes_done),
        totalBytes: num(m.total_bytes),
      });
    },
  };
  const args = ['backup', '--json', '--host', resticHost(ctx.spec), ...(group.tags ?? []).flatMap((t) => ['--tag', t]), path];
  let result = await withUnlock(ctx, target, args, options);
  if (isMissingRepository(result) && !result.aborted) {
    if (!ctx.mayInitialise) {
      const error =
        `the repository at ${target.display} does not exist, but ${ctx.repositoryHistory ?? 'it was backed up to before'}: ` +
        `is a disk unmounted, a mount missing or a bucket deleted? If it is gone for good, start a new, empty repository with: stash backup ${name} --init`;
      return { path: group.path, outcome: 'failed', error };
    }
    ctx.log.info('initialising repository', { ...base, repository: target.display });
    const init = await runRestic(target, ['init'], { binary: ctx.binary, signal: ctx.signal });
    if (init.ending !== 'succeeded' && init.ending !== 'repository-exists') {
      return { path: group.path, outcome: outcomeOf(init), error: problemText(ctx.spec, target, 'init', init) };
    }
    result = await withUnlock(ctx, target, args, options);
  }
  const summary = summaryOf(result.json);
  const outcome = outcomeOf(result);
  const fg: FileGroupResult = {
    path: group.path,
    outcome,
    snapshotId: typeof summary?.snapshot_id === 'string' ? summary.snapshot_id : undefined,
    filesNew: num(summary?.files_new),
    filesChanged: num(summary?.files_changed),
    filesUnmodified: num(summary?.files_unmodified),
    dirsNew: num(summary?.dirs_new),
    dataAdded: num(summary?.data_added),
    dataAddedPacked: num(summary?.data_added_packed),
    totalFilesProcessed: num(summary?.total_files_processed),
    totalBytesProcessed: num(summary?.total_bytes_processed),
    duration: num(summary?.total_duration),
  };
  if (outcome === 'partial') fg.error = `some files could not be read (restic exit 3): ${outputTail(result)}`;
  else if (outcome !== 'succeeded') fg.error = problemText(ctx.spec, target, 'backup', result);

  const policy = forgetArgs(retentionPolicyOf(ctx.spec.spec, group));
  // The ids of the snapshots restic lists after the backup, to confirm the new one is there.
  let listed: string[] | undefined;
  if (policy.length && summary && outcome !== 'interrupted') {
    const forget = await withUnlock(ctx, target, ['forget', '--json', '--host', resticHost(ctx.spec), '--path', path, ...policy], { binary: ctx.binary, signal: ctx.signal });
    if (forget.ending === 'succeeded') {
      const groups = (forget.json.find(Array.isArray) ?? []) as { keep?: { id?: unknown }[] | null; remove?: { id?: unknown }[] | null }[];
      const removed = groups.reduce((n, g) => n + (g.remove?.length ?? 0), 0);
      const kept = groups.reduce((n, g) => n + (g.keep?.length ?? 0), 0);
      // A dry run removes nothing: it says what it would forget, and every snapshot stays.
      if (policy.includes('--dry-run')) Object.assign(fg, { wouldForget: removed, snapshots: kept + removed });
      else Object.assign(fg, { forgotten: removed, snapshots: kept });
      listed = groups.flatMap((g) => [...(g.keep ?? []), ...(g.remove ?? [])]).map((s) => String(s.id));
    } else {
      fg.outcome = worstOutcome([fg.outcome, outcomeOf(forget)]);
      fg.error = [fg.error, problemText(ctx.spec, target, 'forget', forget)].filter(Boolean).join('; ');
    }
  }
  if (fg.snapshotId && (fg.outcome === 'succeeded' || fg.outcome === 'partial')) await confirmSnapshot(ctx, target, fg, listed);
  return fg;
}

/**
 * A backup counts only if its snapshot is in the repository: the id restic reported must be
 * among the snapshots restic lists afterwards (those `forget` just listed, or one
 * `restic snapshots <id>` when no policy ran). A repository damaged under a backup (two
 * `restic init` at once) reports a snapshot that is not there.
 */
async function confirmSnapshot(ctx: RunContext, target: ResticTarget, fg: FileGroupResult, listed: string[] | undefined): Promise<void> {
  const id = fg.snapshotId!;
  let found = listed?.includes(id);
  if (found === undefined) {
    const r = await runRestic(target, ['snapshots', '--json', '--no-lock', id], { binary: ctx.binary, signal: ctx.signal });
    if (r.ending === 'interrupted') return;
    found = r.ending === 'succeeded' && ((r.json.find(Array.isArray) ?? []) as { id?: unknown }[]).some((s) => s.id === id);
  }
  if (found) return;
  fg.outcome = 'failed';
  fg.error = [fg.error, `restic reported snapshot ${id.slice(0, 8)}, but the repository at ${target.display} does not list it: run stash check ${ctx.spec.metadata.name}`]
    .filter(Boolean)
    .join('; ');
}

function result(ctx: RunContext, kind: RunResult['kind'], startedAt: Date, outcome: Outcome, fileGroups: FileGroupResult[], error?: string): RunResult {
  const finishedAt = (ctx.now ?? (() => new Date()))();
  return {
    spec: ctx.spec.metadata.name,
    run: ctx.run,
    slot: ctx.slot?.toISOString(),
    kind,
    outcome,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    fileGroups,
    error,
  };
}

function failure(err: unknown): { outcome: Outcome; error: string } {
  return { outcome: err instanceof ConfigError ? 'config-error' : 'failed', error: errorMessage(err) };
}

/**
 * A run's time limit: its signal joined to a timer of `ctx.timeoutMs` (the spec's `timeout`),
 * so that a hung restic is stopped (SIGINT, then SIGKILL) at the limit; `label` then marks what
 * the timer interrupted as `timed-out`, not as interrupted by a person or by Fargate.
 */
function bounded(ctx: RunContext): { ctx: RunContext; label: (r: RunResult) => RunResult } {
  const ms = ctx.timeoutMs ?? runTimeoutMs(ctx.spec);
  const timer = AbortSignal.timeout(ms);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timer]) : timer;
  const label = (r: RunResult): RunResult => {
    if (!timer.aborted || ctx.signal?.aborted || r.outcome !== 'interrupted') return r;
    const limit = ctx.spec.spec.timeout ?? formatGoDuration(ms);
    return {
      ...r,
      outcome: 'timed-out',
      error: `stopped at the run's time limit (spec.timeout ${limit})${r.error ? `: ${r.error}` : ''}`,
      fileGroups: r.fileGroups.map((g) => (g.outcome === 'interrupted' ? { ...g, outcome: 'timed-out' } : g)),
    };
  };
  return { ctx: { ...ctx, signal }, label };
}

/** Backs up every fileGroup of a spec, one snapshot each, and logs one summary line per fileGroup. */
export async function runBackup(runCtx: RunContext): Promise<RunResult> {
  const { ctx, label } = bounded(runCtx);
  const startedAt = (ctx.now ?? (() => new Date()))();
  const name = ctx.spec.metadata.name;
  ctx.log.info('backup started', { spec: name, run: ctx.run, slot: ctx.slot?.toISOString() });
  let target: ResticTarget | undefined;
  try {
    target = await openTarget(ctx.spec, ctx.secret, ctx.mode);
    const groups: FileGroupResult[] = [];
    for (const [i, group] of ctx.spec.spec.fileGroups.entries()) {
      if (ctx.signal?.aborted) {
        groups.push({ path: group.path, outcome: 'interrupted', error: 'not started: the run was interrupted' });
        continue;
      }
      const fg = await backupFileGroup(ctx, target, group, i);
      groups.push(fg);
      const { path, outcome, error, ...numbers } = fg;
      const line = { spec: name, run: ctx.run, fileGroup: path, outcome, ...numbers, ...(error ? { error } : {}) };
      if (outcome === 'succeeded') ctx.log.info('fileGroup backed up', line);
      else ctx.log.error('fileGroup backup failed', line);
    }
    const outcome = worstOutcome(groups.map((g) => g.outcome));
    const error = groups.filter((g) => g.error).map((g) => `${g.path}: ${g.error}`).join('; ') || undefined;
    return finish(ctx, label(result(ctx, 'backup', startedAt, outcome, groups, error)));
  } catch (err) {
    const f = failure(err);
    return finish(ctx, label(result(ctx, 'backup', startedAt, f.outcome, [], f.error)));
  } finally {
    await target?.cleanup();
  }
}

function finish(ctx: RunContext, r: RunResult): RunResult {
  const dataAdded = r.kind === 'backup' ? { dataAdded: r.fileGroups.reduce((n, g) => n + (g.dataAdded ?? 0), 0) } : {};
  const line = { spec: r.spec, run: r.run, kind: r.kind, outcome: r.outcome, durationMs: r.durationMs, ...dataAdded, ...(r.error ? { error: r.error } : {}) };
  if (r.outcome === 'succeeded') ctx.log.info('run finished', line);
  else ctx.log.error('run finished', line);
  return r;
}

/** `restic check`, optionally reading a subset of the data. A failed check is a failed run. */
export async function runCheck(runCtx: RunContext & { readonly readDataSubset?: string }): Promise<RunResult> {
  const { ctx, label } = bounded(runCtx);
  const startedAt = (ctx.now ?? (() => new Date()))();
  ctx.log.info('check started', { spec: ctx.spec.metadata.name, run: ctx.run });
  let target: ResticTarget | undefined;
  try {
    target = await openTarget(ctx.spec, ctx.secret, ctx.mode);
    const args = ['check', ...(runCtx.readDataSubset ? [`--read-data-subset=${runCtx.readDataSubset}`] : [])];
    const r = await withUnlock(ctx, target, args, { binary: ctx.binary, signal: ctx.signal });
    const outcome = outcomeOf(r) === 'partial' ? 'failed' : outcomeOf(r);
    return finish(ctx, label(result(ctx, 'check', startedAt, outcome, [], outcome === 'succeeded' ? undefined : problemText(ctx.spec, target, 'check', r))));
  } catch (err) {
    const f = failure(err);
    return finish(ctx, label(result(ctx, 'check', startedAt, f.outcome, [], f.error)));
  } finally {
    await target?.cleanup();
  }
}

/** A backup and the check that rode along with it, each with its own result. */
export interface BackupAndCheck {
  readonly backup: RunResult;
  /** Absent when no check was asked for, or the run was interrupted before it. */
  readonly check?: RunResult;
}

/**
 * The one "backup, then check" path, for local mode and the task alike: the backup, then
 * (when a check fell due with it and the run was not interrupted) `restic check` as a run of
 * its own, {@link checkRunId}. A check that fails never changes the backup's result: the
 * backup is counted and its bytes published, the check is recorded as a check.
 */
export async function runBackupThenCheck(ctx: RunContext, check?: { readonly readDataSubset?: string }): Promise<BackupAndCheck> {
  // One time limit for the whole run: the check gets what the backup left of it.
  const deadline = Date.now() + (ctx.timeoutMs ?? runTimeoutMs(ctx.spec));
  const backup = await runBackup({ ...ctx, timeoutMs: deadline - Date.now() });
  if (!check || ctx.signal?.aborted || backup.outcome === 'timed-out') return { backup };
  return { backup, check: await runCheck({ ...ctx, run: checkRunId(ctx.run), readDataSubset: check.readDataSubset, timeoutMs: Math.max(1, deadline - Date.now()) }) };
}

/** The error for a restic command that did not succeed: a ConfigError for a configuration problem, else a ResticError with restic's words. */
export function resticFailure(spec: Restic, target: ResticTarget, what: string, r: ResticOutcome): StashError {
  const problem = configProblem(spec, target, r);
  return problem ? new ConfigError(problem) : new ResticError(`${what}: ${outputTail(r)}`, r.exitCode, r.output);
}

/** One restic snapshot, as `restic snapshots --json` prints it. */
export interface Snapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly hostname: string;
  readonly paths: string[];
  readonly tags?: string[];
  readonly [key: string]: unknown;
}

/**
 * The spec's snapshots (its restic host's only, see {@link resticHost}), oldest first; with
 * `allHosts`, every snapshot in its repository (to find those of hosts no spec claims).
 */
export async function listSnapshots(ctx: Omit<RunContext, 'run' | 'log'> & { log?: RunLog; allHosts?: boolean }): Promise<Snapshot[]> {
  const target = await openTarget(ctx.spec, ctx.secret, ctx.mode);
  try {
    const hosts = ctx.allHosts ? [] : ['--host', resticHost(ctx.spec)];
    const r = await runRestic(target, ['snapshots', '--json', ...hosts], { binary: ctx.binary, signal: ctx.signal });
    if (r.ending !== 'succeeded') {
      if (isMissingRepository(r)) return [];
      throw resticFailure(ctx.spec, target, `restic snapshots failed for ${ctx.spec.metadata.name} at ${target.display}`, r);
    }
    return (r.json.find(Array.isArray) ?? []) as Snapshot[];
  } finally {
    await target.cleanup();
  }
}
