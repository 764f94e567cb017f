/**
 * The runner task's environment: what the dispatcher passes in RunTask's container overrides
 * (references only: spec key and version, secret reference, run id; never a secret value),
 * what the task parses at start, and what the record function reads back from a stopped
 * task. The variable names are written here and nowhere else.
 */
import type { RunKind } from './status';
import * as z from './zod';

/** One run, as the dispatcher describes it to its task. */
export interface TaskRun {
  readonly spec: string;
  readonly run: string;
  readonly kind: RunKind;
  readonly slot?: string;
  /** The spec's object key in the config bucket, and its version. */
  readonly specKey?: string;
  readonly specVersion?: string;
  /** Where the task reads the secret (a Secrets Manager ARN). */
  readonly secretRef?: string;
  readonly alsoCheck?: boolean;
  readonly readDataSubset?: string;
  /** A backup may `restic init` a repository that is not there (only one that never existed). */
  readonly mayInitialise?: boolean;
  readonly recoveryKey?: string;
  readonly recoveryName?: string;
}

/** What the task knows of its run once its environment is read: every reference it needs is there. */
export interface TaskEnv extends TaskRun {
  readonly specKey: string;
  readonly secretRef: string;
  /**
   * Restore: the root the fileGroup paths are restored under. On AWS `/`: each recovered volume
   * is mounted at its `mountPath`, so fileGroup `/source/data` lands in the volume mounted there.
   */
  readonly restoreRoot: string;
}

/** The task's environment, as the task parses it into a {@link TaskEnv}. */
export const TaskEnvSchema = z.pipe(
  z.object({
    STASH_SPEC_NAME: z.string().check(z.minLength(1)),
    STASH_SPEC_KEY: z.string().check(z.minLength(1)),
    STASH_SPEC_VERSION: z.optional(z.string()),
    STASH_SECRET_ID: z.string().check(z.minLength(1)),
    STASH_RUN_ID: z.string().check(z.minLength(1)),
    STASH_SLOT: z.optional(z.iso.datetime()),
    STASH_RUN_KIND: z._default(z.enum(['backup', 'check', 'restore']), 'backup'),
    STASH_ALSO_CHECK: z._default(z.enum(['true', 'false']), 'false'),
    STASH_READ_DATA_SUBSET: z.optional(z.string()),
    STASH_MAY_INITIALISE: z._default(z.enum(['true', 'false']), 'false'),
    STASH_RECOVERY_KEY: z.optional(z.string()),
    STASH_RECOVERY_NAME: z.optional(z.string()),
    STASH_RESTORE_ROOT: z._default(z.string(), '/'),
  }),
  z.transform(
    (e): TaskEnv => ({
      spec: e.STASH_SPEC_NAME,
      run: e.STASH_RUN_ID,
      kind: e.STASH_RUN_KIND,
      slot: e.STASH_SLOT,
      specKey: e.STASH_SPEC_KEY,
      specVersion: e.STASH_SPEC_VERSION,
      secretRef: e.STASH_SECRET_ID,
      alsoCheck: e.STASH_ALSO_CHECK === 'true',
      readDataSubset: e.STASH_READ_DATA_SUBSET,
      mayInitialise: e.STASH_MAY_INITIALISE === 'true',
      recoveryKey: e.STASH_RECOVERY_KEY,
      recoveryName: e.STASH_RECOVERY_NAME,
      restoreRoot: e.STASH_RESTORE_ROOT,
    }),
  ),
);

/** A name and value, as RunTask's `environment` takes them. */
export interface EnvironmentVariable {
  readonly name: string;
  readonly value: string;
}

/** The container overrides' environment for a run; unset values are left out. */
export function taskEnvironment(run: TaskRun): EnvironmentVariable[] {
  const vars: [string, string | undefined][] = [
    ['STASH_SPEC_NAME', run.spec],
    ['STASH_SPEC_KEY', run.specKey],
    ['STASH_SPEC_VERSION', run.specVersion],
    ['STASH_SECRET_ID', run.secretRef],
    ['STASH_RUN_ID', run.run],
    ['STASH_SLOT', run.slot],
    ['STASH_RUN_KIND', run.kind],
    ['STASH_ALSO_CHECK', run.alsoCheck ? 'true' : undefined],
    ['STASH_READ_DATA_SUBSET', run.readDataSubset],
    ['STASH_MAY_INITIALISE', run.mayInitialise ? 'true' : undefined],
    ['STASH_RECOVERY_KEY', run.recoveryKey],
    ['STASH_RECOVERY_NAME', run.recoveryName],
  ];
  return vars.filter((v): v is [string, string] => v[1] !== undefined && v[1] !== '').map(([name, value]) => ({ name, value }));
}

/**
 * The run a task's environment describes, as far as it does: what the record function reads
 * back from a stopped task's overrides. Undefined fields were not set.
 */
export function taskRunOf(env: ReadonlyMap<string, string>): Partial<TaskRun> {
  const get = (name: string) => env.get(name) || undefined;
  const kind = get('STASH_RUN_KIND');
  return {
    spec: get('STASH_SPEC_NAME'),
    run: get('STASH_RUN_ID'),
    kind: kind === 'check' || kind === 'restore' ? kind : 'backup',
    slot: get('STASH_SLOT'),
    specKey: get('STASH_SPEC_KEY'),
    specVersion: get('STASH_SPEC_VERSION'),
    secretRef: get('STASH_SECRET_ID'),
    alsoCheck: get('STASH_ALSO_CHECK') === 'true' || undefined,
    readDataSubset: get('STASH_READ_DATA_SUBSET'),
    mayInitialise: get('STASH_MAY_INITIALISE') === 'true' || undefined,
    recoveryKey: get('STASH_RECOVERY_KEY'),
    recoveryName: get('STASH_RECOVERY_NAME'),
  };
}
