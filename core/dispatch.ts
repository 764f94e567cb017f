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
import { randomUUID } from 'node:crypto';
import type { SpecStatus } from '../schemas/status';
import type { PendingSlot, WatermarkState } from '../schemas/watermark';
import { mapLimit } from './concurrency';
import { errorMessage, StashError, type SpecProblem } from './errors';
import { launchRun, memoSecrets, type LaunchDeps, type RecoveryContext, type SlotReport } from './launch';
import { plan, planChecks, type PlannedRun } from './plan';
import type { Clock, Launcher, LoadedSpec, RunningTask, SecretStore, SpecDocument, StatusStore, Watermark } from './ports';
import { formatGoDuration } from './duration';
import { runTimeoutMs, STOP_TASK_MARGIN_MS } from './limits';
import { appearedAt, findOverdue, TIMED_OUT_REASON, type OverdueSpec } from './record';
import { RepositoryIndex } from './repository';
import { slotRunId } from './run-id';
import type { SpecCache, SpecLoadResult } from './spec';
import { decideTick, type Launch } from './tick';

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
  /** Tasks that outlived their spec's timeout (and the margin) and were stopped. */
  readonly stopped: readonly { readonly spec: string; readonly run?: string; readonly taskArn: string; readonly reason: string }[];
  /** Side effects that failed without stopping the tick (status writes, the commit). */
  readonly errors: readonly string[];
}

/** Ports and options of the dispatcher. */
export interface DispatchDeps {
  readonly specs: { documents(): Promise<SpecDocument[]> };
  readonly cache: SpecCache;
  readonly watermark: Watermark;
  readonly launcher: Launcher;
  readonly secrets: SecretStore;
  readonly statuses: StatusStore;
  /** For the deadline only; planning uses the `now` a tick is given. */
  readonly clock: Clock;
  /** Launches Recovery documents found next to the specs; see `recovery.ts`. */
  readonly recoveries?: (ctx: RecoveryContext) => Promise<SlotReport[]>;
  readonly options?: DispatchOptions;
}

/** Raised when a tick cannot run at all (the specs cannot be listed, the watermark read). */
export class DispatchError extends StashError {}

const slotKey = (p: { spec: string; slot: string; kind: string }) => `${p.spec}\0${p.kind}\0${p.slot}`;
const runKey = (r: PlannedRun) => slotKey({ spec: r.spec, slot: r.at.toISOString(), kind: r.kind });

/** The window a tick won: what it plans and the slots it now holds. */
interface Claim {
  readonly id: string;
  readonly from: Date;
  readonly until: Date;
  /** The newest slot of each spec and kind, from this window and adopted from a dead tick. */
  readonly mine: readonly PendingSlot[];
  /** Older slots those replace: the newest of them and how many, per spec and kind. */
  readonly superseded: ReadonlyMap<string, { slot: PendingSlot; count: number; by: PendingSlot }>;
}

/** What one tick works with once it holds its window. */
interface TickState {
  readonly deps: DispatchDeps;
  readonly now: Date;
  readonly byName: ReadonlyMap<string, LoadedSpec>;
  readonly runningBySpec: ReadonlyMap<string, RunningTask>;
  readonly statusBySpec: ReadonlyMap<string, SpecStatus>;
  /** Every spec's repository, worked out once for the tick. */
  readonly repositories: RepositoryIndex;
  readonly launchDeps: LaunchDeps;
  /** Slots decided this tick (launched, skipped, missed, failed): removed from `pending` at the commit. */
  readonly decided: Set<string>;
  readonly errors: string[];
}

/**
 * One tick at `now`. Never throws for one spec's problem: a bad spec, a missing secret or a
 * failed launch is reported in its slot and the others go on. Throws {@link DispatchError}
 * only when the tick cannot plan at all (specs or watermark unreadable), leaving the
 * watermark as it was, so the next tick plans the same window again.
 */
