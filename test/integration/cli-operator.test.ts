/**
 * The stash command as an operator meets it, with the real restic: the built command in a
 * pseudo-terminal (`script` from util-linux) and through a pipe, its history and logs, safe
 * restores, status as a health check, renamed specs, the errors that say what to do, and the
 * command installed from a checkout and from a packed tarball.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTIC_HOST_ANNOTATION } from '../../core/host';
import { waitFor } from '../servers';
import { localSpec, tree, workspace, type Workspace } from './helpers';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/stash.mjs');
const PASSWORD = 'operator-password-51c3';
const sh = promisify(execFile);

// eslint-disable-next-line no-control-regex
const ESC = /\x1b/;
// eslint-disable-next-line no-control-regex
const COLOUR = /\x1b\[\d+m/;

const stores = (ws: Workspace) => ['--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state];
const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/** The built command in a pseudo-terminal (`script -qfec`), its terminal output as one string. */
async function inTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const command = ['node', BIN, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** The built command with stdout and stderr piped (no terminal). */
async function piped(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await sh(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('a backup as a person sees it', () => {
  let ws: Workspace;
  const runs: string[] = [];

  beforeAll(async () => {
    ws = await workspace('stash-operator-');
    // ~200 MB that does not compress: restic takes a few seconds, long enough to draw progress.
    for (let i = 0; i < 4; i++) await writeFile(join(ws.data, `part-${i}.bin`), randomBytes(50 * 1024 * 1024));
    await ws.writeSpec('home.yaml', localSpec(ws, 'home', { retention: { keepLast: 5, prune: false } }));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
  });
  afterAll(() => ws.cleanup());

  it('in a terminal, draws a live percent line per fileGroup, then the summary in human units', async () => {
    const r = await inTerminal(['backup', 'home', ...stores(ws)]);
    runs.push('backup succeeded');
    expect(r.code).toBe(0);
    // log-update redraws the line in place (synchronised output, erase line, cursor up).
    expect(r.out).toContain('\x1b[?2026h');
    expect(r.out).toMatch(/home \/source\/data {2}\[\d+:\d\d\] \d{1,3}\.\d% {2}\d\/4 files {2}[\d.]+ (B|KiB|MiB)\/200\.0 MiB/);
    expect(r.out).toMatch(/home: \/source\/data: added 200\.0 MiB \(200\.0 MiB stored\) in [\d.]+ s; 4 files \(4 new, 0 changed, 0 unchanged\); snapshot [0-9a-f]{8}; forgot 0 snapshots, 1 kept/);
    expect(r.out).toMatch(/home: backup \x1b\[32msucceeded\x1b\[39m \([\d.]+ s\)/);
    expect(r.out).not.toContain(PASSWORD);
  });

  it('through a pipe, prints the same lines without a single control code', async () => {
    await appendFile(join(ws.data, 'part-0.bin'), 'more');
    const r = await piped(['backup', 'home', ...stores(ws)]);
    runs.push('backup succeeded');
    expect(r.code).toBe(0);
    expect(r.out + r.err).not.toMatch(ESC);
    expect(r.out.split('\n')).toEqual([
      expect.stringMatching(/^home: \/source\/data: added [\d.]+ (B|KiB|MiB) \([\d.]+ (B|KiB|MiB) stored\) in [\d.]+ s; 4 files \(0 new, 1 changed, 3 unchanged\); snapshot [0-9a-f]{8}; forgot 0 snapshots, 2 kept$/),
      expect.stringMatching(/^home: backup succeeded \([\d.]+ s\)$/),
      '',
    ]);
    expect(r.err).toBe('');
  });

  it('respects NO_COLOR in a terminal, and --quiet prints the outcome alone', async () => {
    const plain = await inTerminal(['check', 'home', ...stores(ws)], { NO_COLOR: '1' });
    runs.push('check succeeded');
    expect(plain.code).toBe(0);
    expect(plain.out).not.toMatch(COLOUR);
    expect(plain.out).toMatch(/home: check succeeded \([\d.]+ s\)/);
    // restic check prints no progress: the live line is a clock.
    expect(plain.out).toMatch(/home {2}checking the repository \[0:0\d\] /);

    const quiet = await piped(['--quiet', 'backup', 'home', ...stores(ws)]);
    runs.push('backup succeeded');
    expect(quiet.out).toMatch(/^home: backup succeeded \([\d.]+ s\)\n$/);
    expect(quiet.err).toBe('');
  });

  it('with --verbose, prints every record of the run log with its details', async () => {
    const r = await piped(['backup', 'home', '--verbose', ...stores(ws)]);
    runs.push('backup succeeded');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^home: backup started \(slot=|^home: backup started$/m);
    expect(r.out).toMatch(/^home: fileGroup backed up \(fileGroup=\/source\/data outcome=succeeded snapshotId=[0-9a-f]{64} .*dataAdded=\d+/m);
    expect(r.out).toMatch(/^home: run finished \(kind=backup outcome=succeeded durationMs=\d+ dataAdded=\d+\)$/m);
  });

  it('lists every run made in stash history, newest first, as a table and as JSON', async () => {
    const text = await ws.stash(['history', 'home']);
    expect(text.code).toBe(0);
    expect(text.io.out[0]).toMatch(/^STARTED \(UTC\) +KIND +OUTCOME +DURATION +ADDED +SNAPSHOTS +RUN$/);
    expect(text.io.out).toHaveLength(runs.length + 1);
    const json = JSON.parse((await ws.stash(['history', 'home', '--json'])).io.out.join('')) as { kind: string; outcome: string; startedAt: string; run: string; fileGroups: { snapshotId?: string }[] }[];
    expect(json.map((r) => `${r.kind} ${r.outcome}`)).toEqual([...runs].reverse());
    expect(json.map((r) => r.startedAt)).toEqual(json.map((r) => r.startedAt).sort().reverse());
    expect(text.io.out[runs.length]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +backup +succeeded +[\d.]+ s +200\.0 MiB +[0-9a-f]{8} +home-\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect((await ws.stash(['history', 'home', '--limit', '2', '--json'])).io.out.join('')).toBe(`${JSON.stringify(json.slice(0, 2), null, 2)}\n`);
  });

  it('prints one run of the log with stash logs --run, and follows new records with -f', async () => {
    const [last] = JSON.parse((await ws.stash(['history', 'home', '--json', '--limit', '1'])).io.out.join('')) as { run: string }[];
    const one = await ws.stash(['logs', 'home', '--run', last.run, '--json']);
    const records = one.io.out.map((l) => JSON.parse(l) as { run?: string; message: string });
    expect(records.length).toBeGreaterThan(2);
    expect(new Set(records.map((r) => r.run))).toEqual(new Set([last.run]));
    expect(records.at(-1)?.message).toBe('run finished');

    const controller = new AbortController();
    const following = ws.stash(['logs', 'home', '-f', '--since', new Date().toISOString()], { signal: controller.signal });
    const backup = await ws.stash(['backup', 'home']);
    runs.push('backup succeeded');
    expect(backup.code).toBe(0);
    const logFile = join(ws.state, 'logs', 'home.jsonl');
    await waitFor('the follower to catch up', async () => ((await readFile(logFile, 'utf8')).trim().split('\n').length > 0 ? true : undefined));
    // The follower reads the file every 500 ms; give it one more round, then stop it as Ctrl-C would.
    await new Promise((done) => setTimeout(done, 1200));
    controller.abort();
    const followed = await following;
    expect(followed.code).toBe(0);
    expect(followed.io.out.filter((l) => l.includes('home: run finished (kind=backup outcome=succeeded'))).toHaveLength(1);
  });

  it('exits quietly when its reader goes away (stash logs | head -1)', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(), level: 'INFO', message: `line ${i}`, spec: 'home' }));
    await appendFile(join(ws.state, 'logs', 'home.jsonl'), `${lines.join('\n')}\n`);
    const { stdout, stderr } = await sh('bash', ['-c', `node ${quote(BIN)} logs home ${stores(ws).map(quote).join(' ')} | head -1; echo "exit \${PIPESTATUS[0]}"`]);
    expect(stdout.split('\n')).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}home: /), 'exit 0', '']);
    expect(stderr).toBe('');
  });

  it('describes the spec: schedule, fileGroup, repository, host, status, snapshots and recent runs', async () => {
    const r = await ws.stash(['describe', 'home']);
    expect(r.code).toBe(0);
    expect(r.io.out).toEqual(
      expect.arrayContaining([
        `home  (${join(ws.specs, 'home.yaml')})`,
        expect.stringMatching(/^ {2}schedule: {4}@every 1m; next: \d{4}-.*Z, /),
        '  fileGroup:   /source/data  retention: --keep-last 5',
        `  repository:  local:${join(ws.repo, 'home')} (local), secret "home-secret"`,
        '  restic host: home',
        `  snapshots:   5, newest ${JSON.parse((await ws.stash(['snapshots', 'home', '--json'])).io.out.join('')).at(-1).time}`,
        '  recent runs (stash history home lists all):',
      ]),
    );
  });
});

