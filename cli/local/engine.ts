/**
 * Local mode: the same core as on AWS, with folders for stores and this process for the
 * runner (restic is the child process). `stash backup`, `stash run` and the demo all go
 * through {@link LocalEngine}.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Restic } from '../../schemas/restic';
import type { Secret } from '../../schemas/secret';
import type { RunResult } from '../../schemas/status';
import { ConfigError, errorMessage, formatProblem, SecretError, SpecError, type SpecProblem } from '../../core/errors';
import { repositoryDigest, repositoryHistory, repositoryKey } from '../../core/repository';
import type { Clock, SpecStore, StatusStore, StoredSecret } from '../../core/ports';
import { systemClock } from '../../core/ports';
import { manualRunId, slotRunId } from '../../core/run-id';
import { plan, planChecks } from '../../core/plan';
import { applyRunResult } from '../../core/status';
import { decideTick, type Launch, type TickDecision } from '../../core/tick';
import type { VolumeMode } from '../../core/volumes';
import { runBackupThenCheck, runCheck, type ProgressEvent, type RunLog, type Snapshot } from '../../runner/run';
import type { RestoredGroup, RestoreRequest } from '../../runner/restore';
import { humanLine } from '../present';
import { ofRun, SpecStash, type LogQuery, type LogRecord, type RepositorySnapshots, type RestoreRunOptions } from '../stash';
import { describeHolder, LockBusyError, LockDir, type HeldLock } from './locks';
import { FolderRunStore, FolderSecretStore, FolderSpecStore, FolderStatusStore } from './stores';

/** Where local mode keeps things. */
export interface LocalOptions {
  /** Spec files or folders. */
  readonly specs: readonly string[];
  /** Folder of secrets (`<name>/<KEY>` files or `<name>.json`). */
  readonly secrets: string;
  /** State folder: status, logs, the scheduler's watermark, emptyDir volumes. Default `./.stash`. */
  readonly state: string;
  /** The restic binary. */
  readonly binary?: string;
  readonly clock?: Clock;
}

/**
 * A run that was not started: its spec is already running, or its scheduled slot has run
 * already. The scheduler records it as a skip; `stash backup` reports it and exits 1.
 */
export class RunRefusedError extends SpecError {
  constructor(source: string, readonly reason: string) {
    super([{ source, path: '', message: reason }]);
  }
}

/** Receives what the engine has to say to a person. */
export interface EngineOutput {
  line(text: string): void;
  error(text: string): void;
  /** A run log record for a person (the CLI's {@link Output} chooses what to show); default one line each. */
  record?(level: string, message: string, extra?: Record<string, unknown>): void;
  /** restic's progress for one of the spec's fileGroups (the CLI draws it live on a terminal). */
  progress?(spec: string, event: ProgressEvent): void;
}

/** restic's words for a password that does not open the repository (0.14's text, 0.17+'s exit 12 message, ours). */
const WRONG_PASSWORD = /wrong password|no key found|does not open the repository/i;

/**
 * The hint for a wrong password whose secret ends with a newline (`echo pw > RESTIC_PASSWORD`,
 * or `kubectl create secret --from-file` of such a file): restic takes the newline as part of
 * the password. Undefined when `error` is not a wrong password or the value has no newline.
 */
export function newlineHint(stored: StoredSecret | undefined, error: string | undefined): string | undefined {
  const value = stored?.secret.RESTIC_PASSWORD;
  if (!value || !/\r?\n$/.test(value) || !error || !WRONG_PASSWORD.test(error)) return undefined;
  const file = stored.ref.endsWith('.json') || /\.ya?ml$/.test(stored.ref) ? `RESTIC_PASSWORD in ${stored.ref}` : join(stored.ref, 'RESTIC_PASSWORD');
  return `${file} ends with a newline, and restic takes it as part of the password. If the repository's password has none, write it without one: printf '%s' 'PASSWORD' > FILE (or kubectl create secret --from-literal).`;
}

function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Local mode's {@link SpecStash}: specs, secrets and statuses in folders, restic run here;
 * adds running a spec now ({@link runNow}) and the scheduler's tick ({@link tick}).
 */