export async function dispatchTick(deps: DispatchDeps, now: Date): Promise<TickReport> {
  const errors: string[] = [];
  let documents: SpecDocument[];
  try {
    documents = await deps.specs.documents();
  } catch (err) {
    throw new DispatchError(`failed to list the specs: ${errorMessage(err)}`, { cause: err });
  }
  const loaded = deps.cache.load(documents);
  const claim = await claimWindow(deps, loaded, now);
  const base = { from: claim.from.toISOString(), until: claim.until.toISOString(), specs: loaded.specs.length, problems: loaded.problems };
  if (!claim.won) return { ...base, lostRace: true, slots: [], throttled: 0, overdue: [], stopped: [], errors };

  let running: RunningTask[];
  let statuses: SpecStatus[];
  try {
    [running, statuses] = await Promise.all([deps.launcher.running(), deps.statuses.list()]);
  } catch (err) {
    // Undecidable without knowing what runs: release the claim so the next tick retries at once.
    await commit(deps.watermark, claim.id, new Set(), errors);
    throw new DispatchError(`failed to read running tasks or statuses: ${errorMessage(err)}`, { cause: err });
  }
  const state: TickState = {
    deps,
    now,
    byName: new Map(loaded.specs.map((s) => [s.spec.metadata.name, s])),
    runningBySpec: new Map(running.map((r) => [r.spec, r])),
    statusBySpec: new Map(statuses.map((s) => [s.name, s])),
    repositories: new RepositoryIndex(loaded.specs.map((s) => s.spec), { kind: 'aws' }),
    launchDeps: { launcher: deps.launcher, secrets: memoSecrets(deps.secrets), statuses: deps.statuses },
    decided: new Set(),
    errors,
  };
  const stopped = await stopOverdueTasks(state, running);
  const slots: SlotReport[] = [...skipUnrunnable(state, claim.mine), ...(await recordSuperseded(state, claim.superseded))];
  const decision = decideTick({
    specs: loaded.specs.map((s) => s.spec),
    due: claim.mine.filter((p) => runnable(state, p)).map((p) => ({ spec: p.spec, at: new Date(p.slot), kind: p.kind })),
    statuses: effectiveStatuses(statuses, running, now),
    now,
    isRunning: (s) => state.runningBySpec.has(s.name),
  });
  slots.push(...(await recordSkipped(state, decision.skipped)), ...(await recordMissed(state, decision.missed)));
  const { go, wait } = oneRunPerRepository(state, decision.launch);
  slots.push(...(await recordWaiting(state, wait)));
  const launches = await launchDue(state, go);
  slots.push(...launches.slots, ...(await launchRecoveries(state, documents, loaded)));
  await commit(deps.watermark, claim.id, state.decided, errors);
  const overdue = findOverdue(loaded.specs, state.statusBySpec, now, appearedAt(documents, loaded));
  return { ...base, lostRace: false, slots, throttled: launches.throttled, overdue, stopped, errors };
}

/**
 * Stops the tasks that outlived their spec's timeout by {@link STOP_TASK_MARGIN_MS}: the runner
 * stops restic itself at the limit, so such a task is hung (or its runner is). ECS records the
 * reason, the record step reads it as `timed-out`, and once the task is gone the spec's next
 * slot runs. A task still counts as running in this tick.
 */
async function stopOverdueTasks(state: TickState, running: readonly RunningTask[]): Promise<TickReport['stopped']> {
  const stopped: TickReport['stopped'][number][] = [];
  for (const task of running) {
    const spec = state.byName.get(task.spec);
    const started = task.startedAt ? Date.parse(task.startedAt) : NaN;
    if (!spec || Number.isNaN(started)) continue;
    const limit = runTimeoutMs(spec.spec);
    if (state.now.getTime() - started <= limit + STOP_TASK_MARGIN_MS) continue;
    const reason = `${TIMED_OUT_REASON} (${spec.spec.spec.timeout ?? formatGoDuration(limit)})`;
    try {
      await state.deps.launcher.stop(task.taskArn, reason);
      stopped.push({ spec: task.spec, run: task.run, taskArn: task.taskArn, reason });
    } catch (err) {
      state.errors.push(`${task.spec}: could not stop ${task.taskArn}, which outlived its time limit: ${errorMessage(err)}`);
    }
  }
  return stopped;
}