describe('version and validation', () => {
  it('prints stash\'s version and the restic it finds', async () => {
    const r = await piped(['--version']);
    const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(r.out.split('\n')).toEqual([`stash ${version} (Node.js ${process.version})`, expect.stringMatching(/^restic \d+\.\d+\.\d+ compiled with go/), '']);
    expect((await piped(['-V'])).out).toBe(r.out);
  });

  it('says so when there is no restic', async () => {
    const r = await piped(['--version'], { STASH_RESTIC_BINARY: '/nonexistent/restic' });
    expect(r.code).toBe(0);
    expect(r.err).toBe('warning: restic: /nonexistent/restic not found: install restic (apt-get install restic) or put it on PATH\n');
  });

  it('validates as JSON: the valid documents, every problem with its file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stash-validate-json-'));
    try {
      await writeFile(join(dir, 'good.yaml'), await readFile(join(ROOT, 'test/fixtures/specs/s3-restic.yaml'), 'utf8'));
      await writeFile(join(dir, 'bad.yaml'), 'apiVersion: stash.appscode.com/v1alpha1\nkind: Restic\nmetadata: {name: bad}\nspec:\n  filegroups: []\n');
      const r = await piped(['validate', dir, '--json']);
      expect(r.code).toBe(1);
      const json = JSON.parse(r.out) as { valid: unknown[]; problems: { source: string; path: string; message: string }[]; checked: number };
      expect(json.valid).toEqual([{ kind: 'Restic', name: 's3-restic', source: join(dir, 'good.yaml') }]);
      expect(json.problems).toContainEqual({ source: join(dir, 'bad.yaml'), path: 'spec.filegroups', message: 'unknown field' });
      expect(json.checked).toBe(2);
      expect(r.err).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a restore into a folder that is not empty', () => {
  let ws: Workspace;
  let target: string;
  let dest: string;

  beforeAll(async () => {
    ws = await workspace('stash-operator-restore-');
    await writeFile(join(ws.data, 'notes.txt'), 'notes as backed up\n');
    await writeFile(join(ws.data, 'other.txt'), 'other\n');
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    expect((await ws.stash(['backup', 'home'])).code).toBe(0);
    target = join(ws.root, 'target');
    dest = join(target, 'source/data');
    await mkdir(dest, { recursive: true });
    await writeFile(join(dest, 'notes.txt'), 'notes edited since\n');
    await writeFile(join(dest, 'mine.txt'), 'not in the snapshot\n');
  });
  afterAll(() => ws.cleanup());

  it('is refused without --overwrite, listing what would change, and leaves every file as it was', async () => {
    const before = await tree(target);
    const r = await ws.stash(['restore', 'home', '--target', target]);
    expect(r.code).toBe(1);
    expect(r.io.err).toEqual([
      [
        `restore of home refused: ${dest} is not empty. Restoring would change:`,
        `  ${join(dest, 'notes.txt')}: would be replaced`,
        '  and add 1 entry',
        'Nothing was changed. Restore into an empty folder, see every change with --dry-run, or make them with --overwrite.',
      ].join('\n'),
    ]);
    expect(await tree(target)).toEqual(before);
    expect(await readFile(join(dest, 'notes.txt'), 'utf8')).toBe('notes edited since\n');
  });

  it('lists every change with --dry-run and changes nothing', async () => {
    const before = await tree(target);
    const r = await ws.stash(['restore', 'home', '--target', target, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.io.out).toEqual([
      expect.stringMatching(new RegExp(`^/source/data from [0-9a-f]{8} to ${dest}: would 1 add, 1 replace, 0 stay unchanged$`)),
      `  replace  ${join(dest, 'notes.txt')}`,
      `  add      ${join(dest, 'other.txt')}`,
      `home: dry run: nothing in ${target} was changed`,
    ]);
    expect(await tree(target)).toEqual(before);
    expect(JSON.parse((await ws.stash(['restore', 'home', '--target', target, '--dry-run', '--json'])).io.out.join(''))[0].counts).toEqual({ added: 1, replaced: 1, unchanged: 0, conflicts: 0 });
  });

  it('restores one file back with --include and --overwrite, and nothing else', async () => {
    const r = await ws.stash(['restore', 'home', '--target', target, '--include', '/source/data/notes.txt', '--overwrite']);
    expect(r.io.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.io.out).toEqual([expect.stringMatching(/^home: restored \/source\/data from [0-9a-f]{8} to .* \(0 added, 1 replaced, 0 unchanged\)$/)]);
    expect(await readFile(join(dest, 'notes.txt'), 'utf8')).toBe('notes as backed up\n');
    expect((await readdir(dest)).sort()).toEqual(['mine.txt', 'notes.txt']);
  });

  it('restores into an empty folder without --overwrite, and says when --include matches nothing', async () => {
    const empty = join(ws.root, 'empty');
    await mkdir(empty);
    expect((await ws.stash(['restore', 'home', '--target', empty, '--exclude', 'other.txt'])).code).toBe(0);
    expect((await readdir(join(empty, 'source/data'))).sort()).toEqual(['notes.txt']);
    const none = await ws.stash(['restore', 'home', '--target', join(ws.root, 'none'), '--include', '/source/data/nothing-like-this']);
    expect(none.code).toBe(1);
    expect(none.io.err[0]).toMatch(/^nothing in [0-9a-f]{8} matches --include \/source\/data\/nothing-like-this: nothing to restore$/);
  });
});

describe('status as a health check', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace('stash-operator-status-');
    await writeFile(join(ws.data, 'f'), 'x');
    await ws.writeSpec('dry.yaml', localSpec(ws, 'dry', { retention: { keepLast: 1, dryRun: true } }));
    await ws.writeSecret('dry-secret', { RESTIC_PASSWORD: PASSWORD });
  });
  afterAll(() => ws.cleanup());

  it('reports what a dryRun policy would forget, and counts the snapshots that stay', async () => {
    expect((await ws.stash(['backup', 'dry'])).code).toBe(0);
    await writeFile(join(ws.data, 'f'), 'y');
    const second = await ws.stash(['backup', 'dry']);
    expect(second.io.out).toContainEqual(expect.stringMatching(/; would forget 1 snapshot \(retention policy dryRun\)$/));
    const [row] = JSON.parse((await ws.stash(['status', '--json'])).io.out.join('')) as { lastRun: { fileGroups: Record<string, unknown>[] }; snapshots: number; lastBackupTime: string; lastSuccessfulBackupTime: string }[];
    expect(row.lastRun.fileGroups[0]).toMatchObject({ wouldForget: 1, snapshots: 2 });
    expect(row.lastRun.fileGroups[0].forgotten).toBeUndefined();
    expect(row.snapshots).toBe(2);
    // Both are the run's start, as Stash set them.
    expect(row.lastSuccessfulBackupTime).toBe(row.lastBackupTime);
    const snapshots = JSON.parse((await ws.stash(['snapshots', 'dry', '--json'])).io.out.join(''));
    expect(snapshots).toHaveLength(2);
  });

  it('shows the last check and the snapshots, and exits 0 while all is well', async () => {
    expect((await ws.stash(['check', 'dry'])).code).toBe(0);
    const r = await ws.stash(['status']);
    expect(r.code).toBe(0);
    expect(r.io.out).toContainEqual(expect.stringMatching(/^ {2}last check: \d{4}-.*Z \(succeeded\)$/));
    expect(r.io.out).toContain('  snapshots: 2 (after the last backup)');
    expect(r.io.err).toEqual([]);
  });

  it('exits 1 when a last run failed, naming the spec, and 0 with --exit-zero', async () => {
    await rm(join(ws.secrets, 'dry-secret'), { recursive: true });
    expect((await ws.stash(['backup', 'dry'])).code).toBe(1);
    const r = await ws.stash(['status']);
    expect(r.code).toBe(1);
    expect(r.io.err).toEqual(['needs attention: dry (last backup config-error)']);
    const zero = await ws.stash(['status', '--exit-zero']);
    expect(zero.code).toBe(0);
    expect(zero.io.err).toEqual(['needs attention: dry (last backup config-error)']);
  });
});

