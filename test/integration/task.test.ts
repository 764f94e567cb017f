import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTaskEnv, runTask, type TaskInputs } from '../../container/task';
import { listSnapshots, openTarget, runBackup } from '../../runner/run';
import { runRestic } from '../../runner/restic';
import { parseSpecDocument } from '../../core/spec';
import { randomBytes } from 'node:crypto';
import type { RunLog } from '../../runner/run';
import type { RunResult } from '../../schemas/status';
import { tree } from './helpers';

const PASSWORD = 'task-password-5d1c0b7e';

function capturingLog(): RunLog & { lines: { level: string; message: string; [k: string]: unknown }[] } {
  const lines: { level: string; message: string; [k: string]: unknown }[] = [];
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => void lines.push({ level, message, ...extra, loggedAt: Date.now() });
  return { lines, info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}

describe('the Fargate task entry', () => {
  let root: string;
  let data: string;
  let repo: string;
  let specText: string;
  const env = (extra: Record<string, string> = {}) =>
    readTaskEnv({
      STASH_SPEC_NAME: 'efs-data',
      STASH_SPEC_KEY: 'specs/efs-data.yaml',
      STASH_SPEC_VERSION: 'v1',
      STASH_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/efs-secret-AbCdEf',
      STASH_RUN_ID: 'efs-data-20261124T2300',
      // The repository is new: the dispatcher lets the first backup create it.
      STASH_MAY_INITIALISE: 'true',
      STASH_SLOT: '2026-11-24T23:00:00.000Z',
      ...extra,
    });
  let recoveryText = '';
  const inputs = (secret: Record<string, string> | undefined, text = () => specText): TaskInputs => ({
    specDocument: async (e) => ({ source: `s3://config/${e.specKey}`, version: e.specVersion, text: text() }),
    secret: async () => secret,
    recoveryDocument: async (e) => ({ source: `s3://config/${e.recoveryKey}`, text: recoveryText }),
  });
  const recovery = (paths?: string[]) =>
    stringify({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Recovery',
      metadata: { name: 'efs-data-recovery' },
      spec: { restic: 'efs-data', ...(paths ? { paths } : {}), recoveredVolumes: [{ mountPath: data, efs: { fileSystemId: 'fs-0fedcba9' } }] },
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stash-task-'));
    data = join(root, 'mnt/source');
    repo = join(root, 'mnt/repo');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'a.txt'), 'alpha\n');
    await mkdir(join(data, 'sub dir'), { recursive: true });
    await writeFile(join(data, 'sub dir/b.txt'), 'beta\n');
    // On AWS, volumes are mounted at their mountPath, so paths are used as written.
    specText = stringify({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name: 'efs-data' },
      spec: {
        fileGroups: [{ path: data, retentionPolicy: { keepLast: 1, prune: true } }],
        backend: { local: { path: repo, volumeSource: { efs: { fileSystemId: 'fs-0123abcd' } } }, storageSecretName: 'efs-secret' },
        schedule: '@hourly',
      },
    });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads only references from its environment and names what is missing', () => {
    expect(() => readTaskEnv({ STASH_SPEC_NAME: 'x' })).toThrow('invalid task environment: STASH_SPEC_KEY: missing; STASH_SECRET_ID: missing; STASH_RUN_ID: missing');
  });

  it('backs up, logs one JSON-ready summary per fileGroup, and exits 0', async () => {
    const log = capturingLog();
    const results: RunResult[] = [];
    const code = await runTask(env(), inputs({ RESTIC_PASSWORD: PASSWORD }), log, undefined, (r) => void results.push(r));
    expect(code).toBe(0);
    // What the task publishes as the BytesAdded metric: restic's own data_added.
    expect(results).toHaveLength(1);
    expect(results[0].fileGroups[0].dataAdded).toBeGreaterThan(0);
    const summary = log.lines.find((l) => l.message === 'fileGroup backed up');
    expect(summary).toMatchObject({ spec: 'efs-data', run: 'efs-data-20261124T2300', fileGroup: data, outcome: 'succeeded', filesNew: 2 });
    expect(summary?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(log.lines.at(-1)).toMatchObject({ message: 'run finished', outcome: 'succeeded' });
    expect(JSON.stringify(log.lines)).not.toContain(PASSWORD);
  });

  it('logs progress during a backup at most as often as asked', async () => {
    const big = join(root, 'mnt/big');
    await mkdir(big, { recursive: true });
    await writeFile(join(big, 'random.bin'), randomBytes(96 * 1024 * 1024));
    const spec = parseSpecDocument({
      source: 'big.yaml',
      text: specText.replace(`path: ${data}`, `path: ${big}`).replace(repo, join(root, 'mnt/repo-big')),
    }).specs[0].spec;
    const log = capturingLog();
    const result = await runBackup({ spec, secret: { RESTIC_PASSWORD: PASSWORD }, mode: { kind: 'aws' }, run: 'big-1', log, progressEveryMs: 250, mayInitialise: true });
    expect(result.outcome).toBe('succeeded');
    const progress = log.lines.filter((l) => l.message === 'backup progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ spec: 'efs-data', run: 'big-1', fileGroup: big });
    expect(progress[0].percentDone).toBeTypeOf('number');
    // restic prints a status line about every 100 ms; the runner passes on at most one per interval.
    const at = progress.map((l) => l.loggedAt as number);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(250);
  });

  it("keeps restic's result messages, not its progress messages, which go only to onJson", async () => {
    const source = join(root, 'mnt/progress');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'random.bin'), randomBytes(64 * 1024 * 1024));
    const spec = parseSpecDocument({ source: 'p.yaml', text: specText.replace(`path: ${data}`, `path: ${source}`).replace(repo, join(root, 'mnt/repo-progress')) }).specs[0].spec;
    const target = await openTarget(spec, { RESTIC_PASSWORD: PASSWORD }, { kind: 'aws' });
    try {
      expect((await runRestic(target, ['init'])).exitCode).toBe(0);
      const seen: string[] = [];
      const backup = await runRestic(target, ['backup', '--json', source], { onJson: (m) => void seen.push(String(m.message_type)) });
      expect(backup.exitCode).toBe(0);
      expect(seen).toContain('status');
      expect(seen.at(-1)).toBe('summary');
      expect(backup.json).toEqual([expect.objectContaining({ message_type: 'summary', files_new: 1 })]);
    } finally {
      await target.cleanup();
    }
  });

  it('restores what a Recovery asks for into the volume mounted at the fileGroup path', async () => {
    // On AWS the recovered volume is mounted at its mountPath under /; here the root is a folder.
    const root2 = join(root, 'restore-root');
    recoveryText = recovery([data]);
    const log = capturingLog();
    const code = await runTask(
      env({ STASH_RUN_KIND: 'restore', STASH_RECOVERY_KEY: 'specs/efs-data-recovery.yaml', STASH_RECOVERY_NAME: 'efs-data-recovery', STASH_RESTORE_ROOT: root2 }),
      inputs({ RESTIC_PASSWORD: PASSWORD }),
      log,
    );
    expect(code).toBe(0);
    expect(await tree(join(root2, data))).toEqual(await tree(data));
    expect(log.lines.at(-1)).toMatchObject({ message: 'run finished', kind: 'restore', outcome: 'succeeded', recovery: 'efs-data-recovery' });
  });

  it.each([
    [
      "Stash 0.6's shape (workload, podOrdinal as a string, the source under VolumeSource)",
      { workload: { kind: 'Deployment', name: 'efs-data' }, podOrdinal: '0', recoveredVolumes: [{ mountPath: '/mnt', VolumeSource: { efs: { fileSystemId: 'fs-0fedcba9' } } }] },
    ],
    [
      "Stash 0.7's shape (repository deployment.<name>, the snapshot by Stash's name for it)",
      {
        repository: { name: 'deployment.efs-data', namespace: 'default' },
        snapshot: 'SNAPSHOT',
        recoveredVolumes: [{ mountPath: '/mnt', name: 'restored', efs: { fileSystemId: 'fs-0fedcba9' } }],
      },
    ],
  ])('restores from a Recovery in %s', async (_shape, spec) => {
    const snapshots = await listSnapshots({ spec: parseSpecDocument({ source: 's.yaml', text: specText }).specs[0].spec, secret: { RESTIC_PASSWORD: PASSWORD }, mode: { kind: 'aws' } });
    const text = stringify({ apiVersion: 'stash.appscode.com/v1alpha1', kind: 'Recovery', metadata: { name: 'efs-data-recovery' }, spec }).replace(
      'SNAPSHOT',
      `deployment.efs-data-${snapshots.at(-1)!.short_id}`,
    );
    recoveryText = text;
    const root3 = join(root, `restore-${Object.keys(spec)[0]}`);
    const log = capturingLog();
    const code = await runTask(
      env({ STASH_RUN_KIND: 'restore', STASH_RECOVERY_KEY: 'specs/r.yaml', STASH_RECOVERY_NAME: 'efs-data-recovery', STASH_RESTORE_ROOT: root3 }),
      inputs({ RESTIC_PASSWORD: PASSWORD }),
      log,
    );
    expect(log.lines.at(-1)).toMatchObject({ message: 'run finished', kind: 'restore', outcome: 'succeeded' });
    expect(code).toBe(0);
    expect(await tree(join(root3, data))).toEqual(await tree(data));
  });

  it('refuses a Recovery path that is not a fileGroup of the spec (exit 2)', async () => {
    recoveryText = recovery(['/not/a/filegroup']);
    const log = capturingLog();
    const code = await runTask(
      env({ STASH_RUN_KIND: 'restore', STASH_RECOVERY_KEY: 'specs/r.yaml', STASH_RESTORE_ROOT: join(root, 'never') }),
      inputs({ RESTIC_PASSWORD: PASSWORD }),
      log,
    );
    expect(code).toBe(2);
    expect(log.lines.at(-1)).toMatchObject({ outcome: 'config-error', error: 'spec.paths: /not/a/filegroup is not a fileGroup of efs-data' });
  });

  it('exits 2 (configuration error) when the secret lacks RESTIC_PASSWORD, and says which key', async () => {
    const log = capturingLog();
    const code = await runTask(env(), inputs({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }), log);
    expect(code).toBe(2);
    expect(log.lines.at(-1)).toMatchObject({ outcome: 'config-error', error: 'secret "efs-secret": missing required key RESTIC_PASSWORD' });
    expect(JSON.stringify(log.lines)).not.toContain('AKIAEXAMPLE');
  });

  it('exits 2 when the spec at this version is invalid, with the field path', async () => {
    const log = capturingLog();
    const code = await runTask(env(), inputs({ RESTIC_PASSWORD: PASSWORD }, () => specText.replace('schedule: "@hourly"', 'schedule: "every day"')), log);
    expect(code).toBe(2);
    expect(String(log.lines.at(-1)?.error)).toMatch(/^s3:\/\/config\/specs\/efs-data\.yaml: spec\.schedule: invalid schedule "every day"/);
  });

  it('exits 1 when restic fails (the repository folder cannot be created)', async () => {
    const log = capturingLog();
    // Not a folder under a file: restic 0.17+ retries that stat for 15 minutes. /proc has no
    // such folder (restic: no repository, exit 10) and refuses to make one (init fails at once).
    const broken = specText.replace(repo, '/proc/stash-cannot-create/repo');
    const code = await runTask(env(), inputs({ RESTIC_PASSWORD: PASSWORD }, () => broken), log);
    expect(code).toBe(1);
    expect(log.lines.at(-1)).toMatchObject({ message: 'run finished', outcome: 'failed' });
    expect(String(log.lines.at(-1)?.error)).toContain('restic init failed (exit 1): Fatal: create repository at /proc/stash-cannot-create/repo failed');
  });
});