/**
 * Plans the window since the last tick and claims it with a conditional write of the
 * watermark. Slots another live tick holds are carried forward untouched; those of a tick
 * whose lease is over are adopted.
 */
async function claimWindow(deps: DispatchDeps, loaded: SpecLoadResult, now: Date): Promise<Claim & { readonly won: boolean }> {
  const options = deps.options ?? {};
  let read;
  try {
    read = await deps.watermark.read();
  } catch (err) {
    throw new DispatchError(`failed to read the watermark: ${errorMessage(err)}`, { cause: err });
  }
  const last = read.state ? new Date(read.state.tick) : new Date(now.getTime() - (options.firstTickLookbackMs ?? 60_000));
  const from = new Date(Math.max(last.getTime(), now.getTime() - (options.maxLookbackMs ?? 86_400_000)));
  const until = now.getTime() > from.getTime() ? now : from;
  const previous = read.state?.pending ?? [];
  const claimLive = read.state?.claim && now.getTime() - Date.parse(read.state.claim.at) < (options.leaseMs ?? 300_000);
  const specs = loaded.specs.map((s) => s.spec);
  const planned: PlannedRun[] = [...plan(specs, from, until), ...planChecks(specs, from, until)];
  const fresh: PendingSlot[] = planned.map((p) => ({ spec: p.spec, slot: p.at.toISOString(), kind: p.kind }));
  const { newest: mine, superseded } = newestPerSpec([...(claimLive ? [] : previous), ...fresh]);
  const id = randomUUID();
  let token: string | undefined;
  try {
    const pending = dedupe([...(claimLive ? previous : []), ...mine]);
    token = await deps.watermark.write({ tick: until.toISOString(), pending, claim: { id, at: now.toISOString() } }, read.token);
  } catch (err) {
    throw new DispatchError(`failed to claim the watermark: ${errorMessage(err)}`, { cause: err });
  }
  return { id, from, until, mine, superseded, won: token !== undefined };
}

/** ECS is the truth for what runs: a status says which run it is, a task that lost its status still counts. */
function effectiveStatuses(statuses: readonly SpecStatus[], running: readonly RunningTask[], now: Date): Map<string, SpecStatus> {
  const effective = new Map(statuses.map((s) => [s.name, s]));
  for (const r of running) {
    const s = effective.get(r.spec) ?? { name: r.spec, backupCount: 0 };
    effective.set(r.spec, { ...s, running: { run: r.run ?? s.running?.run ?? r.taskArn, startedAt: r.startedAt ?? now.toISOString(), taskArn: r.taskArn } });
  }
  return effective;
}

const runnable = (state: TickState, p: PendingSlot) => state.byName.has(p.spec) && !state.byName.get(p.spec)!.spec.spec.paused;

/** Slots of specs that were removed, became invalid or are paused: decided as skipped. */
function skipUnrunnable(state: TickState, mine: readonly PendingSlot[]): SlotReport[] {
  const slots: SlotReport[] = [];
  for (const p of mine) {
    if (runnable(state, p)) continue;
    state.decided.add(slotKey(p));
    const reason = state.byName.has(p.spec) ? 'the spec is paused' : 'the spec was removed or is no longer valid';
    slots.push({ spec: p.spec, kind: p.kind, slot: p.slot, result: 'skipped', reason });
  }
  return slots;
}

/** Older slots of a spec that the newest one replaces: recorded as missed, one record per spec. */
async function recordSuperseded(state: TickState, superseded: Claim['superseded']): Promise<SlotReport[]> {
  const slots: SlotReport[] = [];
  for (const { slot, count, by } of superseded.values()) {
    if (!runnable(state, slot)) continue;
    const run: PlannedRun = { spec: slot.spec, at: new Date(slot.slot), kind: slot.kind };
    const reason = `superseded by the slot at ${by.slot}${count > 1 ? ` (${count} slots missed)` : ''}`;
    slots.push({ spec: slot.spec, kind: slot.kind, slot: slot.slot, run: slotRunId(slot.spec, run.at, slot.kind), result: 'missed', reason });
    await noteSkip(state, run, reason);
  }
  return slots;
}

