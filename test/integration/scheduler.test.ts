import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../servers';
import { localSpec, workspace, type Workspace } from './helpers';

const BIN = join(__dirname, '../../bin/stash.mjs');
const PASSWORD = 'scheduler-password-3c9d';

describe('stash run, the local scheduler', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace('stash-scheduler-');
    await writeFile(join(ws.data, 'big.bin'), randomBytes(192 * 1024 * 1024));
    await ws.writeSpec('loop.yaml', localSpec(ws, 'loop'));
    await ws.writeSecret('loop-secret', { RESTIC_PASSWORD: PASSWORD });
  });
  afterAll(() => ws.cleanup());

  it('stops on Ctrl-C: restic is stopped, the run is recorded as interrupted, the status stays valid', async () => {
    // The first tick covers the last minute, so an @every 1m spec is due at once.
    const child = spawn(process.execPath, [BIN, 'run', '--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // restic init creates data/00..ff; the backup is under way once a pack file is in one of them.
    const packWritten = async () => {
      for (const dir of await readdir(join(ws.repo, 'loop', 'data')).catch(() => [] as string[])) {
        if ((await readdir(join(ws.repo, 'loop', 'data', dir)).catch(() => [])).length) return true;
      }
      return undefined;
    };
    await waitFor('restic to write a pack file', packWritten, { timeoutMs: 60_000, intervalMs: 20 });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('stash: stopping; waiting for running backups to stop');
    expect(out).toContain('loop: backup interrupted: ');
    expect(out).not.toContain('\x1b[');
    const status = JSON.parse(await readFile(join(ws.state, 'status', 'loop.json'), 'utf8'));
    expect(status).toMatchObject({ name: 'loop', lastOutcome: 'interrupted', backupCount: 0 });
    expect(status.running).toBeUndefined();
    expect((await readdir(join(ws.state, 'status'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // restic released its lock, and the next run works.
    expect(await readdir(join(ws.repo, 'loop', 'locks'))).toEqual([]);
    expect((await ws.stash(['backup', 'loop'])).code).toBe(0);
    expect(out).not.toContain(PASSWORD);
  });
});
