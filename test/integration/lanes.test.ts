/**
 * Failures stay in their lane, in local mode: a status file that cannot be used and hostile
 * spec folders. Each is reported with its path and touches only its own spec; the other
 * specs run.
 *
 * Each case was seen failing first: a corrupt `status/t.json` stopped every spec, and a
 * symbolic link loop or one huge file in `specs/` failed every spec.
 */
import { mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSpec, workspace, type Workspace } from './helpers';

const PASSWORD = 'lanes-password-5e1f07c2a9';

/** A workspace with specs `t` (the one a fault hits) and `u` (the bystander), both due every minute. */
async function twoSpecs(prefix: string): Promise<Workspace> {
  const ws = await workspace(prefix);
  await writeFile(join(ws.data, 'file.txt'), 'backed up\n');
  for (const name of ['t', 'u']) {
    await ws.writeSpec(`${name}.yaml`, localSpec(ws, name));
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
  }
  return ws;
}

/** `stash status --json`, by spec name. */
async function statuses(ws: Workspace): Promise<Record<string, Record<string, unknown>>> {
  const r = await ws.stash(['status', '--json']);
  expect(r.io.err).toEqual([]);
  expect(r.code).toBe(0);
  return Object.fromEntries((JSON.parse(r.io.out.join('')) as { name: string }[]).map((s) => [s.name, s]));
}

/** The next scheduled run: without the watermark each `@every 1m` spec is due once. */
async function nextTick(ws: Workspace) {
  await rm(join(ws.state, 'scheduler.json'), { force: true });
  return ws.stash(['run', '--once']);
}