describe('errors that say what to do', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace('stash-operator-errors-');
    await writeFile(join(ws.data, 'f'), 'x');
    for (const name of ['home', 'nearmiss', 'newline', 'kube', 'nosecret']) await ws.writeSpec(`${name}.yaml`, localSpec(ws, name));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    await ws.writeSecret('nearmiss-secret', { RESTIC_PASWORD: PASSWORD });
    await ws.writeSecret('newline-secret', { RESTIC_PASSWORD: PASSWORD });
    await writeFile(
      join(ws.secrets, 'kube-secret.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: {name: kube-secret}\ntype: Opaque\ndata:\n  RESTIC_PASSWORD: ${Buffer.from(PASSWORD).toString('base64')}\n`,
    );
  });
  afterAll(() => ws.cleanup());

  it('suggests the spec meant by a misspelled name', async () => {
    const r = await ws.stash(['backup', 'hom']);
    expect(r.code).toBe(1);
    expect(r.io.err).toEqual([`${ws.specs}: no valid spec named "hom"; did you mean "home"?`]);
  });

  it('says where a missing secret was looked for', async () => {
    const r = await ws.stash(['backup', 'nosecret']);
    expect(r.code).toBe(1);
    const dir = join(ws.secrets, 'nosecret-secret');
    expect(r.io.err).toEqual([
      `nosecret: backup config-error: secret "nosecret-secret" not found: looked for ${dir}/ (one file per key, as kubectl create secret --from-file takes them), ${dir}.json, ${dir}.yaml and ${dir}.yml`,
    ]);
  });

  it('names the key file that is a typo of the one it needs', async () => {
    const r = await ws.stash(['backup', 'nearmiss']);
    expect(r.io.err).toEqual(['nearmiss: backup config-error: secret "nearmiss-secret": missing required key RESTIC_PASSWORD (found RESTIC_PASWORD: did you mean RESTIC_PASSWORD?)']);
  });

  it('reads a Kubernetes Secret saved as YAML', async () => {
    const r = await ws.stash(['backup', 'kube']);
    expect(r.io.err).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('names a wrong password once, with the hint when the password file ends with a newline', async () => {
    expect((await ws.stash(['backup', 'newline'])).code).toBe(0);
    await ws.writeSecret('newline-secret', { RESTIC_PASSWORD: `${PASSWORD}\n` });
    const r = await ws.stash(['backup', 'newline']);
    expect(r.code).toBe(1);
    const text = r.io.text();
    // Said once, naming the spec and its secret (restic 0.17+ exits 12 on a wrong password).
    expect(text.split('\n').filter((l) => /wrong password|does not open the repository/.test(l))).toEqual([
      expect.stringMatching(/^newline: backup config-error: \/source\/data: spec newline: the RESTIC_PASSWORD in secret "newline-secret" does not open the repository at /),
    ]);
    expect(r.io.err.at(-1)).toBe(
      `hint: ${join(ws.secrets, 'newline-secret', 'RESTIC_PASSWORD')} ends with a newline, and restic takes it as part of the password. If the repository's password has none, write it without one: printf '%s' 'PASSWORD' > FILE (or kubectl create secret --from-literal).`,
    );
    const snapshots = await ws.stash(['snapshots', 'newline']);
    expect(snapshots.code).toBe(1);
    expect(snapshots.io.err.join('\n')).toContain(`hint: ${join(ws.secrets, 'newline-secret', 'RESTIC_PASSWORD')} ends with a newline`);
    expect(text + snapshots.io.text()).not.toContain(PASSWORD);
  });
});