/** Slots whose spec is still running: the same run (a retried tick) is `already-running`, another is skipped. */
async function recordSkipped(state: TickState, skipped: readonly { run: PlannedRun; reason: string }[]): Promise<SlotReport[]> {
  const slots: SlotReport[] = [];
  for (const s of skipped) {
    state.decided.add(runKey(s.run));
    const run = slotRunId(s.run.spec, s.run.at, s.run.kind);
    const report = { spec: s.run.spec, kind: s.run.kind, slot: s.run.at.toISOString(), run };
    const task = state.runningBySpec.get(s.run.spec);
    if (task?.run === run) {
      slots.push({ ...report, result: 'already-running', taskArn: task.taskArn });
      continue;
    }
    slots.push({ ...report, result: 'skipped', reason: s.reason });
    await noteSkip(state, s.run, s.reason);
  }
  return slots;
}

/** Slots too late for their start window, or superseded within this tick. */
async function recordMissed(state: TickState, missed: readonly { run: PlannedRun; reason: string }[]): Promise<SlotReport[]> {
  const slots: SlotReport[] = [];
  for (const m of missed) {
    state.decided.add(runKey(m.run));
    slots.push({ spec: m.run.spec, kind: m.run.kind, slot: m.run.at.toISOString(), run: slotRunId(m.run.spec, m.run.at, m.run.kind), result: 'missed', reason: m.reason });
    await noteSkip(state, m.run, m.reason);
  }
  return slots;
}

/**
 * One run per repository at a time: a due run whose repository another spec's task is using,
 * or that another launch of this tick takes, waits for a later tick (its slot stays pending,
 * within its start window), so two runs never `restic init` or prune one repository at once.
 */
function oneRunPerRepository(state: TickState, due: readonly Launch[]): { go: Launch[]; wait: { run: Launch; reason: string }[] } {
  // A spec whose repository cannot be resolved has no key: it fails at its own launch.
  const keyOf = (name: string) => {
    const spec = state.byName.get(name);
    return spec ? state.repositories.keyOf(spec.spec) : undefined;
  };
  const taken = new Map<string, string>();
  for (const task of state.runningBySpec.values()) {
    const key = keyOf(task.spec);
    if (key) taken.set(key, `${task.run ?? task.taskArn} of ${task.spec}`);
  }
  const go: Launch[] = [];
  const wait: { run: Launch; reason: string }[] = [];
  for (const l of due) {
    const key = keyOf(l.spec);
    const holder = key ? taken.get(key) : undefined;
    if (key && holder) {
      wait.push({ run: l, reason: `waiting for ${holder} on the same repository; a later tick launches it` });
      continue;
    }
    if (key) taken.set(key, `${slotRunId(l.spec, l.at, l.kind)} of ${l.spec}`);
    go.push(l);
  }
  return { go, wait };
}

/** Runs waiting for their repository: deferred (still pending), the reason in the spec's status. */
async function recordWaiting(state: TickState, wait: readonly { run: Launch; reason: string }[]): Promise<SlotReport[]> {
  const slots: SlotReport[] = [];
  for (const w of wait) {
    slots.push({ spec: w.run.spec, kind: w.run.kind, slot: w.run.at.toISOString(), run: slotRunId(w.run.spec, w.run.at, w.run.kind), result: 'deferred', reason: w.reason });
    await noteSkip(state, w.run, `deferred: ${w.reason}`);
  }
  return slots;
}

/**
 * Launches what is due, a few at a time, until the deadline; what cannot start now stays
 * pending (deferred) unless it can never start (failed, with the reason in the status).
 */