export class LocalEngine extends SpecStash {
  readonly specStore: SpecStore;
  readonly secretStore: FolderSecretStore;
  readonly statusStore: StatusStore;
  /** Every run's result (`<state>/runs/<spec>/<run>.json`): `stash history`. */
  readonly runStore: FolderRunStore;
  readonly stateDir: string;
  protected readonly specsSource: string;
  protected readonly clock: Clock;
  protected readonly mode: VolumeMode;
  protected readonly binary: string | undefined;
  private readonly reported = new Set<string>();
  /** The locks that serialise runs across processes (`<state>/locks`). */
  readonly locks: LockDir;
  /** The last tick of this process: the watermark when the file cannot be written. */
  private lastTick: Date | undefined;

  constructor(
    private readonly options: LocalOptions,
    private readonly out: EngineOutput,
  ) {
    super();
    this.stateDir = resolve(options.state);
    this.specStore = new FolderSpecStore(options.specs);
    this.secretStore = new FolderSecretStore(options.secrets);
    // A status is bookkeeping: one that cannot be read or saved is reported, and the run goes on.
    this.statusStore = new FolderStatusStore(this.stateDir, { report: (m) => out.error(m) });
    this.runStore = new FolderRunStore(this.stateDir);
    this.specsSource = options.specs.join(', ');
    this.clock = options.clock ?? systemClock;
    this.mode = { kind: 'local', stateDir: this.stateDir };
    this.binary = options.binary;
    this.locks = new LockDir(this.stateDir);
  }

  /** The spec's secret; a SecretError saying where it was looked for when there is none. */
  protected async secretOf(spec: Restic): Promise<Secret> {
    return (await this.storedSecret(spec)).secret;
  }

  private async storedSecret(spec: Restic): Promise<StoredSecret> {
    const name = spec.spec.backend.storageSecretName;
    const found = await this.secretStore.get(name);
    if (!found) throw new SecretError(await this.secretStore.notFound(name));
    return found;
  }

  /** A wrong password's error, with the hint when the password ends with a newline. */
  private async explained(spec: Restic, err: unknown): Promise<unknown> {
    const hint = newlineHint(await this.secretStore.get(spec.spec.backend.storageSecretName).catch(() => undefined), errorMessage(err));
    return hint ? new ConfigError(`${errorMessage(err)}\nhint: ${hint}`, { cause: err }) : err;
  }

  override async snapshots(name: string, signal?: AbortSignal): Promise<Snapshot[]> {
    try {
      return await super.snapshots(name, signal);
    } catch (err) {
      throw await this.explained((await this.spec(name)).spec, err);
    }
  }

  override async repositorySnapshots(name: string, signal?: AbortSignal): Promise<RepositorySnapshots> {
    try {
      return await super.repositorySnapshots(name, signal);
    } catch (err) {
      throw await this.explained((await this.spec(name)).spec, err);
    }
  }

  override async restore(name: string, request: RestoreRequest, options?: RestoreRunOptions): Promise<RestoredGroup[]> {
    try {
      return await super.restore(name, request, options);
    } catch (err) {
      throw await this.explained((await this.spec(name)).spec, err);
    }
  }

  /** Restores report progress to the output, as runs do. */
  protected override progressOf(name: string): ((event: ProgressEvent) => void) | undefined {
    const out = this.out;
    return out.progress && ((event) => out.progress!(name, event));
  }

  /** A run log that prints for a person and keeps JSON lines in `<state>/logs/<spec>.jsonl`. */
  runLog(name: string): RunLog {
    return fileRunLog(this.stateDir, name, this.out);
  }

  /**
   * The records of `<state>/logs/<name>.jsonl` that `query` wants; following, the file is read
   * again from where it was left every `pollMs` (default 500 ms). A line that is not a record
   * (cut short by a full disk) is skipped. A name with neither a log nor a spec is an error.
   */
  async logs(name: string, query: LogQuery, emit: (record: LogRecord) => void): Promise<void> {
    const file = join(this.stateDir, 'logs', `${name}.jsonl`);
    if (!(await stat(file).catch(() => undefined))) await this.spec(name);
    const since = query.since?.getTime() ?? -Infinity;
    let offset = 0;
    let partial = '';
    for (;;) {
      const handle = await open(file, 'r').catch(() => undefined);
      if (handle) {
        try {
          const { size } = await handle.stat();
          if (size < offset) offset = 0; // the file was replaced
          const buffer = Buffer.alloc(size - offset);
          if (buffer.length) await handle.read(buffer, 0, buffer.length, offset);
          offset = size;
          const lines = (partial + buffer.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            const record = parseRecord(line);
            if (record && Date.parse(record.timestamp) >= since && ofRun(record, query.run)) emit(record);
          }
        } finally {
          await handle.close();
        }
      }
      if (!query.follow || query.signal?.aborted || query.stop?.()) return;
      await new Promise<void>((done) => {
        const t = setTimeout(done, query.pollMs ?? 500);
        query.signal?.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
      });
      if (query.signal?.aborted || query.stop?.()) return;
    }
  }

