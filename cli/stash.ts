/**
 * What the commands ask of a mode, written once: local mode (`LocalEngine`: folders, restic
 * on this machine) and a deployed stack (`RemoteStash`: S3 and Secrets Manager) both extend
 * {@link SpecStash}, and differ only in where their stores are and what each adds
 * (running and scheduling here; launching on AWS). `cli/mode.ts` chooses one.
 */
import { SpecError, type SpecProblem } from '../core/errors';
import { appearedAt, findOverdue } from '../core/record';
import { RESTIC_HOST_ANNOTATION, resticHost } from '../core/host';
import { similarNames } from '../core/names';
import type { Clock, LoadedSpec, RunStore, SpecStore, StatusStore } from '../core/ports';
import { repositoryKey } from '../core/repository';
import { SpecCache, type SpecLoadResult } from '../core/spec';
import { statusRows, type StatusRow } from '../core/status';
import type { VolumeMode } from '../core/volumes';
import type { Restic } from '../schemas/restic';
import type { Secret } from '../schemas/secret';
import type { RunResult } from '../schemas/status';
import { restoreSpec, type RestoredGroup, type RestoreRequest } from '../runner/restore';
import { listSnapshots, type ProgressEvent, type RunLog, type Snapshot } from '../runner/run';

/** How a restore on this machine runs. */
export interface RestoreRunOptions {
  /** Stops restic; the target is left as it was. */
  readonly signal?: AbortSignal;
  /** @default the mode's {@link SpecStash.runLog} */
  readonly log?: RunLog;
}

/** One record of a run log (`stash logs`): a JSON line as the runner and the functions write it. */
export interface LogRecord {
  /** ISO 8601. */
  readonly timestamp: string;
  readonly level?: string;
  readonly message: string;
  readonly spec?: string;
  readonly run?: string;
  /** Where it was logged, when not the spec's own run log: a function's log group. */
  readonly source?: string;
  readonly [key: string]: unknown;
}

