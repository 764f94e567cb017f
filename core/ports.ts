/**
 * What core needs from the world, as small interfaces, in one place. `cli/local` implements
 * them on folders and child processes; `aws/` on S3, Secrets Manager and ECS; the tests in
 * memory.
 */
import type { RecoveredVolume } from '../schemas/recovery';
import type { RecoveryStatus } from '../schemas/recovery';
import type { Restic } from '../schemas/restic';
import type { Secret } from '../schemas/secret';
import type { RunKind, RunResult, SpecStatus } from '../schemas/status';
import type { WatermarkState } from '../schemas/watermark';

// ---- specs -------------------------------------------------------------------------------------

/** One spec document as stored: a file, or an S3 object at a version. */
export interface SpecDocument {
  /** Where it came from: a file path or `s3://bucket/key`; used in every error message. */
  readonly source: string;
  /** The store's version of it (S3 VersionId or ETag, a file's mtime+size); absent if unknown. */
  readonly version?: string;
  readonly text: string;
  /** When it was last written, where the store knows it (S3 LastModified): overdue specs count from there. */
  readonly modifiedAt?: Date;
  /**
   * The document's YAML already read into plain values, from a cache of an earlier parse of
   * this exact version (the dispatcher's compiled specs); when set, `text` is not read.
   */
  readonly values?: readonly YamlValue[];
  /** Why the store could not read it (`text` is then empty): validation reports this as its only problem. */
  readonly error?: string;
}

/** One YAML document of a stored document as a plain value, with its source (`FILE#i` when the file holds several). */
export interface YamlValue {
  readonly source: string;
  readonly value: unknown;
}

/** Lists and reads spec documents. */
export interface SpecStore {
  /** Every spec document in the store, in a stable order; `signal` stops the reading. */
  documents(signal?: AbortSignal): Promise<SpecDocument[]>;
}

/** A spec that passed validation, with where it came from. */
export interface LoadedSpec {
  readonly spec: Restic;
  readonly source: string;
  readonly version?: string;
  readonly warnings: readonly string[];
}

// ---- secrets -----------------------------------------------------------------------------------

/** A secret found by name, with the reference a task uses to read it again itself. */
export interface StoredSecret {
  /** What names it without its value: a Secrets Manager ARN, a file or folder path. */
  readonly ref: string;
  readonly secret: Secret;
}

/** Reads secrets by `storageSecretName`. */
export interface SecretStore {
  /** The secret and its reference, or undefined when there is none of that name. */
  get(name: string): Promise<StoredSecret | undefined>;
}

// ---- status ------------------------------------------------------------------------------------

/** Reads and writes `status/<name>.json`. */
export interface StatusStore {
  get(name: string): Promise<SpecStatus | undefined>;
  list(): Promise<SpecStatus[]>;
  /** The statuses the last `list()` skipped because they could not be read, by name, with why (naming the file). */
  readonly unreadable?: ReadonlyMap<string, string>;
  /**
   * Read-modify-write of one spec's status; `change` gets the current status (a fresh one
   * when there is none) and returns the new one.
   */
  update(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus>;
}

/** Reads and writes `status/recoveries/<name>.json`. */
export interface RecoveryStatusStore {
  get(name: string): Promise<RecoveryStatus | undefined>;
  list(): Promise<RecoveryStatus[]>;
  /** Read-modify-write; `change` gets undefined when there is no status yet. */
  update(name: string, change: (current: RecoveryStatus | undefined) => RecoveryStatus): Promise<RecoveryStatus>;
}

/** One result per run (`runs/<spec>/<run>.json`): what the task reports and the history of a spec. */
export interface RunStore {
  /** Stores a run's result; with `ifAbsent`, only when none is stored yet. */
  put(result: RunResult, options?: { readonly ifAbsent?: boolean }): Promise<void>;
  get(spec: string, run: string): Promise<RunResult | undefined>;
  /**
   * The spec's runs, newest first (by start), at most `limit` of them (default
   * {@link DEFAULT_HISTORY_LIMIT}): only that many results are read, however many are stored.
   */
  list(spec: string, options?: { readonly limit?: number }): Promise<RunResult[]>;
}

/** How many runs {@link RunStore.list} returns unless told otherwise. */
export const DEFAULT_HISTORY_LIMIT = 50;

// ---- time --------------------------------------------------------------------------------------

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ---- the dispatcher's watermark ----------------------------------------------------------------

/** The watermark as read: its state and the store's token for a conditional write. */
export interface WatermarkRead {
  readonly state?: WatermarkState;
  readonly token?: string;
}

/** The last-tick watermark, written with compare-and-swap. */
export interface Watermark {
  read(): Promise<WatermarkRead>;
  /**
   * Writes `state` if the stored watermark is still the one read with `token` (absent
   * token: only if there is none yet). Returns the new token, or undefined when another
   * writer got there first.
   */
  write(state: WatermarkState, token: string | undefined): Promise<string | undefined>;
}

// ---- launching runs elsewhere ------------------------------------------------------------------

/** What to launch. Only references: the task reads the spec and the secret itself. */
export interface LaunchRequest {
  readonly spec: LoadedSpec;
  readonly run: string;
  readonly kind: RunKind;
  readonly slot?: Date;
  /** {@link StoredSecret.ref}, never the secret. */
  readonly secretRef: string;
  /** Run `restic check` after the backup (a check fell due in the same tick). */
  readonly alsoCheck?: boolean;
  readonly readDataSubset?: string;
  /** A backup may create the repository: nothing has backed up to it yet, or `--init` was given. */
  readonly mayInitialise?: boolean;
  /** Give up retrying (throttling, capacity) rather than wait past this; the slot stays pending. */
  readonly deadline?: Date;
  /** For restores: the Recovery document and where it restores to. */
  readonly recovery?: { readonly name: string; readonly source: string; readonly version?: string; readonly volumes: readonly RecoveredVolume[] };
}

/** How a launch went; a launcher reports failures instead of throwing them. */
export type LaunchResult =
  | { readonly launched: true; readonly taskArn: string; readonly throttled: number }
  | { readonly launched: false; readonly reason: string; readonly retryable: boolean; readonly throttled: number };

/** A task of ours that has not stopped. */
export interface RunningTask {
  readonly spec: string;
  readonly taskArn: string;
  readonly run?: string;
  readonly kind?: RunKind;
  readonly startedAt?: string;
}

/** Starts runs somewhere else (Fargate) and tells which are still going. */
export interface Launcher {
  /** Every run of ours that has not stopped yet. */
  running(): Promise<RunningTask[]>;
  launch(request: LaunchRequest): Promise<LaunchResult>;
  /** Stops a task of ours (one that outlived its time limit); `reason` is what ECS records. */
  stop(taskArn: string, reason: string): Promise<void>;
}