  /**
   * Runs one backup (or check) of a spec now and records the result. Runs are serialised
   * across processes by two locks: the spec's own (a spec already running is refused with
   * who runs it, and a scheduled slot that already ran is not run again) and its
   * repository's (a run of another spec on the same repository is waited for).
   */
  async runNow(
    name: string,
    options: { slot?: Date; kind?: 'backup' | 'check'; alsoCheck?: boolean; signal?: AbortSignal; readDataSubset?: string; init?: boolean } = {},
  ): Promise<RunResult> {
    const loaded = await this.spec(name);
    const kind = options.kind ?? 'backup';
    const run = options.slot ? slotRunId(name, options.slot, kind) : manualRunId(name, this.clock.now(), kind);
    let specLock: HeldLock;
    try {
      specLock = await this.locks.acquire(`spec-${name}`, { run, spec: name }, { wait: false });
    } catch (err) {
      if (!(err instanceof LockBusyError)) throw err;
      throw new RunRefusedError(loaded.source, `${name} is already running (${err.holder ? describeHolder(err.holder) : 'another stash process'})`);
    }
    try {
      // A status that cannot be read cannot say the slot ran: the run goes on, and sets it aside.
      if (options.slot && kind === 'backup' && (await this.statusStore.get(name).catch(() => undefined))?.lastRun?.run === run) {
        throw new RunRefusedError(loaded.source, `${name}: the slot at ${options.slot.toISOString()} has run already (${run})`);
      }
      return await this.runLocked(loaded.spec, run, kind, options);
    } finally {
      await specLock.release();
    }
  }

  /** {@link runNow} once the spec's lock is held: the repository's lock, the run, the status. */
  private async runLocked(
    spec: Restic,
    run: string,
    kind: 'backup' | 'check',
    options: { slot?: Date; alsoCheck?: boolean; signal?: AbortSignal; readDataSubset?: string; init?: boolean },
  ): Promise<RunResult> {
    const name = spec.metadata.name;
    const now = this.clock.now();
    await this.statusStore.update(name, (s) => ({ ...s, running: { run, slot: options.slot?.toISOString(), startedAt: now.toISOString(), pid: process.pid } }));
    const log = this.runLog(name);
    let repositoryLock: HeldLock | undefined;
    let result: RunResult;
    let check: RunResult | undefined;
    try {
      const repository = repositoryKey(spec, this.mode);
      repositoryLock = await this.locks.acquire(`repository-${repositoryDigest(repository)}`, { run, spec: name }, {
        wait: true,
        signal: options.signal,
        onWait: (holder) => log.info('waiting for the repository: another run uses it', { spec: name, run, holder: holder ? describeHolder(holder) : 'another stash process' }),
      });
      // A secret that cannot be read is this run's configuration error, with the reason (never the content).
      const stored = await this.storedSecret(spec).catch((err) => {
        throw err instanceof ConfigError ? err : new ConfigError(errorMessage(err), { cause: err });
      });
      // Under the repository's lock, so that no other run can make its first backup meanwhile.
      const history = await this.repositoryHistory(spec);
      const mayInitialise = options.init === true || history === undefined;
      const ctx = {
        spec,
        secret: stored.secret,
        mode: this.mode,
        run,
        slot: options.slot,
        log: withHint(log, (error) => newlineHint(stored, error)),
        signal: options.signal,
        binary: this.options.binary,
        mayInitialise,
        repositoryHistory: history,
        onProgress: this.progressOf(name),
      };
      const readDataSubset = options.readDataSubset ?? spec.spec.check?.readDataSubset;
      if (kind === 'check') result = await runCheck({ ...ctx, readDataSubset });
      else ({ backup: result, check } = await runBackupThenCheck(ctx, options.alsoCheck ? { readDataSubset } : undefined));
    } catch (err) {
      const at = this.clock.now().toISOString();
      const outcome = options.signal?.aborted ? 'interrupted' : err instanceof ConfigError ? 'config-error' : 'failed';
      result = { spec: name, run, slot: options.slot?.toISOString(), kind, outcome, startedAt: now.toISOString(), finishedAt: at, durationMs: 0, fileGroups: [], error: errorMessage(err) };
      log.error('run finished', { spec: name, run, kind, outcome, error: result.error });
    } finally {
      await repositoryLock?.release();
    }
    // The backup first (it clears the running mark), then the check that rode along with it.
    await this.statusStore.update(name, (s) => (check ? applyRunResult(applyRunResult(s, result), check) : applyRunResult(s, result)));
    await this.keep(result, check);
    return result;
  }