/** Which records `stash logs` wants. */
export interface LogQuery {
  /** One run (and the check that rode along with it, `<run>-check`). */
  readonly run?: string;
  /** Only records at or after this time. */
  readonly since?: Date;
  /** Keep reading new records until `signal` aborts (or `stop` says so). */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** Asked between reads when following: true stops (stdout's reader has gone). */
  readonly stop?: () => boolean;
  /** How often a follower looks for new records. */
  readonly pollMs?: number;
}

/** Whether a record belongs to `run` (or the check that rode along with it). */
export function ofRun(record: { readonly run?: unknown }, run: string | undefined): boolean {
  return run === undefined || record.run === run || record.run === `${run}-check`;
}

/** Snapshots of hosts that no spec of a repository claims (a spec renamed without its host). */
export interface UnclaimedHost {
  readonly host: string;
  readonly count: number;
  readonly paths: readonly string[];
  /** The newest snapshot's time. */
  readonly latest: string;
}

/** A spec's snapshots, and those of hosts in its repository that no spec claims. */
export interface RepositorySnapshots {
  /** The spec's own (its restic host's), oldest first. */
  readonly snapshots: Snapshot[];
  readonly host: string;
  readonly unclaimed: readonly UnclaimedHost[];
}

/** The warning for snapshots no spec claims, saying how a renamed spec keeps them. */
export function unclaimedWarning(name: string, u: UnclaimedHost): string {
  return (
    `the repository of ${name} also holds ${u.count} snapshot${u.count === 1 ? '' : 's'} of host "${u.host}" (${u.paths.join(', ')}; newest ${u.latest}) that no spec claims, ` +
    `so no retention policy applies to them. If ${name} was renamed from ${u.host}, keep them as its own with the annotation ` +
    `metadata.annotations."${RESTIC_HOST_ANNOTATION}": ${u.host}`
  );
}

/** The operations every command may use, in either mode. */
export interface Stash {
  /** Where the spec documents are read from. */
  readonly specStore: SpecStore;
  /** Every spec, validated as the dispatcher validates them; unchanged documents are not parsed again. `signal` stops the reading. */
  load(signal?: AbortSignal): Promise<SpecLoadResult>;
  /** One valid spec by name; a SpecError naming the specs and the files with errors when there is none. */
  spec(name: string): Promise<LoadedSpec>;
  /** Every spec with its status and next backup, and statuses whose spec is gone; a status that cannot be read is its row's `statusError`. */
  status(signal?: AbortSignal): Promise<StatusRow[]>;
  /** {@link status}, with overdue specs marked, and the problems of spec files that are not valid. */
  statusReport(signal?: AbortSignal): Promise<{ rows: StatusRow[]; problems: readonly SpecProblem[] }>;
  /** The spec's snapshots, read by restic on this machine; `signal` stops restic. */
  snapshots(name: string, signal?: AbortSignal): Promise<Snapshot[]>;
  /** Restores the spec's fileGroups on this machine as `request` asks (see {@link restoreSpec}). */
  restore(name: string, request: RestoreRequest, options?: RestoreRunOptions): Promise<RestoredGroup[]>;
  /** The identity of the spec's repository in this mode (`local:/srv/backup`, `s3:https://.../bucket/prefix`). */
  repositoryOf(spec: Restic): string;
  /** The spec's snapshots and the hosts in its repository that no spec claims (one restic call). */
  repositorySnapshots(name: string, signal?: AbortSignal): Promise<RepositorySnapshots>;
  /** The spec's runs, newest first, at most `limit`: also of a spec that is gone (renamed, deleted). */
  history(name: string, limit?: number): Promise<RunResult[]>;
  /** Every record of the spec's run logs that `query` wants, oldest first, to `emit`. */
  logs(name: string, query: LogQuery, emit: (record: LogRecord) => void): Promise<void>;
}

/**
 * The part of {@link Stash} that is the same in both modes. A mode says where its specs,
 * statuses and secrets are, how restic reaches the spec's volumes and where a run logs.
 */
export abstract class SpecStash implements Stash {
  abstract readonly specStore: SpecStore;
  abstract readonly statusStore: StatusStore;
  /** Every run's result. */
  abstract readonly runStore: RunStore;
  /** The specs' location as errors name it: the folders, or `s3://bucket/prefix`. */
  protected abstract readonly specsSource: string;
  protected abstract readonly clock: Clock;
  /** How restic reaches the spec's volumes. */
  protected abstract readonly mode: VolumeMode;
  /** The restic binary; default `restic` on the PATH. */
  protected abstract readonly binary: string | undefined;
  /** The specs read so far: unchanged documents are not parsed again. */
  protected readonly cache = new SpecCache();

  /** The spec's repository secret (undefined when there is none: restic's target says so). */
  protected abstract secretOf(spec: Restic): Promise<Secret | undefined>;

  /** The log of one spec's run or restore. */
  abstract runLog(name: string): RunLog;

  abstract logs(name: string, query: LogQuery, emit: (record: LogRecord) => void): Promise<void>;

  async load(signal?: AbortSignal): Promise<SpecLoadResult> {
    return this.cache.load(await this.specStore.documents(signal));
  }

  async spec(name: string): Promise<LoadedSpec> {
    const loaded = await this.load();
    const found = loaded.specs.find((s) => s.spec.metadata.name === name);
    if (found) return found;
    throw this.noSpec(name, loaded);
  }

  /** The error for a spec name that is not there: the files with errors, and the names that look like it. */
  private noSpec(name: string, loaded: SpecLoadResult, others: readonly string[] = []): SpecError {
    const hint = loaded.problems.length ? ` (${new Set(loaded.problems.map((p) => p.source)).size} spec file(s) have errors: run stash validate)` : '';
    const similar = similarNames(name, [...loaded.specs.map((s) => s.spec.metadata.name), ...others]);
    const meant = similar.length ? `; did you mean ${similar.slice(0, 3).map((s) => `"${s}"`).join(' or ')}?` : '';
    return new SpecError([{ source: this.specsSource, path: '', message: `no valid spec named "${name}"${hint}${meant}` }]);
  }

