import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStatusStore } from '../../cli/local/stores';
import type { LoadedSpec } from '../../core/ports';
import { findOverdue, recordStoppedTask, taskOutcome, taskRun, type StoppedTask } from '../../core/record';
import type { Restic } from '../../schemas/restic';
import type { SpecStatus } from '../../schemas/status';

const fixture = (name: string): StoppedTask => JSON.parse(readFileSync(join(__dirname, '../fixtures/events', name), 'utf8')).detail;

const task = (over: Partial<StoppedTask> & { exitCode?: number | null; reason?: string }): StoppedTask => {
  const { exitCode, reason, ...rest } = over;
  return {
    taskArn: 'arn:aws:ecs:eu-west-1:111122223333:task/stash/abc',
    group: 'stash:s3-restic',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    containers: [{ name: 'runner', exitCode, reason }],
    ...rest,
  };
};

describe('taskOutcome', () => {
  it.each([
    ['exit 0', task({ exitCode: 0 }), 'succeeded', undefined],
    ['exit 1', task({ exitCode: 1 }), 'failed', 'the runner reported a failed run (see its log)'],
    ['exit 2', task({ exitCode: 2 }), 'config-error', 'the runner could not use the spec, its secret or its volumes (see its log)'],
    ['exit 3', task({ exitCode: 3 }), 'partial', 'some files could not be read (restic exit 3): the snapshot is incomplete'],
    ['exit 4', task({ exitCode: 4 }), 'interrupted', 'the runner was interrupted before the run finished'],
    ['exit 5', task({ exitCode: 5 }), 'timed-out', "the runner stopped the run at the spec's time limit (spec.timeout)"],
    [
      'stopped by the dispatcher after spec.timeout',
      task({ exitCode: 137, stopCode: 'UserInitiated', stoppedReason: 'stash: the run outlived spec.timeout (30m)' }),
      'timed-out',
      'the task outlived its time limit and was stopped: stash: the run outlived spec.timeout (30m)',
    ],
    ['an unknown exit code', task({ exitCode: 99 }), 'failed', 'runner exited with code 99: Essential container in task exited'],
    ['SIGKILL without OOM', task({ exitCode: 137 }), 'interrupted', 'runner killed (exit 137, SIGKILL): Essential container in task exited'],
    ['SIGTERM', task({ exitCode: 143 }), 'interrupted', 'runner terminated (exit 143, SIGTERM): Essential container in task exited'],
    [
      'out of memory with exit 0',
      task({ exitCode: 0, reason: 'OutOfMemoryError: Container killed due to memory usage' }),
      'failed',
      'out of memory: raise spec.resources.limits.memory: OutOfMemoryError: Container killed due to memory usage',
    ],
    [
      'EFS mount failure',
      task({ stopCode: 'TaskFailedToStart', stoppedReason: 'ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes' }),
      'failed',
      'task could not start (EFS mount, secret or network): ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes',
    ],
    ['another start failure', task({ stopCode: 'TaskFailedToStart', stoppedReason: 'Timeout waiting for network interface provisioning to complete.' }), 'failed', 'task failed to start: Timeout waiting for network interface provisioning to complete.'],
    ['spot interruption with exit 0', task({ exitCode: 0, stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' }), 'interrupted', 'capacity reclaimed (spot interruption): Your Spot Task was interrupted.'],
    ['stopped by a person', task({ exitCode: 143, stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' }), 'interrupted', 'task stopped before the run finished: Task stopped by user'],
    ['exit 0 of a task stopped around it', task({ exitCode: 0, stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Scaling activity' }), 'interrupted', 'task stopped before the run finished: Scaling activity'],
    ['no exit code', task({ exitCode: null, stoppedReason: 'Task stopped' }), 'failed', 'task stopped without an exit code: Task stopped'],
  ])('maps %s', (_what, t, outcome, reason) => {
    expect(taskOutcome(t)).toEqual(reason === undefined ? { outcome } : { outcome, reason });
  });

  it.each([
    ['ecs-task-stopped-succeeded.json', 'succeeded'],
    ['ecs-task-stopped-failed.json', 'failed'],
    ['ecs-task-stopped-oom.json', 'failed'],
    ['ecs-task-stopped-image-pull.json', 'failed'],
    ['ecs-task-stopped-spot.json', 'interrupted'],
  ])('maps the saved event %s to %s', (file, outcome) => {
    expect(taskOutcome(fixture(file)).outcome).toBe(outcome);
  });

  it('names an image pull failure as such', () => {
    expect(taskOutcome(fixture('ecs-task-stopped-image-pull.json')).reason).toMatch(/^image pull failed: CannotPullContainerError: /);
  });
});

describe('taskRun', () => {
  it('reads the references from the runner overrides', () => {
    expect(taskRun(fixture('ecs-task-stopped-succeeded.json'))).toEqual({
      spec: 's3-restic',
      run: 's3-restic-20260101T020000',
      kind: 'backup',
      slot: '2026-01-01T02:00:00.000Z',
      specKey: 'specs/s3-restic.yaml',
      specVersion: '3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
      secretRef: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf',
    });
  });

  it('falls back on the stash:<spec> group', () => {
    expect(taskRun(task({ exitCode: 0 }))).toMatchObject({ spec: 's3-restic', run: 's3-restic-task-abc', kind: 'backup' });
  });

  it('ignores tasks that are not ours', () => {
    expect(taskRun(task({ exitCode: 0, group: 'service:web' }))).toBeUndefined();
  });
});

describe('recordStoppedTask', () => {
  let dir: string;
  let statuses: FolderStatusStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-record-'));
    statuses = new FolderStatusStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records a success, clears the running mark and counts the backup', async () => {
    await statuses.update('s3-restic', (s) => ({ ...s, running: { run: 's3-restic-20260101T020000', startedAt: '2026-01-01T02:00:01.000Z' } }));
    const report = await recordStoppedTask({ statuses }, fixture('ecs-task-stopped-succeeded.json'), new Date('2026-01-01T02:04:00Z'));
    expect(report.recorded).toBe(true);
    const status = await statuses.get('s3-restic');
    expect(status).toMatchObject({
      name: 's3-restic',
      lastOutcome: 'succeeded',
      backupCount: 1,
      firstBackupTime: '2026-01-01T02:00:22.005Z',
      lastBackupTime: '2026-01-01T02:00:22.005Z',
      // The run's start, as Stash set it: the same as lastBackupTime when the last backup succeeded.
      lastSuccessfulBackupTime: '2026-01-01T02:00:22.005Z',
      lastBackupDuration: '3m19.196s',
    });
    expect(status?.running).toBeUndefined();
  });

  it('does not count a redelivered event twice', async () => {
    const event = fixture('ecs-task-stopped-succeeded.json');
    await recordStoppedTask({ statuses }, event, new Date('2026-01-01T02:04:00Z'));
    await recordStoppedTask({ statuses }, event, new Date('2026-01-01T02:05:00Z'));
    expect((await statuses.get('s3-restic'))?.backupCount).toBe(1);
  });

  it('keeps the last success when an out-of-memory run follows it', async () => {
    await recordStoppedTask({ statuses }, fixture('ecs-task-stopped-succeeded.json'), new Date('2026-01-01T02:04:00Z'));
    const oom = { ...fixture('ecs-task-stopped-oom.json'), startedAt: '2026-01-01T03:00:22.005Z', stoppedAt: '2026-01-01T03:01:00.000Z' };
    await recordStoppedTask({ statuses }, oom, new Date('2026-01-01T03:02:00Z'));
    expect(await statuses.get('s3-restic')).toMatchObject({
      lastOutcome: 'failed',
      lastSuccessfulBackupTime: '2026-01-01T02:00:22.005Z',
      lastError: 'out of memory: raise spec.resources.limits.memory: OutOfMemoryError: Container killed due to memory usage',
    });
  });

  it('hands restores to the Recovery status and leaves tasks that are not ours alone', async () => {
    const seen: string[] = [];
    const restore = task({
      exitCode: 0,
      overrides: {
        containerOverrides: [
          {
            name: 'runner',
            environment: [
              { name: 'STASH_SPEC_NAME', value: 's3-restic' },
              { name: 'STASH_RUN_ID', value: 's3-restic-restore-0a1b2c3d' },
              { name: 'STASH_RUN_KIND', value: 'restore' },
              { name: 'STASH_RECOVERY_NAME', value: 'get-it-back' },
            ],
          },
        ],
      },
    });
    const report = await recordStoppedTask({ statuses, recordRestore: async (run, result) => void seen.push(`${run.recoveryName}:${result.outcome}`) }, restore, new Date());
    expect(report.run?.kind).toBe('restore');
    expect(seen).toEqual(['get-it-back:succeeded']);
    expect(await recordStoppedTask({ statuses }, task({ exitCode: 0, group: 'family:web' }), new Date())).toEqual({ recorded: false });
    expect(await statuses.list()).toHaveLength(1);
  });
});

describe('findOverdue', () => {
  const spec = (name: string, schedule: string, paused = false): LoadedSpec => ({
    source: `specs/${name}.yaml`,
    warnings: [],
    spec: {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name },
      spec: { fileGroups: [{ path: '/data' }], backend: { storageSecretName: 's', local: { path: '/repo', volumeSource: { emptyDir: {} } } }, schedule, paused },
    } as Restic,
  });
  const status = (name: string, lastSuccessfulBackupTime?: string): [string, SpecStatus] => [name, { name, backupCount: 1, lastSuccessfulBackupTime }];
  const now = new Date('2026-01-07T12:30:00Z'); // a Wednesday

  it.each([
    ['hourly, last success 3 h ago', spec('a', '0 * * * *'), '2026-01-07T09:30:00Z', true],
    ['hourly, last success 90 min ago', spec('a', '0 * * * *'), '2026-01-07T11:00:00Z', false],
    ['@every 1h, exactly two intervals ago', spec('a', '@every 1h'), '2026-01-07T10:30:00Z', false],
    ['@every 1h, just over two intervals ago', spec('a', '@every 1h'), '2026-01-07T10:29:59Z', true],
    ['paused', spec('a', '0 * * * *', true), '2026-01-01T00:00:00Z', false],
  ])('%s', (_what, s, last, overdue) => {
    const found = findOverdue([s], new Map([status('a', last)]), now);
    expect(found.map((o) => o.spec)).toEqual(overdue ? ['a'] : []);
  });

  it('judges a spec that never succeeded from when it appeared', () => {
    const specs = [spec('new', '0 * * * *'), spec('old', '0 * * * *'), spec('unknown', '0 * * * *')];
    const appeared = new Map([
      ['new', new Date('2026-01-07T12:00:00Z')],
      ['old', new Date('2026-01-07T08:00:00Z')],
    ]);
    expect(findOverdue(specs, new Map(), now, appeared)).toEqual([{ spec: 'old', since: '2026-01-07T08:00:00.000Z', dueBy: '2026-01-07T10:00:00.000Z' }]);
  });

  it('counts a weekend gap of a weekday schedule as one interval', () => {
    const weekdays = spec('w', '0 2 * * 1-5');
    // Friday 02:00 success; Monday 12:00 is one slot later, Tuesday 02:00 the second.
    const friday = new Map([status('w', '2026-01-02T02:10:00Z')]);
    expect(findOverdue([weekdays], friday, new Date('2026-01-05T12:00:00Z'))).toEqual([]);
    expect(findOverdue([weekdays], friday, new Date('2026-01-06T03:00:00Z')).map((o) => o.spec)).toEqual(['w']);
  });
});
