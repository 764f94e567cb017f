/**
 * The one launch path, for the tick, `stash backup --remote` and restores: check the spec's
 * secret, launch through the {@link Launcher}, and mark the spec's status as running.
 */
import type { Restic } from '../schemas/restic';
import { missingSecretKeys, usesAmbientAwsCredentials } from '../schemas/secret';
import type { RunKind } from '../schemas/status';
import { errorMessage, SecretError, SpecError, StashError } from './errors';
import type { LaunchRequest, LaunchResult, Launcher, LoadedSpec, RunningTask, SecretStore, SpecDocument, StatusStore, StoredSecret } from './ports';
import { repositoryHistory } from './repository';
import { manualRunId } from './run-id';
import type { SpecCache } from './spec';

/** What happened to one slot (or one run started by hand, or one Recovery). */
export interface SlotReport {
  readonly spec: string;
  readonly kind: RunKind;
  readonly slot?: string;
  readonly run?: string;
  readonly result: 'launched' | 'already-running' | 'skipped' | 'missed' | 'failed' | 'deferred';
  readonly reason?: string;
  readonly taskArn?: string;
}

/** The ports a launch goes through. */
export interface LaunchDeps {
  readonly launcher: Launcher;
  readonly secrets: SecretStore;
  readonly statuses: StatusStore;
}

/** What a launch is asked for; the spec and the secret reference are added on the way. */
export type RunLaunch = Omit<LaunchRequest, 'spec' | 'secretRef'>;

/** What the tick hands the recovery step, so that it launches through the same path. */
export interface RecoveryContext {
  readonly documents: readonly SpecDocument[];
  readonly specs: readonly LoadedSpec[];
  readonly running: ReadonlyMap<string, RunningTask>;
  readonly now: Date;
  readonly launch: (spec: LoadedSpec, request: RunLaunch) => Promise<LaunchResult>;
}

/**
 * Checks that a spec's secret exists and holds its backend's required keys; returns it with
 * the reference the task is given. Problems name keys, never values.
 */
export async function checkSecret(spec: Restic, secrets: SecretStore): Promise<StoredSecret> {
  const name = spec.spec.backend.storageSecretName;
  let found: StoredSecret | undefined;
  try {
    found = await secrets.get(name);
  } catch (err) {
    throw new SecretError(`secret "${name}" could not be read: ${errorMessage(err)}`, { cause: err });
  }
  if (!found) throw new SecretError(`secret "${name}" does not exist`);
  const missing = missingSecretKeys(spec.spec.backend, found.secret);
  if (missing.length) throw new SecretError(`secret "${name}": ${missing.join('; ')}`);
  return found;
}

/** A memo over a secret store, so that the specs of one tick that share a secret read it once. */
export function memoSecrets(secrets: SecretStore): SecretStore {
  const seen = new Map<string, Promise<StoredSecret | undefined>>();
  return {
    get(name) {
      let hit = seen.get(name);
      if (!hit) {
        hit = secrets.get(name);
        seen.set(name, hit);
      }
      return hit;
    },
  };
}

/**
 * Launches one run: the secret checked, the launcher called, the status marked running.
 * Never throws for the launch itself: a failure is a result with its reason.
 */
export async function launchRun(deps: LaunchDeps, spec: LoadedSpec, request: RunLaunch, now: Date): Promise<LaunchResult> {
  let secret: StoredSecret;
  try {
    secret = await checkSecret(spec.spec, deps.secrets);
  } catch (err) {
    return { launched: false, reason: errorMessage(err), retryable: false, throttled: 0 };
  }
  let result: LaunchResult;
  try {
    const ambientAwsCredentials = usesAmbientAwsCredentials(spec.spec.spec.backend, secret.secret);
    result = await deps.launcher.launch({ ...request, spec, secretRef: secret.ref, ...(ambientAwsCredentials ? { ambientAwsCredentials } : {}) });
  } catch (err) {
    return { launched: false, reason: errorMessage(err), retryable: true, throttled: 0 };
  }
  if (result.launched) {
    const name = spec.spec.metadata.name;
    await deps.statuses.update(name, (s) => ({
      ...s,
      running: { run: request.run, ...(request.slot ? { slot: request.slot.toISOString() } : {}), startedAt: now.toISOString(), taskArn: result.taskArn },
    }));
  }
  return result;
}

/**
 * Launches a spec's run now (`stash backup NAME --remote`) through the same path as a tick:
 * validation, the secret check, the running check, the launcher and the running mark.
 * Throws {@link SpecError} for an unknown or invalid spec and {@link StashError} when the
 * spec is running or the launch fails.
 */
export async function launchNow(
  deps: LaunchDeps & { readonly specs: { documents(): Promise<SpecDocument[]> }; readonly cache: SpecCache },
  name: string,
  now: Date,
  kind: 'backup' | 'check' = 'backup',
  options: { readonly init?: boolean } = {},
): Promise<{ run: string; taskArn: string }> {
  const loaded = deps.cache.load(await deps.specs.documents());
  const spec = loaded.specs.find((s) => s.spec.metadata.name === name);
  if (!spec) {
    const problems = loaded.problems.filter((p) => p.message.includes(`"${name}"`) || p.source.includes(name));
    throw new SpecError(problems.length ? problems : [{ source: name, path: '', message: `no valid spec named "${name}"` }]);
  }
  const busy = (await deps.launcher.running()).find((r) => r.spec === name);
  if (busy) throw new StashError(`${name} is already running (${busy.run ?? busy.taskArn})`);
  const run = manualRunId(name, now, kind);
  const statuses = new Map((await deps.statuses.list()).map((s) => [s.name, s]));
  const mayInitialise = options.init === true || repositoryHistory(spec.spec, loaded.specs.map((s) => s.spec), statuses, { kind: 'aws' }) === undefined;
  const readDataSubset = kind === 'check' ? spec.spec.spec.check?.readDataSubset : undefined;
  const outcome = await launchRun(deps, spec, { run, kind, readDataSubset, mayInitialise }, now);
  if (!outcome.launched) throw new StashError(`failed to launch ${run}: ${outcome.reason}`);
  return { run, taskArn: outcome.taskArn };
}
