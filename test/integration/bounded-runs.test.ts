/**
 * A bounded run: a restic that hangs is stopped at the spec's `timeout` and the run recorded as
 * `timed-out`, locally and in the Fargate task; the next run is not held up by it.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStatusStore } from '../../cli/local/stores';
import { readTaskEnv, runTask } from '../../container/task';
import { OUTCOME_EXIT_CODES, type RunResult } from '../../schemas/status';
import { taskEnvironment } from '../../schemas/task-env';
import { localSpec, workspace, type Workspace } from './helpers';

const PASSWORD = 'bounded-runs-2f6a';

describe('a run that outlives its timeout', () => {
  let ws: Workspace;
  let hanging: string;

  beforeAll(async () => {
    ws = await workspace('stash-bounded-');
    await writeFile(join(ws.data, 'file.txt'), 'data\n');
    // restic that answers `version` and hangs on anything else, as a stuck backend connection would.
    hanging = join(ws.root, 'restic-hanging');
    await writeFile(hanging, ['#!/bin/sh', 'if [ "$1" = version ]; then exec restic version; fi', 'exec sleep 3600', ''].join('\n'));
    await chmod(hanging, 0o755);
  });
  afterAll(() => ws.cleanup());

  async function withRestic<T>(binary: string, fn: () => Promise<T>): Promise<T> {
    const previous = process.env.STASH_RESTIC_BINARY;
    process.env.STASH_RESTIC_BINARY = binary;
    try {
      return await fn();
    } finally {
      if (previous === undefined) delete process.env.STASH_RESTIC_BINARY;
      else process.env.STASH_RESTIC_BINARY = previous;
    }
  }

  it('locally: restic is stopped at the limit, the run is timed-out, and the next run succeeds', async () => {
    const spec = localSpec(ws, 'hung');
    (spec.spec as Record<string, unknown>).timeout = '2s';
    await ws.writeSpec('hung.yaml', spec);
    await ws.writeSecret('hung-secret', { RESTIC_PASSWORD: PASSWORD });
    const started = Date.now();
    const r = await withRestic(hanging, () => ws.stash(['backup', 'hung']));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    expect(r.io.text()).toContain("hung: backup timed-out: stopped at the run's time limit (spec.timeout 2s)");
    const status = await new FolderStatusStore(ws.state).get('hung');
    expect(status).toMatchObject({ lastOutcome: 'timed-out', backupCount: 0 });
    expect(status?.running).toBeUndefined();

    // The next run, with a limit a real first backup fits in, is not held up by the one before.
    (spec.spec as Record<string, unknown>).timeout = '10m';
    await ws.writeSpec('hung.yaml', spec);
    const next = await ws.stash(['backup', 'hung']);
    expect(next.io.text()).toContain('hung: backup succeeded');
  });

  it('in the Fargate task: the task exits with the timed-out code', async () => {
    const repo = join(ws.root, 'task-repo');
    const text = stringify({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name: 'task-hung' },
      spec: {
        fileGroups: [{ path: ws.data }],
        backend: { local: { path: repo, volumeSource: { efs: { fileSystemId: 'fs-0123abcd' } } }, storageSecretName: 'task-secret' },
        schedule: '@hourly',
        timeout: '2s',
      },
    });
    const env = readTaskEnv(
      Object.fromEntries(
        taskEnvironment({ spec: 'task-hung', run: 'task-hung-1', kind: 'backup', specKey: 'specs/task-hung.yaml', secretRef: 'arn:x', mayInitialise: true }).map((e) => [e.name, e.value]),
      ),
    );
    const results: RunResult[] = [];
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const code = await withRestic(hanging, () =>
      runTask(
        env,
        {
          specDocument: async () => ({ source: 's3://config/specs/task-hung.yaml', text }),
          secret: async () => ({ RESTIC_PASSWORD: PASSWORD }),
          recoveryDocument: async () => {
            throw new Error('not a restore');
          },
        },
        log,
        undefined,
        (result) => void results.push(result),
      ),
    );
    expect(code).toBe(OUTCOME_EXIT_CODES['timed-out']);
    expect(results).toMatchObject([{ run: 'task-hung-1', outcome: 'timed-out', fileGroups: [{ outcome: 'timed-out' }] }]);
  });
});