async function launchDue(state: TickState, due: readonly Launch[]): Promise<{ slots: SlotReport[]; throttled: number }> {
  const { deps } = state;
  const options = deps.options ?? {};
  let throttled = 0;
  const slots = await mapLimit(due, options.concurrency ?? 8, async (l): Promise<SlotReport> => {
    const slot = l.at.toISOString();
    const run = slotRunId(l.spec, l.at, l.kind);
    const report = { spec: l.spec, kind: l.kind, slot, run };
    const spec = state.byName.get(l.spec)!;
    if (options.deadline && deps.clock.now().getTime() >= options.deadline.getTime()) {
      const reason = 'out of time in this tick; the next tick launches it';
      await noteSkip(state, l, `deferred: ${reason}`);
      return { ...report, result: 'deferred', reason };
    }
    const readDataSubset = l.kind === 'check' || l.alsoCheck ? spec.spec.spec.check?.readDataSubset : undefined;
    const mayInitialise = state.repositories.history(spec.spec, state.statusBySpec) === undefined;
    let outcome;
    try {
      outcome = await launchRun(state.launchDeps, spec, { run, kind: l.kind, slot: l.at, alsoCheck: l.alsoCheck, deadline: options.deadline, readDataSubset, mayInitialise }, state.now);
    } catch (err) {
      // Launched, but the running mark could not be written: the task runs and record will set the status.
      state.decided.add(runKey(l));
      state.errors.push(`${l.spec}: launched ${run} but could not mark it running: ${errorMessage(err)}`);
      return { ...report, result: 'launched' };
    }
    throttled += outcome.throttled;
    if (outcome.launched) {
      state.decided.add(runKey(l));
      return { ...report, result: 'launched', taskArn: outcome.taskArn };
    }
    if (outcome.retryable) {
      await noteSkip(state, l, `deferred: ${outcome.reason}`);
      return { ...report, result: 'deferred', reason: outcome.reason };
    }
    state.decided.add(runKey(l));
    const reason = `launch failed: ${outcome.reason}`;
    await noteFailure(state, l.spec, slot, reason);
    return { ...report, result: 'failed', reason };
  });
  return { slots, throttled };
}

/** The Recovery documents next to the specs, through the same launch path; a failure here never fails the tick. */
async function launchRecoveries(state: TickState, documents: readonly SpecDocument[], loaded: SpecLoadResult): Promise<SlotReport[]> {
  if (!state.deps.recoveries) return [];
  try {
    return await state.deps.recoveries({
      documents,
      specs: loaded.specs,
      running: state.runningBySpec,
      now: state.now,
      launch: (spec, request) => launchRun(state.launchDeps, spec, request, state.now),
    });
  } catch (err) {
    state.errors.push(`recoveries: ${errorMessage(err)}`);
    return [];
  }
}

/**
 * The newest slot of each spec and kind, and what it supersedes (the newest of the older ones
 * and how many): older slots would only be superseded by it, and a spec firing every minute
 * over a long gap must not fill the watermark.
 */
function newestPerSpec(slots: readonly PendingSlot[]): Pick<Claim, 'superseded'> & { newest: PendingSlot[] } {
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

async function noteSkip(state: TickState, run: PlannedRun, reason: string): Promise<void> {
  // A run still waiting for its repository is noted again every tick: the status read this tick already says so.
  const noted = state.statusBySpec.get(run.spec)?.lastSkipped;
  if (noted?.slot === run.at.toISOString() && noted.reason === reason) return;
  try {
    await state.deps.statuses.update(run.spec, (s) => ({ ...s, lastSkipped: { slot: run.at.toISOString(), reason } }));
  } catch (err) {
    state.errors.push(`${run.spec}: could not record the skipped slot ${run.at.toISOString()}: ${errorMessage(err)}`);
  }
}

async function noteFailure(state: TickState, spec: string, slot: string, reason: string): Promise<void> {
  try {
    await state.deps.statuses.update(spec, (s) => ({ ...s, lastError: `${slot}: ${reason}`, lastSkipped: { slot, reason } }));
  } catch (err) {
    state.errors.push(`${spec}: could not record the failed launch for ${slot}: ${errorMessage(err)}`);
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
