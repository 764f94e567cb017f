import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStatusStore } from '../../cli/local/stores';
import { launchNow } from '../../core/launch';
import { slotRunId } from '../../core/run-id';
import { dispatchTick, type DispatchDeps } from '../../core/dispatch';
import { type LaunchRequest, type LaunchResult, type Launcher, type RunningTask, type SecretStore, type SpecDocument } from '../../core/ports';
import { SpecCache } from '../../core/spec';
import type { Secret } from '../../schemas/secret';
import { MemoryWatermark } from '../support/memory';

// ---- ports with the semantics of the real ones ------------------------------------------------

/** Starts "tasks" and, like RunTask with a clientToken, starts one task per run id. */
class MemoryLauncher implements Launcher {
  readonly requests: LaunchRequest[] = [];
  readonly tasks = new Map<string, RunningTask>();
  readonly stopped: { taskArn: string; reason: string }[] = [];
  async stop(taskArn: string, reason: string) {
    this.stopped.push({ taskArn, reason });
  }
  fail: Record<string, LaunchResult> = {};
  hang = new Set<string>();
  async running() {
    return [...this.tasks.values()];
  }
  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const name = request.spec.spec.metadata.name;
    this.requests.push(request);
    if (this.hang.has(name)) return new Promise(() => undefined);
    if (this.fail[name]) return this.fail[name];
    const existing = [...this.tasks.values()].find((t) => t.run === request.run);
    const taskArn = existing?.taskArn ?? `arn:aws:ecs:eu-west-1:111122223333:task/stash/${request.run}`;
    this.tasks.set(taskArn, { spec: name, run: request.run, taskArn, kind: request.kind });
    return { launched: true, taskArn, throttled: 0 };
  }
}