  /** Adds results to the spec's history; one that cannot be written is reported, the run stands. */
  private async keep(...results: (RunResult | undefined)[]): Promise<void> {
    for (const r of results) {
      if (r) await this.runStore.put(r).catch((err) => this.out.error(`${errorMessage(err)}; the run is not in stash history`));
    }
  }

  /** Whether any spec sharing `spec`'s repository has backed up to it (see {@link repositoryHistory}). */
  private async repositoryHistory(spec: Restic): Promise<string | undefined> {
    const [loaded, statuses] = await Promise.all([this.load(), this.statusStore.list()]);
    return repositoryHistory(spec, loaded.specs.map((s) => s.spec), new Map(statuses.map((s) => [s.name, s])), this.mode);
  }

  /**
   * A due run; one another process already runs (or ran) is recorded as skipped, not run.
   * Whatever else keeps it from running is its own failure, reported, never the tick's.
   */
  private async runDue(l: Launch, signal?: AbortSignal): Promise<RunResult | undefined> {
    try {
      return await this.runNow(l.spec, { slot: l.at, kind: l.kind, alsoCheck: l.alsoCheck, signal });
    } catch (err) {
      if (err instanceof RunRefusedError) {
        this.out.line(`${l.spec}: skipped the ${l.kind} at ${l.at.toISOString()}: ${err.reason}`);
        await this.statusStore.update(l.spec, (st) => ({ ...st, lastSkipped: { slot: l.at.toISOString(), reason: err.reason } }));
        return undefined;
      }
      const at = this.clock.now().toISOString();
      const error = errorMessage(err);
      this.out.error(`${l.spec}: ${l.kind} not run: ${error}`);
      const result: RunResult = { spec: l.spec, run: slotRunId(l.spec, l.at, l.kind), slot: l.at.toISOString(), kind: l.kind, outcome: 'failed', startedAt: at, finishedAt: at, durationMs: 0, fileGroups: [], error };
      await this.keep(result);
      return result;
    }
  }

  private get watermarkFile(): string {
    return join(this.stateDir, 'scheduler.json');
  }

  /** Prints a problem once per process (each tick meets it again). */
  private reportOnce(message: string): void {
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.out.error(message);
  }