describe('a renamed spec', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace('stash-operator-rename-');
    await writeFile(join(ws.data, 'f'), 'x');
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    for (let i = 0; i < 3; i++) {
      await writeFile(join(ws.data, 'f'), `version ${i}`);
      expect((await ws.stash(['backup', 'home'])).code).toBe(0);
    }
  });
  afterAll(() => ws.cleanup());

  /** home.yaml renamed to laptop, on the same repository and secret. */
  async function rename(annotations?: Record<string, string>) {
    const spec = localSpec(ws, 'home', { retention: { keepLast: 1, prune: true } });
    const renamed = { ...spec, metadata: { ...spec.metadata, name: 'laptop', ...(annotations ? { annotations } : {}) } };
    await rm(join(ws.specs, 'home.yaml'), { force: true });
    await ws.writeSpec('laptop.yaml', renamed);
  }

  it('never hides the old snapshots silently: snapshots and describe name the host and how to keep them', async () => {
    await rename();
    const r = await ws.stash(['snapshots', 'laptop']);
    expect(r.code).toBe(0);
    expect(r.io.out).toEqual(['laptop: no snapshots']);
    expect(r.io.err).toEqual([
      expect.stringMatching(
        new RegExp(
          `^warning: the repository of laptop also holds 3 snapshots of host "home" \\(${ws.data}; newest .*\\) that no spec claims, so no retention policy applies to them\\. If laptop was renamed from home, keep them as its own with the annotation metadata\\.annotations\\."${RESTIC_HOST_ANNOTATION}": home$`,
        ),
      ),
    ]);
    const described = await ws.stash(['describe', 'laptop']);
    expect(described.io.err).toEqual(r.io.err);
    // The old name's history stays readable.
    expect(JSON.parse((await ws.stash(['history', 'home', '--json'])).io.out.join(''))).toHaveLength(3);
  });

  it('keeps them with the annotation: listed as its own, and its retention applies to them', async () => {
    await rename({ [RESTIC_HOST_ANNOTATION]: 'home' });
    const listed = await ws.stash(['snapshots', 'laptop', '--json']);
    expect(listed.io.err).toEqual([]);
    expect(JSON.parse(listed.io.out.join(''))).toHaveLength(3);
    const backup = await ws.stash(['backup', 'laptop']);
    expect(backup.code).toBe(0);
    expect(backup.io.out).toContainEqual(expect.stringMatching(/; forgot 3 snapshots, 1 kept$/));
    const after = JSON.parse((await ws.stash(['snapshots', 'laptop', '--json'])).io.out.join('')) as { hostname: string }[];
    expect(after.map((s) => s.hostname)).toEqual(['home']);
    expect((await ws.stash(['describe', 'laptop'])).io.out).toContain(`  restic host: home (annotation ${RESTIC_HOST_ANNOTATION})`);
  });
});

