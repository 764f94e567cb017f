/**
 * What core needs from the world, as small interfaces. `cli/local` implements them on folders
 * and child processes; `aws/` on S3, Secrets Manager and ECS.
 */
import type { Restic } from '../schemas/restic';
import type { Secret } from '../schemas/secret';
import type { RunResult, SpecStatus } from '../schemas/status';

/** One spec document as stored: a file, or an S3 object at a version. */
export interface SpecDocument {
  /** Where it came from: a file path or `s3://bucket/key`; used in every error message. */
  readonly source: string;
  /** The store's version of it (S3 VersionId or ETag, a file's mtime+size); absent if unknown. */
  readonly version?: string;
  readonly text: string;
  /**
   * The document's YAML already read into plain values, from a cache of an earlier parse of
   * this exact version (the dispatcher's compiled specs); when set, `text` is not read.
   */
  readonly values?: readonly YamlValue[];
}

/** One YAML document of a stored document as a plain value, with its source (`FILE#i` when the file holds several). */
export interface YamlValue {
  readonly source: string;
  readonly value: unknown;
}

/** Lists and reads spec documents. */
export interface SpecStore {
  /** Every spec document in the store, in a stable order. */
  documents(): Promise<SpecDocument[]>;
}

/** Reads secrets by `storageSecretName`. */
export interface SecretStore {
  /** The secret, or undefined when there is none of that name. */
  get(name: string): Promise<Secret | undefined>;
}

/** Reads and writes `status/<name>.json`. */
export interface StatusStore {
  get(name: string): Promise<SpecStatus | undefined>;
  list(): Promise<SpecStatus[]>;
  /**
   * Read-modify-write of one spec's status; `change` gets the current status (a fresh one
   * when there is none) and returns the new one.
   */
  update(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A spec that passed validation, with where it came from. */
export interface LoadedSpec {
  readonly spec: Restic;
  readonly source: string;
  readonly version?: string;
  readonly warnings: readonly string[];
}

/** Options for one run of the runner. */
export interface RunRequest {
  readonly spec: LoadedSpec;
  /** Run id, unique per run (spec name + slot, or a random id for runs started by hand). */
  readonly run: string;
  /** The scheduled time, for scheduled runs. */
  readonly slot?: Date;
  readonly kind?: 'backup' | 'check';
  /** For checks: `--read-data-subset`. */
  readonly readDataSubset?: string;
  readonly signal?: AbortSignal;
}

/** Runs a spec's backup to completion; local mode uses a child process, AWS a Fargate task. */
export interface Runner {
  run(request: RunRequest): Promise<RunResult>;
}
