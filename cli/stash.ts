/**
 * What the commands ask of a mode, written once: local mode (`LocalEngine`: folders, restic
 * on this machine) and a deployed stack (`RemoteStash`: S3 and Secrets Manager) both extend
 * {@link SpecStash}, and differ only in where their stores are and what each adds
 * (running and scheduling here; launching on AWS). `cli/mode.ts` chooses one.
 */
import { SpecError } from '../core/errors';
import type { Clock, LoadedSpec, SpecStore, StatusStore } from '../core/ports';
import { SpecCache, type SpecLoadResult } from '../core/spec';
import { statusRows, type StatusRow } from '../core/status';
import type { VolumeMode } from '../core/volumes';
import type { Restic } from '../schemas/restic';
import type { Secret } from '../schemas/secret';
import { restoreSpec, type RestoredGroup, type RestoreRequest } from '../runner/restore';
import { listSnapshots, type RunLog, type Snapshot } from '../runner/run';

/** How a restore on this machine runs. */
export interface RestoreRunOptions {
  /** Stops restic; the target is left as it was. */
  readonly signal?: AbortSignal;
  /** @default the mode's {@link SpecStash.runLog} */
  readonly log?: RunLog;
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
  /** The spec's snapshots, read by restic on this machine; `signal` stops restic. */
  snapshots(name: string, signal?: AbortSignal): Promise<Snapshot[]>;
  /** Restores the spec's fileGroups on this machine as `request` asks (see {@link restoreSpec}). */
  restore(name: string, request: RestoreRequest, options?: RestoreRunOptions): Promise<RestoredGroup[]>;
}

/**
 * The part of {@link Stash} that is the same in both modes. A mode says where its specs,
 * statuses and secrets are, how restic reaches the spec's volumes and where a run logs.
 */
export abstract class SpecStash implements Stash {
  abstract readonly specStore: SpecStore;
  abstract readonly statusStore: StatusStore;
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

  async load(signal?: AbortSignal): Promise<SpecLoadResult> {
    return this.cache.load(await this.specStore.documents(signal));
  }

  async spec(name: string): Promise<LoadedSpec> {
    const loaded = await this.load();
    const found = loaded.specs.find((s) => s.spec.metadata.name === name);
    if (found) return found;
    const hint = loaded.problems.length ? ` (${new Set(loaded.problems.map((p) => p.source)).size} spec file(s) have errors: run stash validate)` : '';
    throw new SpecError([{ source: this.specsSource, path: '', message: `no valid spec named "${name}"${hint}` }]);
  }

  async status(signal?: AbortSignal): Promise<StatusRow[]> {
    const [loaded, statuses] = await Promise.all([this.load(signal), this.statusStore.list()]);
    return statusRows(loaded.specs, statuses, this.clock.now(), this.statusStore.unreadable);
  }

  async snapshots(name: string, signal?: AbortSignal): Promise<Snapshot[]> {
    const { spec } = await this.spec(name);
    return listSnapshots({ spec, secret: await this.secretOf(spec), mode: this.mode, binary: this.binary, signal });
  }

  async restore(name: string, request: RestoreRequest, options: RestoreRunOptions = {}): Promise<RestoredGroup[]> {
    const { spec } = await this.spec(name);
    const secret = await this.secretOf(spec);
    return restoreSpec({ ...request, spec, secret, mode: this.mode, log: options.log ?? this.runLog(name), signal: options.signal, binary: this.binary });
  }
}
