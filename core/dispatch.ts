/**
 * One dispatcher tick on AWS: load the specs, plan the slots due since the last tick, decide
 * (the same {@link decideTick} as local mode), check each due spec's secret and launch.
 *
 * Every side effect is an idempotent ensure:
 *
 * - a slot's run has one identity, {@link slotRunId}, and the launcher derives RunTask's
 *   `clientToken` from it, so launching it twice starts one task;
 * - the watermark is claimed with a conditional write before anything is launched, so of
 *   two overlapping ticks only one plans a window;
 * - the claimed slots stay listed as `pending` in the watermark until they are decided, so
 *   a tick that died half way is finished by a later one (same run ids, no second task).
 *
 * ```
 *   watermark.tick               now (this tick)
 *        |----- due slots -------|            claim: tick := now, pending += due   (If-Match)
 *        |  launch / skip / miss |            commit: pending -= decided           (If-Match, retried)
 *   a tick that dies after the claim leaves `pending`; once its lease is over, the next tick
 *   adopts those slots (RunTask clientToken makes the ones already started a no-op).
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as z from '../schemas/zod';
import { backendKind, type Restic } from '../schemas/restic';
import { missingSecretKeys, type Secret } from '../schemas/secret';
import type { SpecStatus } from '../schemas/status';
import { errorMessage, formatProblem, SecretError, SpecError, StashError, type SpecProblem } from './errors';
import type { Clock, LoadedSpec, SpecDocument, StatusStore } from './ports';
import { plan, planChecks, type PlannedRun } from './plan';
import { findOverdue, type OverdueSpec, type RunKind } from './record';
import type { SpecCache, SpecLoadResult } from './spec';
import { decideTick, type TickDecision } from './tick';
import { mapLimit } from './concurrency';

// ---- identities ------------------------------------------------------------------------------

const compact = (d: Date) => d.toISOString().replace(/[-:.]/g, '').slice(0, 15);

/**
 * The run id of a scheduled slot: the same (spec, slot, kind) always gives the same id, in
 * local mode and on AWS (where RunTask's `clientToken` is derived from it).
 *
 * @example slotRunId('s3-restic', new Date('2026-01-01T02:00:00Z')) // 's3-restic-20260101T020000'
 */
export function slotRunId(name: string, slot: Date, kind: RunKind = 'backup'): string {
  return `${name}-${kind === 'backup' ? '' : `${kind}-`}${compact(slot)}`;
}

/** The run id of a run started by hand: unique, and says when. */
export function manualRunId(name: string, now: Date, kind: RunKind = 'backup'): string {
  return `${name}-${kind === 'backup' ? '' : `${kind}-`}${compact(now)}-${randomBytes(3).toString('hex')}`;
}

// ---- ports -------------------------------------------------------------------------------------

/** A stored document and, where the store knows it, when it was last written. */
export interface StoredDocument extends SpecDocument {
  readonly modifiedAt?: Date;
}

/** A secret found by name, with the reference a task uses to read it again itself. */
export interface ResolvedSecret {
  /** What the task is given instead of the value (a Secrets Manager ARN, a secret name). */
  readonly ref: string;
  readonly secret: Secret;
}

/** Finds secrets by `storageSecretName`. */
export interface SecretResolver {
  /** The secret and its reference, or undefined when there is none of that name. */
  resolve(name: string): Promise<ResolvedSecret | undefined>;
}

/** A volume a restore writes into (a Recovery's `recoveredVolumes`). */
export interface RecoveredVolume {
  readonly mountPath: string;
  readonly efs?: { readonly fileSystemId: string; readonly rootDirectory?: string; readonly accessPointId?: string };
  readonly hostPath?: { readonly path: string };
  readonly emptyDir?: Record<string, unknown>;
}

/** What to launch. Only references: the task reads the spec and the secret itself. */
export interface LaunchRequest {
  readonly spec: LoadedSpec;
  readonly run: string;
  readonly kind: RunKind;
  readonly slot?: Date;
  /** {@link ResolvedSecret.ref}, never the secret. */
  readonly secretRef: string;
  /** Run `restic check` after the backup (a check fell due in the same tick). */
  readonly alsoCheck?: boolean;
  readonly readDataSubset?: string;
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
}