  private async readWatermark(): Promise<Date | undefined> {
    try {
      const { lastTick } = JSON.parse(await readFile(this.watermarkFile, 'utf8')) as { lastTick?: string };
      const d = lastTick ? new Date(lastTick) : undefined;
      return d && !Number.isNaN(d.getTime()) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes the watermark; a failure (a full disk) is reported and the tick goes on, remembering it in memory. */
  private async writeWatermark(at: Date): Promise<void> {
    this.lastTick = at;
    const tmp = `${this.watermarkFile}.${process.pid}.tmp`;
    try {
      await mkdir(this.stateDir, { recursive: true });
      await writeFile(tmp, `${JSON.stringify({ lastTick: at.toISOString() })}\n`);
      await rename(tmp, this.watermarkFile);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.reportOnce(`failed to write ${this.watermarkFile}: ${errorMessage(err)}; this scheduler keeps its place in memory`);
    }
  }

  /**
   * One scheduler tick: the runs due since the last tick (the last minute on the first
   * one), decided by the core, started concurrently. Resolves when the tick's runs are
   * started; `done` resolves when they have finished and never rejects: a run that cannot
   * even start (its spec gone, its status folder unwritable) is reported and counted failed.
   */
  async tick(signal?: AbortSignal): Promise<{ decision: TickDecision; problems: SpecProblem[]; done: Promise<RunResult[]> }> {
    const now = this.clock.now();
    const from = later(await this.readWatermark(), this.lastTick) ?? new Date(now.getTime() - 60_000);
    const loaded = await this.load(signal);
    for (const p of loaded.problems) this.reportOnce(`skipped: ${formatProblem(p)}`);
    const specs = loaded.specs.map((s) => s.spec);
    const due = [...plan(specs, from, now), ...planChecks(specs, from, now)];
    const statuses = new Map((await this.statusStore.list()).map((s) => [s.name, s]));
    const decision = decideTick({ specs, due, statuses, now, isRunning: (s) => isAlive(s.running?.pid) });
    await this.writeWatermark(now);
    for (const s of decision.skipped) {
      this.out.line(`${s.run.spec}: skipped the ${s.run.kind} at ${s.run.at.toISOString()}: ${s.reason}`);
      await this.statusStore.update(s.run.spec, (st) => ({ ...st, lastSkipped: { slot: s.run.at.toISOString(), reason: s.reason } }));
    }
    for (const m of decision.missed) {
      this.out.line(`${m.run.spec}: missed the ${m.run.kind} at ${m.run.at.toISOString()}: ${m.reason}`);
      await this.statusStore.update(m.run.spec, (st) => ({ ...st, lastSkipped: { slot: m.run.at.toISOString(), reason: m.reason } }));
    }
    const done = Promise.all(decision.launch.map((l) => this.runDue(l, signal))).then((results) => results.filter((r): r is RunResult => !!r));
    return { decision, problems: loaded.problems, done };
  }
}

/** The later of two times, either of which may be unknown. */
function later(a: Date | undefined, b: Date | undefined): Date | undefined {
  return a && b ? (a > b ? a : b) : (a ?? b);
}

/**
 * A run log that prints for a person on `out` and keeps JSON lines in `<stateDir>/logs/<name>.jsonl`
 * (no file without a local `stateDir`: a stack's state is in its bucket).
 * The file is a copy: when it cannot be written (a full disk, a folder in its place) that is
 * said once on `out.error`, and the run goes on.
 */
export function fileRunLog(stateDir: string | undefined, name: string, out: EngineOutput): RunLog {
  const dir = stateDir === undefined ? undefined : join(resolve(stateDir), 'logs');
  const file = dir && join(dir, `${name}.jsonl`);
  let failed = false;
  const keep = (level: string, message: string, extra?: Record<string, unknown>) => {
    if (!dir || !file) return;
    try {
      mkdirSync(dir, { recursive: true });
      appendFileSync(file, `${JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...extra })}\n`, { mode: 0o600 });
    } catch (err) {
      if (!failed) out.error(`failed to write the run log ${file}: ${errorMessage(err)}; the run goes on`);
      failed = true;
    }
  };
  const write = (level: string, message: string, extra?: Record<string, unknown>) => {
    keep(level, message, extra);
    if (out.record) out.record(level, message, extra);
    else out.line(humanLine(level, message, extra));
  };
  return {
    info: (m, e) => write('INFO', m, e),
    warn: (m, e) => write('WARN', m, e),
    error: (m, e) => write('ERROR', m, e),
  };
}

/** `log`, with a `hint` added to a failed run's last record when `hintFor` has one for its error. */
function withHint(log: RunLog, hintFor: (error: string | undefined) => string | undefined): RunLog {
  return {
    info: (m, e) => log.info(m, e),
    warn: (m, e) => log.warn(m, e),
    error: (m, e) => {
      const hint = m === 'run finished' ? hintFor(typeof e?.error === 'string' ? e.error : undefined) : undefined;
      log.error(m, hint ? { ...e, hint } : e);
    },
  };
}

/** One JSON line of a run log as a record; undefined when it is not one. */
function parseRecord(line: string): LogRecord | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    return typeof value.timestamp === 'string' && typeof value.message === 'string' ? (value as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}