describe('a status file that cannot be used', () => {
  let ws: Workspace;
  let statusFile: string;
  let bystander: string;
  const FOLDER = { folder: true } as const;

  /** Puts `form` where t's status belongs: that text, or a folder holding a file. */
  async function putStatus(form: string | typeof FOLDER) {
    await rm(statusFile, { recursive: true, force: true });
    if (typeof form === 'string') await writeFile(statusFile, form);
    else {
      await mkdir(statusFile);
      await writeFile(join(statusFile, 'inside'), 'kept\n');
    }
  }

  beforeAll(async () => {
    ws = await twoSpecs('stash-lanes-status-');
    expect((await ws.stash(['backup', 'u'])).code).toBe(0);
    statusFile = join(ws.state, 'status', 't.json');
    bystander = await readFile(join(ws.state, 'status', 'u.json'), 'utf8');
  });
  afterAll(() => ws.cleanup());

  it.each([
    ['empty', '', /^not valid JSON: Unexpected end of JSON input$/],
    ['an open brace', '{', /^not valid JSON: Expected property name or '}' in JSON at position 1/],
    ['null', 'null', /^Invalid input: expected object, received null$/],
    ['cut short', '{"name": "t", "backupCount": 1, "lastOut', /^not valid JSON: Unterminated string in JSON at position 40/],
    ['an array', '[]', /^Invalid input: expected object, received array$/],
    ['a string', '"t"', /^Invalid input: expected object, received string$/],
    ['a number', '42', /^Invalid input: expected object, received number$/],
    ['a name of the wrong type', '{"name": 5}', /^name: Invalid input: expected string, received number$/],
    ['a count of the wrong type', '{"name": "t", "backupCount": "many"}', /^backupCount: Invalid input: expected number, received string$/],
    ['a negative count', '{"name": "t", "backupCount": -1}', /^backupCount: Too small: expected number to be >=0$/],
    ["another spec's name", '{"name": "u"}', /^name: "u" is not the file's name$/],
    ['a folder', FOLDER, /^cannot read: EISDIR: illegal operation on a directory, read$/],
  ])('%s: `stash status` shows t with the error and the file, and u as it was', async (_, form, message) => {
    await putStatus(form);
    const rows = await statuses(ws);
    expect(Object.keys(rows)).toEqual(['t', 'u']);
    expect(rows.t).toEqual({ name: 't', nextRun: expect.any(String), paused: false, statusError: expect.stringMatching(/./) });
    expect(String(rows.t.statusError).slice(0, statusFile.length + 2)).toBe(`${statusFile}: `);
    expect(String(rows.t.statusError).slice(statusFile.length + 2)).toMatch(message);
    expect(rows.u).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
    expect(await readFile(join(ws.state, 'status', 'u.json'), 'utf8')).toBe(bystander);
  });

  it('shows the error in the text form too, in place of the counts', async () => {
    await putStatus('null');
    const r = await ws.stash(['status']);
    expect(r.code).toBe(0);
    expect(r.io.out.slice(0, 3)).toEqual(['t', `  status unreadable: ${statusFile}: Invalid input: expected object, received null`, expect.stringMatching(/^ {2}next run: /)]);
    expect(r.io.out[3]).toBe('u');
  });

  it.each([
    ['not JSON', '{'],
    ['a folder', FOLDER],
  ])('%s: a backup of t keeps it as t.json.corrupt-<time>, says so with both paths, and starts a fresh status', async (_, form) => {
    await putStatus(form);
    const r = await ws.stash(['backup', 't']);
    expect(r.io.out).toContain('t: backup succeeded');
    expect(r.code).toBe(0);
    const aside = (await readdir(join(ws.state, 'status'))).filter((f) => f.startsWith('t.json.corrupt-'));
    expect(aside).toEqual([expect.stringMatching(/^t\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z$/)]);
    const asidePath = join(ws.state, 'status', aside[0]);
    expect(r.io.err).toHaveLength(1);
    expect(r.io.err[0].startsWith(`${statusFile}: `)).toBe(true);
    expect(r.io.err[0].endsWith(`; kept as ${asidePath}, starting a fresh status`)).toBe(true);
    // Nothing of it is lost.
    expect(await readFile(typeof form === 'string' ? asidePath : join(asidePath, 'inside'), 'utf8')).toBe(typeof form === 'string' ? form : 'kept\n');
    const rows = await statuses(ws);
    expect(rows.t).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded' });
    expect(rows.t.statusError).toBeUndefined();
    await rm(asidePath, { recursive: true });
  });

  it('a tick with t\'s status corrupt backs up both t and u', async () => {
    await putStatus('null');
    const r = await nextTick(ws);
    expect(r.io.text()).toContain('t: run finished (kind=backup outcome=succeeded');
    expect(r.io.text()).toContain('u: run finished (kind=backup outcome=succeeded');
    expect(r.code).toBe(0);
    const rows = await statuses(ws);
    expect(rows.t).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded' });
    expect(rows.u).toMatchObject({ backupCount: 2, lastOutcome: 'succeeded' });
  });
});

describe('hostile spec folders', () => {
  it('a symbolic link loop, a 600 MB file and links that lead nowhere: each bad file named once, t and u load and run', async () => {
    const ws = await twoSpecs('stash-lanes-specs-');
    try {
      const at = (f: string) => join(ws.specs, f);
      await symlink('.', at('again'));
      await mkdir(at('team'));
      await symlink('..', at('team/up'));
      // Sparse: 600 MB long, hardly any disk.
      await writeFile(at('huge.yaml'), '');
      await truncate(at('huge.yaml'), 600 * 1024 * 1024);
      await symlink('missing.yaml', at('gone.yaml'));
      await symlink('self.yaml', at('self.yaml'));
      const problems = [
        `${at('gone.yaml')}: cannot read: ENOENT: no such file or directory, stat '${at('gone.yaml')}'`,
        `${at('huge.yaml')}: file is larger than 1048576 bytes; a spec is a few hundred`,
        `${at('self.yaml')}: cannot read: ELOOP: too many symbolic links encountered, stat '${at('self.yaml')}'`,
      ];

      const validate = await ws.stash(['validate', ws.specs]);
      expect(validate.io.err).toEqual(problems);
      expect(validate.io.out).toEqual([`ok ${at('t.yaml')}: t`, `ok ${at('u.yaml')}: u`, '2 valid, 3 invalid, 0 warning(s)']);
      expect(validate.code).toBe(1);

      const tick = await nextTick(ws);
      expect(tick.io.err).toEqual(problems.map((p) => `skipped: ${p}`));
      expect(tick.io.text()).toContain('t: run finished (kind=backup outcome=succeeded');
      expect(tick.io.text()).toContain('u: run finished (kind=backup outcome=succeeded');
      expect(tick.code).toBe(0);
    } finally {
      await ws.cleanup();
    }
  });
});