/** A slot claimed by a tick and not yet decided. */
export const PendingSlotSchema = z.object({
  spec: z.string(),
  slot: z.string(),
  kind: z.enum(['backup', 'check']),
});
export type PendingSlot = z.infer<typeof PendingSlotSchema>;

/** `state/watermark.json`: how far the ticks have planned, and what they have not finished. */
export const WatermarkStateSchema = z.object({
  /** Slots before this time have been planned. */
  tick: z.string(),
  /** Planned slots not yet launched, skipped or missed. */
  pending: z._default(z.array(PendingSlotSchema), []),
  /** The tick that holds `pending` right now, and since when. */
  claim: z.optional(z.object({ id: z.string(), at: z.string() })),
});
export type WatermarkState = z.infer<typeof WatermarkStateSchema>;

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

// ---- options and report ----------------------------------------------------------------------

/** Tuning for a tick; the defaults suit a rate(1 minute) rule and a 5-minute Lambda timeout. */
export interface DispatchOptions {
  /** How far back the first tick ever plans. @default 60_000 */
  readonly firstTickLookbackMs?: number;
  /** A watermark older than this is not planned from (every such slot is past any start window). @default 86_400_000 */
  readonly maxLookbackMs?: number;
  /** How long a tick's claim on `pending` is respected before another tick adopts it. @default 300_000 */
  readonly leaseMs?: number;
  /** Stop starting launches after this time (leaving them pending); the Lambda's deadline minus a margin. */
  readonly deadline?: Date;
  /** Launches in flight at once (the launcher paces RunTask itself). @default 8 */
  readonly concurrency?: number;
}

/** What happened to one slot. */
export interface SlotReport {
  readonly spec: string;
  readonly kind: RunKind;
  readonly slot?: string;
  readonly run?: string;
  readonly result: 'launched' | 'already-running' | 'skipped' | 'missed' | 'failed' | 'deferred';
  readonly reason?: string;
  readonly taskArn?: string;
}

/** What a tick did, for the handler's log lines and metrics. */
export interface TickReport {
  readonly from: string;
  readonly until: string;
  /** Another tick holds this window: nothing was launched. */
  readonly lostRace: boolean;
  readonly specs: number;
  readonly problems: readonly SpecProblem[];
  readonly slots: readonly SlotReport[];
  /** RunTask calls that were throttled and backed off. */
  readonly throttled: number;
  readonly overdue: readonly OverdueSpec[];
  /** Side effects that failed without stopping the tick (status writes, the commit). */
  readonly errors: readonly string[];
}

/** Ports and options of the dispatcher. */
export interface DispatchDeps {
  readonly specs: { documents(): Promise<StoredDocument[]> };
  readonly cache: SpecCache;
  readonly watermark: Watermark;
  readonly launcher: Launcher;
  readonly secrets: SecretResolver;
  readonly statuses: StatusStore;
  /** For the deadline only; planning uses the `now` a tick is given. */
  readonly clock: Clock;
  /** Launches Recovery documents found next to the specs; see `recovery.ts`. */
  readonly recoveries?: (ctx: RecoveryContext) => Promise<SlotReport[]>;
  readonly options?: DispatchOptions;
}

/** What the tick hands the recovery step, so it launches through the same path. */
export interface RecoveryContext {
  readonly documents: readonly StoredDocument[];
  readonly specs: readonly LoadedSpec[];
  readonly running: ReadonlyMap<string, RunningTask>;
  readonly now: Date;
  readonly launch: (spec: LoadedSpec, request: Omit<LaunchRequest, 'spec' | 'secretRef'>) => Promise<LaunchOutcome>;
}

/** Raised when a tick cannot run at all (the specs cannot be listed, the watermark read). */
export class DispatchError extends StashError {}

// ---- secret check ------------------------------------------------------------------------------

