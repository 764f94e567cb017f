/**
 * A check that rides along with a backup (both fell due in one tick) and fails: the backup is
 * still a backup (counted, its snapshot and bytes kept) and the check is recorded as a check,
 * in local mode and on AWS alike.
 *
 * The check fails for real: restic is given through a wrapper that, for `restic check`
 * only, first overwrites the (local) repository's pack files with zeros, so the real restic
 * finds the repository damaged.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../cli/local/engine';
import { readTaskEnv, runTask } from '../../container/task';
import { S3RunStore } from '../../aws/s3-run-store';
import { S3StatusStore } from '../../aws/s3-status-store';
import { composeRecord } from '../../lambda/compose';
import { readEnv, RecordEnvSchema } from '../../lambda/env';
import { createRecordHandler } from '../../lambda/record';
import { taskEnvironment, type TaskRun } from '../../schemas/task-env';
import type { RunResult } from '../../schemas/status';
import { startMoto, type MotoServer } from '../servers';

const PASSWORD = 'backup-then-check-5e7a';
const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash';

/** restic, except that `restic check` first overwrites every pack file of $RESTIC_REPOSITORY with zeros. */
async function damagingRestic(dir: string): Promise<string> {
  const path = join(dir, 'restic-damaging-check');
  await writeFile(
    path,
    [
      '#!/bin/sh',
      'for arg in "$@"; do',
      '  if [ "$arg" = check ]; then',
      '    find "$RESTIC_REPOSITORY/data" -type f | while read -r pack; do',
      '      size=$(stat -c %s "$pack"); chmod u+w "$pack"; head -c "$size" /dev/zero > "$pack"',
      '    done',
      '    break',
      '  fi',
      'done',
      'exec restic "$@"',
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);
  return path;
}

const spec = (name: string, data: string, repo: string, volumeSource: Record<string, unknown>) => ({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Restic',
  metadata: { name },
  spec: {
    fileGroups: [{ path: data }],
    backend: { local: { path: repo, volumeSource }, storageSecretName: `${name}-secret` },
    schedule: '@daily',
  },
});

describe('a backup whose check fails', () => {
  let root: string;
  let data: string;
  let restic: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stash-backup-check-'));
    data = join(root, 'data');
    await mkdir(data);
    await writeFile(join(data, 'a.txt'), 'alpha\n'.repeat(1000));
    restic = await damagingRestic(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('in local mode: the backup is counted as a success and the check recorded as failed', async () => {
    const repo = join(root, 'local-repo');
    await mkdir(join(root, 'specs'));
    await mkdir(join(root, 'secrets/local-secret'), { recursive: true });
    await writeFile(join(root, 'specs/local.yaml'), stringify(spec('local', data, '/repo', { hostPath: { path: repo } })));
    await writeFile(join(root, 'secrets/local-secret/RESTIC_PASSWORD'), PASSWORD);
    const lines: string[] = [];
    const engine = new LocalEngine(
      { specs: [join(root, 'specs')], secrets: join(root, 'secrets'), state: join(root, 'state'), binary: restic },
      { line: (t) => lines.push(t), error: (t) => lines.push(t) },
    );

    const result = await engine.runNow('local', { slot: new Date('2026-01-01T00:00:00Z'), alsoCheck: true });

    expect(result).toMatchObject({ kind: 'backup', outcome: 'succeeded' });
    expect(result.fileGroups[0].snapshotId).toMatch(/^[0-9a-f]{8,64}$/);
    const status = await engine.statusStore.get('local');
    expect(status).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded', lastCheckOutcome: 'failed', lastRun: { run: 'local-20260101T000000' } });
    expect(status?.lastSuccessfulBackupTime).toBeTypeOf('string');
    expect(status?.lastCheckTime).toBeTypeOf('string');
    expect(status?.lastError).toMatch(/^check failed: restic check failed \(exit 1\)/);
    expect(status?.running).toBeUndefined();
  });

  describe('on AWS: the task reports both results, the record function stores both', () => {
    let moto: MotoServer;
    let s3: S3Client;
    const BUCKET = 'stash-config';

    beforeAll(async () => {
      moto = await startMoto();
      s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    });
    afterAll(async () => {
      s3?.destroy();
      await moto?.stop();
    });

    it('counts the backup with its bytes and records the check as a failed check', async () => {
      const repo = join(root, 'efs-repo');
      const run: TaskRun = {
        spec: 'efs',
        run: 'efs-20260101T000000',
        kind: 'backup',
        slot: '2026-01-01T00:00:00.000Z',
        specKey: 'specs/efs.yaml',
        secretRef: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/efs-secret-AbCdEf',
        alsoCheck: true,
        mayInitialise: true,
      };
      const environment = taskEnvironment(run);
      const runs = new S3RunStore({ client: s3, bucket: BUCKET, prefix: 'runs/' });
      const reported: RunResult[] = [];
      const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const previous = process.env.STASH_RESTIC_BINARY;
      process.env.STASH_RESTIC_BINARY = restic;
      let exitCode: number;
      const startedAt = new Date();
      try {
        exitCode = await runTask(
          readTaskEnv(Object.fromEntries(environment.map((e) => [e.name, e.value]))),
          {
            specDocument: async (env) => ({ source: `s3://${BUCKET}/${env.specKey}`, text: stringify(spec('efs', data, repo, { efs: { fileSystemId: 'fs-0123abcd' } })) }),
            secret: async () => ({ RESTIC_PASSWORD: PASSWORD }),
            recoveryDocument: async () => {
              throw new Error('not a restore');
            },
          },
          log,
          undefined,
          async (result) => {
            reported.push(result);
            await runs.put(result);
          },
        );
      } finally {
        if (previous === undefined) delete process.env.STASH_RESTIC_BINARY;
        else process.env.STASH_RESTIC_BINARY = previous;
      }
      expect(exitCode).toBe(0);
      expect(reported.map((r) => [r.run, r.kind, r.outcome])).toEqual([
        ['efs-20260101T000000', 'backup', 'succeeded'],
        ['efs-20260101T000000-check', 'check', 'failed'],
      ]);

      const handler = createRecordHandler(
        composeRecord(readEnv(RecordEnvSchema, { CONFIG_BUCKET: BUCKET, CLUSTER_ARN }), { s3 }, { clock: { now: () => new Date() } }),
      );
      const taskArn = `${CLUSTER_ARN.replace(':cluster/', ':task/')}/0c7e2a3b9f6d4b1e8a5c2d7f9e0b1a23`;
      const recorded = await handler({
        version: '0',
        id: 'e1',
        'detail-type': 'ECS Task State Change',
        source: 'aws.ecs',
        account: '111122223333',
        time: new Date().toISOString(),
        region: 'eu-west-1',
        resources: [taskArn],
        detail: {
          taskArn,
          clusterArn: CLUSTER_ARN,
          group: 'stash:efs',
          startedBy: 'stash',
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          startedAt: startedAt.toISOString(),
          stoppedAt: new Date().toISOString(),
          containers: [{ name: 'runner', exitCode, lastStatus: 'STOPPED' }],
          overrides: { containerOverrides: [{ name: 'runner', environment }] },
        },
      });
      expect(recorded).toMatchObject({ recorded: true, spec: 'efs', run: 'efs-20260101T000000', outcome: 'succeeded' });

      const status = await new S3StatusStore({ client: s3, bucket: BUCKET, prefix: 'status/' }).get('efs');
      expect(status).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded', lastCheckOutcome: 'failed' });
      expect(status?.lastCheckTime).toBe(reported[1].startedAt);
      expect(status?.lastSuccessfulBackupTime).toBe(reported[0].startedAt);
      // The task's own result, with restic's numbers: what the exit code alone could not tell.
      expect(status?.lastRun?.fileGroups[0].snapshotId).toBe(reported[0].fileGroups[0].snapshotId);
      expect(status?.lastRun?.fileGroups[0].dataAdded).toBeGreaterThan(0);
      expect(status?.lastError).toMatch(/^check failed: restic check failed \(exit 1\)/);
      expect(await readdir(join(repo, 'data'), { recursive: true })).not.toHaveLength(0);
    });

    it('stores the result the exit code stands for when the task died before it could report', async () => {
      const run: TaskRun = { spec: 'gone', run: 'gone-20260101T000000', kind: 'backup', specKey: 'specs/gone.yaml', secretRef: 'arn:x' };
      const handler = createRecordHandler(
        composeRecord(readEnv(RecordEnvSchema, { CONFIG_BUCKET: BUCKET, CLUSTER_ARN }), { s3 }, { clock: { now: () => new Date('2026-01-01T00:05:00Z') } }),
      );
      const taskArn = `${CLUSTER_ARN.replace(':cluster/', ':task/')}/1f`;
      await handler({
        version: '0',
        id: 'e2',
        'detail-type': 'ECS Task State Change',
        source: 'aws.ecs',
        account: '111122223333',
        time: '2026-01-01T00:05:00Z',
        region: 'eu-west-1',
        resources: [taskArn],
        detail: {
          taskArn,
          clusterArn: CLUSTER_ARN,
          group: 'stash:gone',
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          startedAt: '2026-01-01T00:00:10Z',
          stoppedAt: '2026-01-01T00:04:00Z',
          containers: [{ name: 'runner', exitCode: 137, lastStatus: 'STOPPED' }],
          overrides: { containerOverrides: [{ name: 'runner', environment: taskEnvironment(run) }] },
        },
      });
      const stored = await new S3RunStore({ client: s3, bucket: BUCKET, prefix: 'runs/' }).get('gone', 'gone-20260101T000000');
      expect(stored).toMatchObject({ spec: 'gone', run: 'gone-20260101T000000', kind: 'backup', outcome: 'interrupted', durationMs: 230_000 });
      expect(stored?.error).toMatch(/^runner killed \(exit 137, SIGKILL\)/);
    });
  });
});