  /** The identity of the spec's repository in this mode (`local:/srv/backup`, `s3:https://.../bucket/prefix`). */
  repositoryOf(spec: Restic): string {
    return repositoryKey(spec, this.mode);
  }

  async history(name: string, limit?: number): Promise<RunResult[]> {
    const runs = await this.runStore.list(name, { limit });
    if (runs.length) return runs;
    // No runs: a spec that has not run yet is fine; a name that is neither is a typo.
    const loaded = await this.load();
    if (loaded.specs.some((s) => s.spec.metadata.name === name)) return runs;
    throw this.noSpec(name, loaded);
  }

  async repositorySnapshots(name: string, signal?: AbortSignal): Promise<RepositorySnapshots> {
    const { spec } = await this.spec(name);
    const all = await listSnapshots({ spec, secret: await this.secretOf(spec), mode: this.mode, binary: this.binary, signal, allHosts: true });
    const host = resticHost(spec);
    // The hosts of every spec on the same repository are claimed.
    const repository = repositoryKey(spec, this.mode);
    const claimed = new Set(
      (await this.load()).specs.flatMap(({ spec: s }) => {
        try {
          return repositoryKey(s, this.mode) === repository ? [resticHost(s)] : [];
        } catch {
          return [];
        }
      }),
    );
    const others = new Map<string, Snapshot[]>();
    for (const s of all) if (!claimed.has(s.hostname)) others.set(s.hostname, [...(others.get(s.hostname) ?? []), s]);
    const unclaimed = [...others].map(([h, snaps]) => ({
      host: h,
      count: snaps.length,
      paths: [...new Set(snaps.flatMap((s) => s.paths))].sort(),
      latest: snaps.reduce((a, s) => (Date.parse(s.time) > Date.parse(a) ? s.time : a), snaps[0].time),
    }));
    return { snapshots: all.filter((s) => s.hostname === host), host, unclaimed };
  }

  async status(signal?: AbortSignal): Promise<StatusRow[]> {
    return (await this.statusReport(signal)).rows;
  }

  /** {@link status}, each row with whether it is overdue, and the problems of spec files that are not valid. */
  async statusReport(signal?: AbortSignal): Promise<{ rows: StatusRow[]; problems: readonly SpecProblem[] }> {
    const [documents, statuses] = await Promise.all([this.specStore.documents(signal), this.statusStore.list()]);
    const loaded = this.cache.load(documents);
    const now = this.clock.now();
    const overdue = new Map(findOverdue(loaded.specs, new Map(statuses.map((s) => [s.name, s])), now, appearedAt(documents, loaded)).map((o) => [o.spec, o]));
    const rows = statusRows(loaded.specs, statuses, now, this.statusStore.unreadable).map((r) => {
      const o = overdue.get(r.name);
      return o ? { ...r, overdue: { since: o.since, dueBy: o.dueBy } } : r;
    });
    return { rows, problems: loaded.problems };
  }

  async snapshots(name: string, signal?: AbortSignal): Promise<Snapshot[]> {
    const { spec } = await this.spec(name);
    return listSnapshots({ spec, secret: await this.secretOf(spec), mode: this.mode, binary: this.binary, signal });
  }

  async restore(name: string, request: RestoreRequest, options: RestoreRunOptions = {}): Promise<RestoredGroup[]> {
    const { spec } = await this.spec(name);
    const secret = await this.secretOf(spec);
    return restoreSpec({ ...request, spec, secret, mode: this.mode, log: options.log ?? this.runLog(name), signal: options.signal, binary: this.binary, onProgress: this.progressOf(name) });
  }

  /** Where restic's progress for the spec goes; none by default. */
  protected progressOf(name: string): ((event: ProgressEvent) => void) | undefined {
    void name;
    return undefined;
  }
}