/**
 * Checks that a spec's secret exists and holds its backend's required keys; returns the
 * reference the task is given. Problems name keys, never values.
 */
export async function checkSecret(spec: Restic, secrets: SecretResolver): Promise<ResolvedSecret> {
  const name = spec.spec.backend.storageSecretName;
  let found: ResolvedSecret | undefined;
  try {
    found = await secrets.resolve(name);
  } catch (err) {
    throw new SecretError(`secret "${name}" could not be read: ${errorMessage(err)}`, { cause: err });
  }
  if (!found) throw new SecretError(`secret "${name}" does not exist`);
  const missing = missingSecretKeys(backendKind(spec.spec.backend), found.secret);
  if (missing.length) throw new SecretError(`secret "${name}": ${missing.join('; ')}`);
  return found;
}

/** A per-tick memo over a resolver, so specs that share a secret read it once. */
function memoSecrets(secrets: SecretResolver): SecretResolver {
  const seen = new Map<string, Promise<ResolvedSecret | undefined>>();
  return {
    resolve(name) {
      let hit = seen.get(name);
      if (!hit) {
        hit = secrets.resolve(name);
        seen.set(name, hit);
      }
      return hit;
    },
  };
}

// ---- launching -----------------------------------------------------------------------------------

/** The outcome of one launch attempt through {@link launchRun}: the launcher's, or why it was not tried. */
export type LaunchOutcome = LaunchResult;

/**
 * The one launch path, for the tick, `stash backup --remote` and restores: check the secret,
 * launch, and mark the spec's status as running.
 */