class MemorySecrets implements SecretStore {
  constructor(readonly secrets: Record<string, Secret>) {}
  async get(name: string) {
    const secret = this.secrets[name];
    return secret && { ref: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/${name}-AbCdEf`, secret };
  }
}

const SECRET_VALUE = 'correct-horse-battery-staple';
const S3_SECRET = { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` };

const specYaml = (name: string, schedule: string, extra = '', secret = 's3-secret') => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: ${name}
spec:
  fileGroups:
  - path: /source/data
  backend:
    s3:
      endpoint: s3.amazonaws.com
      bucket: stash-qa
      prefix: ${name}
    storageSecretName: ${secret}
  schedule: '${schedule}'
  check:
    paused: true
${extra}`;

const doc = (name: string, text: string): SpecDocument => ({ source: `s3://stash-config/specs/${name}.yaml`, version: `v-${name}-${text.length}`, text });

describe('tick', () => {
  let dir: string;
  let statuses: FolderStatusStore;
  let watermark: MemoryWatermark;
  let launcher: MemoryLauncher;
  let documents: SpecDocument[];
  let deps: DispatchDeps;
  const at = (iso: string) => new Date(iso);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-dispatch-'));
    statuses = new FolderStatusStore(dir);
    watermark = new MemoryWatermark();
    launcher = new MemoryLauncher();
    documents = [doc('hourly', specYaml('hourly', '0 * * * *')), doc('every-minute', specYaml('every-minute', '* * * * *'))];
    deps = {
      specs: { documents: async () => documents },
      cache: new SpecCache(),
      watermark,
      launcher,
      secrets: new MemorySecrets({ 's3-secret': S3_SECRET, 'thin-secret': { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIATHIN' }, 'keyless-secret': { RESTIC_PASSWORD: SECRET_VALUE } }),
      statuses,
      clock: { now: () => new Date('2026-01-01T02:00:30Z') },
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('plans from the last minute on the first tick and launches what fell due', async () => {
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report).toMatchObject({ from: '2026-01-01T01:59:30.000Z', until: '2026-01-01T02:00:30.000Z', lostRace: false, specs: 2, problems: [] });
    expect(report.slots.map((s) => [s.spec, s.slot, s.result])).toEqual([
      ['every-minute', '2026-01-01T02:00:00.000Z', 'launched'],
      ['hourly', '2026-01-01T02:00:00.000Z', 'launched'],
    ]);
    expect(launcher.requests.map((r) => [r.run, r.kind, r.slot?.toISOString(), r.secretRef])).toEqual([
      ['every-minute-20260101T020000', 'backup', '2026-01-01T02:00:00.000Z', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf'],
      ['hourly-20260101T020000', 'backup', '2026-01-01T02:00:00.000Z', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf'],
    ]);
    expect(watermark.state).toEqual({ tick: '2026-01-01T02:00:30.000Z', pending: [] });
    expect((await statuses.get('hourly'))?.running).toEqual({
      run: 'hourly-20260101T020000',
      slot: '2026-01-01T02:00:00.000Z',
      startedAt: '2026-01-01T02:00:30.000Z',
      taskArn: 'arn:aws:ecs:eu-west-1:111122223333:task/stash/hourly-20260101T020000',
    });
    expect(JSON.stringify(launcher.requests.map(({ spec: _spec, ...r }) => r))).not.toContain(SECRET_VALUE);
  });

  it('plans only the window since the watermark', async () => {
    watermark.state = { tick: '2026-01-01T02:00:30.000Z', pending: [] };
    const report = await dispatchTick(deps, at('2026-01-01T02:01:30Z'));
    expect(report.slots.map((s) => `${s.spec}@${s.slot}:${s.result}`)).toEqual(['every-minute@2026-01-01T02:01:00.000Z:launched']);
  });

  it('skips a spec whose previous task still runs, and records the skip', async () => {
    launcher.tasks.set('t1', { spec: 'hourly', run: 'hourly-20260101T010000', taskArn: 't1' });
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.slots.find((s) => s.spec === 'hourly')).toMatchObject({ result: 'skipped', reason: 'the previous run hourly-20260101T010000 is still running' });
    expect((await statuses.get('hourly'))?.lastSkipped).toEqual({ slot: '2026-01-01T02:00:00.000Z', reason: 'the previous run hourly-20260101T010000 is still running' });
    expect(launcher.requests.map((r) => r.run)).toEqual(['every-minute-20260101T020000']);
  });

  it('launches a spec whose S3 secret holds only the password with the task role\'s credentials, and says so to the launcher', async () => {
    documents = [doc('keyless', specYaml('keyless', '0 * * * *', '', 'keyless-secret')), doc('hourly', specYaml('hourly', '0 * * * *'))];
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.slots.map((s) => [s.spec, s.result])).toEqual([
      ['hourly', 'launched'],
      ['keyless', 'launched'],
    ]);
    expect(launcher.requests.map((r) => [r.spec.spec.metadata.name, r.ambientAwsCredentials])).toEqual([
      ['hourly', undefined],
      ['keyless', true],
    ]);
  });

  it('launches one run per repository: a spec sharing one with a running task waits for a later tick', async () => {
    // Two specs, one repository (same endpoint, bucket and prefix), due together.
    const shared = (name: string) => specYaml(name, '0 * * * *').replace(`prefix: ${name}`, 'prefix: shared');
    documents = [doc('db-a', shared('db-a')), doc('db-b', shared('db-b'))];
    const first = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(first.slots.map((s) => [s.spec, s.result, s.reason])).toEqual([
      ['db-b', 'deferred', 'waiting for db-a-20260101T020000 of db-a on the same repository; a later tick launches it'],
      ['db-a', 'launched', undefined],
    ]);
    expect(launcher.requests.map((r) => r.run)).toEqual(['db-a-20260101T020000']);
    expect(watermark.state?.pending).toEqual([{ spec: 'db-b', slot: '2026-01-01T02:00:00.000Z', kind: 'backup' }]);
    expect((await statuses.get('db-b'))?.lastSkipped?.reason).toBe('deferred: waiting for db-a-20260101T020000 of db-a on the same repository; a later tick launches it');

    // db-a's task still runs: db-b waits again.
    const second = await dispatchTick(deps, at('2026-01-01T02:01:30Z'));
    expect(second.slots.map((s) => [s.spec, s.result])).toEqual([['db-b', 'deferred']]);

    // db-a's task stopped: db-b's slot, still within its start window, is launched.
    launcher.tasks.clear();
    const third = await dispatchTick(deps, at('2026-01-01T02:02:30Z'));
    expect(third.slots.map((s) => [s.spec, s.run, s.result])).toEqual([['db-b', 'db-b-20260101T020000', 'launched']]);
    expect(watermark.state?.pending).toEqual([]);
  });

  it('lets a backup create its repository only when nothing has backed up to it (a vanished one is an error, not a new one)', async () => {
    const shared = (name: string) => specYaml(name, '0 * * * *').replace(`prefix: ${name}`, 'prefix: shared');
    documents = [doc('fresh', specYaml('fresh', '0 * * * *')), doc('old', shared('old')), doc('newcomer', specYaml('newcomer', '30 * * * *').replace('prefix: newcomer', 'prefix: shared'))];
    await statuses.update('old', (s) => ({ ...s, backupCount: 4, lastSuccessfulBackupTime: '2026-01-01T01:00:05.000Z' }));
    await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(launcher.requests.map((r) => [r.run, r.mayInitialise])).toEqual([
      ['fresh-20260101T020000', true],
      ['old-20260101T020000', false],
    ]);
    launcher.tasks.clear();
    // A new spec on old's repository: it has history, so it is not created anew either.
    await dispatchTick(deps, at('2026-01-01T02:30:30Z'));
    expect(launcher.requests.at(-1)).toMatchObject({ run: 'newcomer-20260101T023000', mayInitialise: false });
  });

  it('stops a task that outlived its spec\'s timeout by the margin, and leaves the next slot to a later tick', async () => {
    documents = [doc('hung', specYaml('hung', '0 * * * *', '  timeout: 30m')), doc('slow', specYaml('slow', '0 * * * *'))];
    // hung started 41 min ago (30m + 10 min margin passed); slow, without a timeout of its own, 11 h ago (under 12 h).
    launcher.tasks.set('t-hung', { spec: 'hung', run: 'hung-20260101T012000', taskArn: 't-hung', startedAt: '2026-01-01T01:19:30.000Z' });
    launcher.tasks.set('t-slow', { spec: 'slow', run: 'slow-20251231T150000', taskArn: 't-slow', startedAt: '2025-12-31T15:00:30.000Z' });
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(launcher.stopped).toEqual([{ taskArn: 't-hung', reason: 'stash: the run outlived spec.timeout (30m)' }]);
    expect(report.stopped).toEqual([{ spec: 'hung', run: 'hung-20260101T012000', taskArn: 't-hung', reason: 'stash: the run outlived spec.timeout (30m)' }]);
    // Still running in this tick: skipped; once the task is gone, the next slot is launched.
    expect(report.slots.find((s) => s.spec === 'hung')?.result).toBe('skipped');
    launcher.tasks.delete('t-hung');
    const next = await dispatchTick(deps, at('2026-01-01T03:00:30Z'));
    expect(next.slots.find((s) => s.spec === 'hung')).toMatchObject({ run: 'hung-20260101T030000', result: 'launched' });
  });

  it('records a slot later than its start window as missed, not launched', async () => {
    documents = [doc('hourly', specYaml('hourly', '0 * * * *', '  startWindow: 30m'))];
    watermark.state = { tick: '2026-01-01T01:59:00.000Z', pending: [] };
    const report = await dispatchTick(deps, at('2026-01-01T02:45:00Z'));
    expect(report.slots).toEqual([
      { spec: 'hourly', kind: 'backup', slot: '2026-01-01T02:00:00.000Z', run: 'hourly-20260101T020000', result: 'missed', reason: 'not started within the start window (30m); 45 min late' },
    ]);
    expect(launcher.requests).toEqual([]);
    expect((await statuses.get('hourly'))?.lastSkipped?.reason).toBe('not started within the start window (30m); 45 min late');
  });

  it('keeps going past a bad spec, a missing secret and a secret that lacks a key', async () => {
    documents = [
      ...documents,
      doc('broken', specYaml('broken', '0 * * * *').replace('fileGroups:', 'filegroups:')),
      doc('no-secret', specYaml('no-secret', '0 * * * *', '', 'absent-secret')),
      doc('thin', specYaml('thin', '0 * * * *', '', 'thin-secret')),
    ];
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.problems.map((p) => `${p.source}: ${p.path}: ${p.message}`)).toContain('s3://stash-config/specs/broken.yaml: spec.filegroups: unknown field');
    expect(report.slots.filter((s) => s.result === 'failed')).toEqual([
      { spec: 'no-secret', kind: 'backup', slot: '2026-01-01T02:00:00.000Z', run: 'no-secret-20260101T020000', result: 'failed', reason: 'launch failed: secret "absent-secret" does not exist' },
      { spec: 'thin', kind: 'backup', slot: '2026-01-01T02:00:00.000Z', run: 'thin-20260101T020000', result: 'failed', reason: 'launch failed: secret "thin-secret": AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together (or neither, to use the task role)' },
    ]);
    expect(report.slots.filter((s) => s.result === 'launched').map((s) => s.spec)).toEqual(['every-minute', 'hourly']);
    expect((await statuses.get('thin'))?.lastError).toBe('2026-01-01T02:00:00.000Z: launch failed: secret "thin-secret": AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together (or neither, to use the task role)');
    expect(JSON.stringify(await statuses.list())).not.toContain(SECRET_VALUE);
  });

  it('records the slots a newer one supersedes as missed, once per spec, with how many', async () => {
    documents = [doc('every-minute', specYaml('every-minute', '* * * * *'))];
    watermark.state = { tick: '2026-01-01T01:57:30.000Z', pending: [] };
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.slots.map((s) => `${s.slot}:${s.result}${s.reason ? `: ${s.reason}` : ''}`)).toEqual([
      '2026-01-01T01:59:00.000Z:missed: superseded by the slot at 2026-01-01T02:00:00.000Z (2 slots missed)',
      '2026-01-01T02:00:00.000Z:launched',
    ]);
    expect(launcher.requests.map((r) => r.run)).toEqual(['every-minute-20260101T020000']);
    expect((await statuses.get('every-minute'))?.lastSkipped).toEqual({
      slot: '2026-01-01T01:59:00.000Z',
      reason: 'superseded by the slot at 2026-01-01T02:00:00.000Z (2 slots missed)',
    });
  });

  it('records a launch deferred for capacity in the status', async () => {
    launcher.fail.hourly = { launched: false, reason: 'Capacity is unavailable at this time', retryable: true, throttled: 0 };
    await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect((await statuses.get('hourly'))?.lastSkipped).toEqual({ slot: '2026-01-01T02:00:00.000Z', reason: 'deferred: Capacity is unavailable at this time' });
  });

  it('lets only one of two overlapping ticks launch', async () => {
    const [a, b] = await Promise.all([dispatchTick(deps, at('2026-01-01T02:00:30Z')), dispatchTick(deps, at('2026-01-01T02:00:31Z'))]);
    expect([a.lostRace, b.lostRace].sort()).toEqual([false, true]);
    expect(launcher.requests.map((r) => r.run).sort()).toEqual(['every-minute-20260101T020000', 'hourly-20260101T020000']);
  });

  it('keeps a retryable launch pending and launches it on the next tick', async () => {
    launcher.fail.hourly = { launched: false, reason: 'Capacity is unavailable at this time', retryable: true, throttled: 2 };
    const first = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(first.slots.find((s) => s.spec === 'hourly')).toMatchObject({ result: 'deferred', reason: 'Capacity is unavailable at this time' });
    expect(first.throttled).toBe(2);
    expect(watermark.state?.pending).toEqual([{ spec: 'hourly', slot: '2026-01-01T02:00:00.000Z', kind: 'backup' }]);
    delete launcher.fail.hourly;
    const second = await dispatchTick(deps, at('2026-01-01T02:01:30Z'));
    expect(second.slots.map((s) => `${s.spec}@${s.slot}:${s.result}`)).toEqual([
      'every-minute@2026-01-01T02:01:00.000Z:skipped',
      'hourly@2026-01-01T02:00:00.000Z:launched',
    ]);
    expect(watermark.state?.pending).toEqual([]);
  });

  it('finishes a tick that died after a partial launch, without a second task', async () => {
    launcher.hang.add('hourly'); // the Lambda is cut off while this RunTask is in flight
    void dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    await expect.poll(() => launcher.requests.length).toBe(2);
    expect(watermark.state?.pending).toHaveLength(2);
    launcher.hang.clear();

    // A tick within the dead tick's lease leaves its slots alone ...
    const within = await dispatchTick(deps, at('2026-01-01T02:01:30Z'));
    expect(within.slots.map((s) => s.slot)).not.toContain('2026-01-01T02:00:00.000Z');
    // ... and one after it adopts them: the launched one is recognised, the other launched once.
    const after = await dispatchTick(deps, at('2026-01-01T02:06:30Z'));
    expect(after.slots.filter((s) => s.slot === '2026-01-01T02:00:00.000Z').map((s) => `${s.spec}:${s.result}`)).toEqual(['hourly:launched']);
    const started = [...launcher.tasks.values()].map((t) => t.run);
    expect(started.filter((r) => r === 'every-minute-20260101T020000')).toHaveLength(1);
    expect(started.filter((r) => r === 'hourly-20260101T020000')).toHaveLength(1);
    expect(watermark.state?.pending).toEqual([]);
  });

  it('recognises its own run when a retried tick finds it running', async () => {
    watermark.state = { tick: '2026-01-01T02:00:30.000Z', pending: [{ spec: 'hourly', slot: '2026-01-01T02:00:00.000Z', kind: 'backup' }] };
    const run = slotRunId('hourly', new Date('2026-01-01T02:00:00Z'));
    launcher.tasks.set('t', { spec: 'hourly', run, taskArn: 't' });
    const report = await dispatchTick(deps, at('2026-01-01T02:00:40Z'));
    expect(report.slots).toEqual([{ spec: 'hourly', kind: 'backup', slot: '2026-01-01T02:00:00.000Z', run, result: 'already-running', taskArn: 't' }]);
    expect(launcher.requests).toEqual([]);
    expect(await statuses.get('hourly')).toBeUndefined();
  });

  it('leaves launches pending once past its deadline', async () => {
    deps = { ...deps, options: { deadline: new Date('2026-01-01T02:00:00Z') } };
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.slots.map((s) => s.result)).toEqual(['deferred', 'deferred']);
    expect(watermark.state?.pending).toHaveLength(2);
  });

  it('leaves the watermark alone when the specs cannot be listed', async () => {
    deps = { ...deps, specs: { documents: async () => Promise.reject(new Error('SlowDown: Please reduce your request rate.')) } };
    await expect(dispatchTick(deps, at('2026-01-01T02:00:30Z'))).rejects.toThrow('failed to list the specs: SlowDown: Please reduce your request rate.');
    expect(watermark.writes).toBe(0);
  });

  it('reports specs overdue from their last success', async () => {
    await statuses.update('hourly', (s) => ({ ...s, lastSuccessfulBackupTime: '2025-12-31T23:00:00.000Z' }));
    const report = await dispatchTick(deps, at('2026-01-01T02:00:30Z'));
    expect(report.overdue).toEqual([{ spec: 'hourly', since: '2025-12-31T23:00:00.000Z', dueBy: '2026-01-01T01:00:00.000Z' }]);
  });
});

describe('launchNow', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-launch-now-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('launches through the same path and refuses a spec that is running', async () => {
    const launcher = new MemoryLauncher();
    const deps = {
      specs: { documents: async () => [doc('hourly', specYaml('hourly', '0 * * * *'))] },
      cache: new SpecCache(),
      launcher,
      secrets: new MemorySecrets({ 's3-secret': S3_SECRET }),
      statuses: new FolderStatusStore(dir),
    };
    const { run } = await launchNow(deps, 'hourly', new Date('2026-01-01T12:00:00Z'));
    expect(run).toMatch(/^hourly-20260101T120000-[0-9a-f]{6}$/);
    expect(launcher.requests[0]).toMatchObject({ run, kind: 'backup', secretRef: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf' });
    await expect(launchNow(deps, 'hourly', new Date('2026-01-01T12:01:00Z'))).rejects.toThrow(`hourly is already running (${run})`);
    await expect(launchNow(deps, 'nope', new Date())).rejects.toThrow('nope: no valid spec named "nope"');
  });
});