describe('the command installed', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stash-install-'));
    await mkdir(join(work, 'elsewhere'));
    await writeFile(join(work, 'elsewhere', 'spec.yaml'), await readFile(join(ROOT, 'test/fixtures/specs/s3-restic.yaml'), 'utf8'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const inElsewhere = (bin: string, args: string[]) =>
    sh(bin.endsWith('.mjs') ? process.execPath : bin, [...(bin.endsWith('.mjs') ? [bin] : []), ...args], { cwd: join(work, 'elsewhere'), env: { PATH: process.env.PATH, HOME: work } });

  it('from a checkout (npm install -g .) works from any folder', async () => {
    const prefix = join(work, 'prefix');
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', ROOT], { stdio: 'ignore', env: { ...process.env, npm_config_update_notifier: 'false' } });
    const stash = join(prefix, 'bin', 'stash');
    expect((await inElsewhere(stash, ['--version'])).stdout).toMatch(/^stash \d+\.\d+\.\d+ \(Node\.js v/);
    expect((await inElsewhere(stash, ['validate', 'spec.yaml'])).stdout).toMatch(/^ok spec\.yaml: s3-restic\n1 valid, 0 invalid, \d+ warning\(s\)\n$/);
  });

  it('from a packed tarball: bin and bundle only, and local commands need nothing else', async () => {
    const pack = join(work, 'pack');
    await mkdir(pack);
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', pack], { cwd: ROOT, stdio: 'ignore' });
    const [tarball] = await readdir(pack);
    const files = execFileSync('tar', ['tzf', join(pack, tarball)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files).toEqual(expect.arrayContaining(['package/package.json', 'package/bin/stash.mjs', 'package/README.md']));
    expect(files.some((f) => f.startsWith('package/dist/cli.'))).toBe(true);
    expect(files.some((f) => /^package\/(test|cli|core|runner|infra)\//.test(f))).toBe(false);
    execFileSync('tar', ['xzf', join(pack, tarball), '-C', pack]);
    const bin = join(pack, 'package', 'bin', 'stash.mjs');
    expect((await inElsewhere(bin, ['--version'])).stdout).toMatch(/^stash \d+\.\d+\.\d+ /);
    expect((await inElsewhere(bin, ['validate', 'spec.yaml'])).stdout).toMatch(/^ok spec\.yaml: s3-restic\n1 valid, 0 invalid, \d+ warning\(s\)\n$/);
  });

  it('writes a systemd unit with the absolute folders it was given', async () => {
    const units = join(work, 'units');
    const r = await inElsewhere(BIN, ['service', 'install', '--specs', 'specs', '--secrets', 'secrets', '--state', 'state', '--unit-dir', units]);
    expect(r.stdout.split('\n')[0]).toBe(`wrote ${join(units, 'stash.service')}; start it now and at every boot with:`);
    const unit = await readFile(join(units, 'stash.service'), 'utf8');
    const elsewhere = join(work, 'elsewhere');
    expect(unit).toContain(`ExecStart=${process.execPath} ${BIN} run --specs ${elsewhere}/specs --secrets ${elsewhere}/secrets --state ${elsewhere}/state\n`);
  });
});