export async function launchRun(
  deps: Pick<DispatchDeps, 'launcher' | 'secrets' | 'statuses'>,
  spec: LoadedSpec,
  request: Omit<LaunchRequest, 'spec' | 'secretRef'>,
  now: Date,
): Promise<LaunchOutcome> {
  let secret: ResolvedSecret;
  try {
    secret = await checkSecret(spec.spec, deps.secrets);
  } catch (err) {
    return { launched: false, reason: errorMessage(err), retryable: false, throttled: 0 };
  }
  let result: LaunchResult;
  try {
    result = await deps.launcher.launch({ ...request, spec, secretRef: secret.ref });
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


const slotKey = (p: { spec: string; slot: string; kind: string }) => `${p.spec}\0${p.kind}\0${p.slot}`;

// ---- the tick ---------------------------------------------------------------------------------------

/**
 * One tick at `now`. Never throws for one spec's problem: a bad spec, a missing secret or a
 * failed launch is reported in its slot and the others go on. Throws {@link DispatchError}
 * only when the tick cannot plan at all (specs or watermark unreadable), leaving the
 * watermark as it was, so the next tick plans the same window again.
 */
export async function tick(deps: DispatchDeps, now: Date): Promise<TickReport> {
  const options = deps.options ?? {};
  const errors: string[] = [];
  let documents: StoredDocument[];
  try {
    documents = await deps.specs.documents();
  } catch (err) {
    throw new DispatchError(`failed to list the specs: ${errorMessage(err)}`, { cause: err });
  }
  const loaded: SpecLoadResult = deps.cache.load(documents);
  const specs = loaded.specs.map((s) => s.spec);
  const byName = new Map(loaded.specs.map((s) => [s.spec.metadata.name, s]));

  let read: WatermarkRead;
  try {
    read = await deps.watermark.read();
  } catch (err) {
    throw new DispatchError(`failed to read the watermark: ${errorMessage(err)}`, { cause: err });
  }
  const last = read.state ? new Date(read.state.tick) : new Date(now.getTime() - (options.firstTickLookbackMs ?? 60_000));
  const from = new Date(Math.max(last.getTime(), now.getTime() - (options.maxLookbackMs ?? 86_400_000)));
  const until = now.getTime() > from.getTime() ? now : from;

  // Slots another live tick holds are carried forward untouched; stale ones are adopted.
  const previous = read.state?.pending ?? [];
  const claimLive = read.state?.claim && now.getTime() - Date.parse(read.state.claim.at) < (options.leaseMs ?? 300_000);
  const carried = claimLive ? previous : [];
  const adopted = claimLive ? [] : previous;
  const planned: PlannedRun[] = [...plan(specs, from, until), ...planChecks(specs, from, until)];
  const fresh: PendingSlot[] = planned.map((p) => ({ spec: p.spec, slot: p.at.toISOString(), kind: p.kind }));
  const { newest: mine, superseded } = newestPerSpec([...adopted, ...fresh]);

  const claimId = randomUUID();
  const base = { from: from.toISOString(), until: until.toISOString(), specs: loaded.specs.length, problems: loaded.problems };
  let token: string | undefined;
  try {
    token = await deps.watermark.write(
      { tick: until.toISOString(), pending: dedupe([...carried, ...mine]), claim: { id: claimId, at: now.toISOString() } },
      read.token,
    );
  } catch (err) {
    throw new DispatchError(`failed to claim the watermark: ${errorMessage(err)}`, { cause: err });
  }
  if (token === undefined) {
    return { ...base, lostRace: true, slots: [], throttled: 0, overdue: [], errors };
  }

  let running: RunningTask[];
  let statuses: SpecStatus[];
  try {
    [running, statuses] = await Promise.all([deps.launcher.running(), deps.statuses.list()]);
  } catch (err) {
    // Undecidable without knowing what runs: release the claim so the next tick retries at once.
    await commit(deps.watermark, claimId, new Set(), errors);
    throw new DispatchError(`failed to read running tasks or statuses: ${errorMessage(err)}`, { cause: err });
  }
  const runningBySpec = new Map(running.map((r) => [r.spec, r]));
  const statusBySpec = new Map(statuses.map((s) => [s.name, s]));
  // ECS is the truth for what runs: a status says which run it is, a task that lost its status still counts.
  const effective = new Map(statusBySpec);
  for (const r of running) {
    const s = effective.get(r.spec) ?? { name: r.spec, backupCount: 0 };
    effective.set(r.spec, { ...s, running: { run: r.run ?? s.running?.run ?? r.taskArn, startedAt: r.startedAt ?? now.toISOString(), taskArn: r.taskArn } });
  }

  const runnable = (p: PendingSlot) => byName.has(p.spec) && !byName.get(p.spec)!.spec.spec.paused;
  const due: PlannedRun[] = mine.filter(runnable).map((p) => ({ spec: p.spec, at: new Date(p.slot), kind: p.kind }));
  const decision: TickDecision = decideTick({ specs, due, statuses: effective, now, isRunning: (s) => runningBySpec.has(s.name) });

  const slots: SlotReport[] = [];
  const decided = new Set<string>();
  for (const p of mine) {
    if (!runnable(p)) {
      decided.add(slotKey(p));
      const reason = byName.has(p.spec) ? 'the spec is paused' : 'the spec was removed or is no longer valid';
      slots.push({ spec: p.spec, kind: p.kind, slot: p.slot, result: 'skipped', reason });
    }
  }
  // Older slots of a spec that the newest one replaces: recorded as missed, one record per spec.
  for (const { slot, count, by } of superseded.values()) {
    if (!runnable(slot)) continue;
    const run: PlannedRun = { spec: slot.spec, at: new Date(slot.slot), kind: slot.kind };
    const reason = `superseded by the slot at ${by.slot}${count > 1 ? ` (${count} slots missed)` : ''}`;
    slots.push({ spec: slot.spec, kind: slot.kind, slot: slot.slot, run: slotRunId(slot.spec, run.at, slot.kind), result: 'missed', reason });
    await noteSkip(deps.statuses, run, reason, errors);
  }
  const secrets = memoSecrets(deps.secrets);
  const launchDeps = { launcher: deps.launcher, secrets, statuses: deps.statuses };
  let throttled = 0;

  for (const s of decision.skipped) {
    decided.add(slotKey({ spec: s.run.spec, slot: s.run.at.toISOString(), kind: s.run.kind }));
    const run = slotRunId(s.run.spec, s.run.at, s.run.kind);
    if (runningBySpec.get(s.run.spec)?.run === run) {
      slots.push({ spec: s.run.spec, kind: s.run.kind, slot: s.run.at.toISOString(), run, result: 'already-running', taskArn: runningBySpec.get(s.run.spec)?.taskArn });
      continue;
    }
    slots.push({ spec: s.run.spec, kind: s.run.kind, slot: s.run.at.toISOString(), run, result: 'skipped', reason: s.reason });
    await noteSkip(deps.statuses, s.run, s.reason, errors);
  }
  for (const m of decision.missed) {
    decided.add(slotKey({ spec: m.run.spec, slot: m.run.at.toISOString(), kind: m.run.kind }));
    slots.push({ spec: m.run.spec, kind: m.run.kind, slot: m.run.at.toISOString(), run: slotRunId(m.run.spec, m.run.at, m.run.kind), result: 'missed', reason: m.reason });
    await noteSkip(deps.statuses, m.run, m.reason, errors);
  }

  const launches = await mapLimit(decision.launch, options.concurrency ?? 8, async (l): Promise<SlotReport> => {
    const slot = l.at.toISOString();
    const key = slotKey({ spec: l.spec, slot, kind: l.kind });
    const run = slotRunId(l.spec, l.at, l.kind);
    const loadedSpec = byName.get(l.spec)!;
    if (options.deadline && deps.clock.now().getTime() >= options.deadline.getTime()) {
      const reason = 'out of time in this tick; the next tick launches it';
      await noteSkip(deps.statuses, l, `deferred: ${reason}`, errors);
      return { spec: l.spec, kind: l.kind, slot, run, result: 'deferred', reason };
    }
    let outcome: LaunchOutcome;
    try {
      outcome = await launchRun(
        launchDeps,
        loadedSpec,
        {
          run,
          kind: l.kind,
          slot: l.at,
          alsoCheck: l.alsoCheck,
          deadline: options.deadline,
          readDataSubset: l.kind === 'check' || l.alsoCheck ? loadedSpec.spec.spec.check?.readDataSubset : undefined,
        },
        now,
      );
    } catch (err) {
      // Launched, but the running mark could not be written: the task runs and record will set the status.
      decided.add(key);
      errors.push(`${l.spec}: launched ${run} but could not mark it running: ${errorMessage(err)}`);
      return { spec: l.spec, kind: l.kind, slot, run, result: 'launched' };
    }
    throttled += outcome.throttled;
    if (outcome.launched) {
      decided.add(key);
      return { spec: l.spec, kind: l.kind, slot, run, result: 'launched', taskArn: outcome.taskArn };
    }
    if (outcome.retryable) {
      await noteSkip(deps.statuses, l, `deferred: ${outcome.reason}`, errors);
      return { spec: l.spec, kind: l.kind, slot, run, result: 'deferred', reason: outcome.reason };
    }
    decided.add(key);
    const reason = `launch failed: ${outcome.reason}`;
    await noteFailure(deps.statuses, l.spec, slot, reason, errors);
    return { spec: l.spec, kind: l.kind, slot, run, result: 'failed', reason };
  });
  slots.push(...launches);

  if (deps.recoveries) {
    try {
      slots.push(
        ...(await deps.recoveries({
          documents,
          specs: loaded.specs,
          running: runningBySpec,
          now,
          launch: (spec, request) => launchRun(launchDeps, spec, request, now),
        })),
      );
    } catch (err) {
      errors.push(`recoveries: ${errorMessage(err)}`);
    }
  }

  await commit(deps.watermark, claimId, decided, errors);

  const modified = new Map(documents.map((d) => [d.source, d.modifiedAt]));
  const appeared = new Map<string, Date>();
  for (const s of loaded.specs) {
    const at = modified.get(s.source.replace(/#\d+$/, ''));
    if (at) appeared.set(s.spec.metadata.name, at);
  }
  const overdue = findOverdue(loaded.specs, statusBySpec, now, appeared);
  return { ...base, lostRace: false, slots, throttled, overdue, errors };
}

/**
 * The newest slot of each spec and kind, and what it supersedes (the newest of the older ones
 * and how many): older slots would only be superseded by it, and a spec firing every minute
 * over a long gap must not fill the watermark.
 */
function newestPerSpec(slots: readonly PendingSlot[]): {
  newest: PendingSlot[];
  superseded: Map<string, { slot: PendingSlot; count: number; by: PendingSlot }>;
} {
  const groups = new Map<string, PendingSlot[]>();
  for (const s of dedupe(slots)) {
    const key = `${s.spec}\0${s.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const newest: PendingSlot[] = [];
  const superseded = new Map<string, { slot: PendingSlot; count: number; by: PendingSlot }>();
  for (const [key, group] of groups) {
    group.sort((a, b) => Date.parse(a.slot) - Date.parse(b.slot));
    const last = group[group.length - 1];
    newest.push(last);
    if (group.length > 1) superseded.set(key, { slot: group[group.length - 2], count: group.length - 1, by: last });
  }
  return { newest, superseded };
}

function dedupe(slots: readonly PendingSlot[]): PendingSlot[] {
  const seen = new Map<string, PendingSlot>();
  for (const s of slots) seen.set(slotKey(s), s);
  return [...seen.values()];
}

async function noteSkip(statuses: StatusStore, run: PlannedRun, reason: string, errors: string[]): Promise<void> {
  try {
    await statuses.update(run.spec, (s) => ({ ...s, lastSkipped: { slot: run.at.toISOString(), reason } }));
  } catch (err) {
    errors.push(`${run.spec}: could not record the skipped slot ${run.at.toISOString()}: ${errorMessage(err)}`);
  }
}

async function noteFailure(statuses: StatusStore, spec: string, slot: string, reason: string, errors: string[]): Promise<void> {
  try {
    await statuses.update(spec, (s) => ({ ...s, lastError: `${slot}: ${reason}`, lastSkipped: { slot, reason } }));
  } catch (err) {
    errors.push(`${spec}: could not record the failed launch for ${slot}: ${errorMessage(err)}`);
  }
}

/**
 * Removes the decided slots from `pending` and releases this tick's claim, re-reading and
 * retrying when another tick wrote in between (its own slots are kept).
 */
async function commit(watermark: Watermark, claimId: string, decided: ReadonlySet<string>, errors: string[], attempts = 5): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      const { state, token } = await watermark.read();
      if (!state) return;
      const next: WatermarkState = { tick: state.tick, pending: state.pending.filter((p) => !decided.has(slotKey(p))) };
      if (state.claim && state.claim.id !== claimId) next.claim = state.claim;
      if ((await watermark.write(next, token)) !== undefined) return;
    } catch (err) {
      errors.push(`could not commit the watermark: ${errorMessage(err)}`);
      return;
    }
  }
  errors.push(`could not commit the watermark: ${attempts} conflicting writes; the next tick finishes the pending slots`);
}

// ---- a run now ---------------------------------------------------------------------------------------

/**
 * Launches a spec's run now (`stash backup NAME --remote`) through the same path as a tick:
 * validation, the secret check, the running check, the launcher and the running mark.
 * Throws {@link SpecError} for an unknown or invalid spec and {@link StashError} when the
 * spec is running or the launch fails.
 */
export async function launchNow(
  deps: Pick<DispatchDeps, 'specs' | 'cache' | 'launcher' | 'secrets' | 'statuses'>,
  name: string,
  now: Date,
  kind: 'backup' | 'check' = 'backup',
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
  const outcome = await launchRun(deps, spec, { run, kind, readDataSubset: kind === 'check' ? spec.spec.spec.check?.readDataSubset : undefined }, now);
  if (!outcome.launched) throw new StashError(`failed to launch ${run}: ${outcome.reason}`);
  return { run, taskArn: outcome.taskArn };
}

/** The problems of a load, one line each, for logs. */
export const problemLines = (problems: readonly SpecProblem[]) => problems.map(formatProblem);
