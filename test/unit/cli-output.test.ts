/**
 * The operator's view, without restic: human units, progress and summary lines, colour and
 * verbosity, completion scripts, the systemd unit, hints for AWS and secrets, suggestions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsHint } from '../../cli/aws-hints';
import { completionScript, SHELLS } from '../../cli/commands/completion';
import { parseSince, recordLine } from '../../cli/commands/logs';
import { verifyPlanOptions } from '../../cli/commands/plan';
import { serviceUnit, systemdQuote } from '../../cli/commands/service';
import { newlineHint } from '../../cli/local/engine';
import { FolderSecretStore, parseSecretYaml } from '../../cli/local/stores';
import { buildProgram, main, type Io } from '../../cli/main';
import { colorEnabled, Output, progressLine } from '../../cli/output';
import { backupSummary, outcomeLine } from '../../cli/present';
import { cloudWatchRecord } from '../../cli/remote';
import { formatBytes, formatClock, formatDuration } from '../../cli/units';
import { editDistance, similarNames } from '../../core/names';
import { snapshotPattern } from '../../runner/restore';

function capture(extra: Partial<Io> = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, line: (t) => out.push(t), error: (t) => err.push(t), write: (t) => out.push(t), ...extra };
}

describe('human units', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [570_350_592, '543.9 MiB'],
    [248_774_656, '237.3 MiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
  ])('formatBytes(%d) is %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [400, '0.4 s'],
    [14_819, '14.8 s'],
    [125_000, '2 min 05 s'],
    [3_723_000, '1 h 02 min'],
  ])('formatDuration(%d) is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each([
    [8, '0:08'],
    [75, '1:15'],
    [3723, '1:02:03'],
  ])('formatClock(%d) is %s', (s, text) => expect(formatClock(s)).toBe(text));
});

describe('progress and summary lines', () => {
  it('shows a backup as restic does: elapsed, percent, files, bytes, rate and ETA', () => {
    const status = { percent_done: 0.4081, files_done: 16583, total_files: 47248, bytes_done: 236_603_392, total_bytes: 579_808_256, seconds_elapsed: 6, seconds_remaining: 8 };
    expect(progressLine({ spec: 'home', action: 'backup', fileGroup: '/data', status }, 6000)).toBe('home /data  [0:06] 40.8%  16583/47248 files  225.6 MiB/552.9 MiB  37.6 MiB/s  ETA 0:08');
  });

  it("shows a restore from restic 0.18's status, and a check with a clock only", () => {
    const status = { percent_done: 0.25872405, total_files: 3, files_restored: 1, total_bytes: 20_000_000, bytes_restored: 5_174_481 };
    expect(progressLine({ spec: 'home', action: 'restore', fileGroup: '/data', status }, 2000)).toBe('home /data  restoring [0:02] 25.9%  1/3 files  4.9 MiB/19.1 MiB  2.5 MiB/s');
    expect(progressLine({ spec: 'home', action: 'check' }, 12_000, 1)).toBe('home  checking the repository [0:12] ⠙');
  });

  it('sums up a fileGroup in human units, with what retention did or would do', () => {
    const base = { fileGroup: '/data', dataAdded: 570_350_592, dataAddedPacked: 248_774_656, duration: 14.819, totalFilesProcessed: 47248, filesNew: 47248, filesChanged: 0, filesUnmodified: 0, snapshotId: '1a2b3c4d5e6f' };
    expect(backupSummary(base)).toBe('/data: added 543.9 MiB (237.3 MiB stored) in 14.8 s; 47248 files (47248 new, 0 changed, 0 unchanged); snapshot 1a2b3c4d');
    expect(backupSummary({ ...base, forgotten: 1, snapshots: 2 })).toMatch(/; forgot 1 snapshot, 2 kept$/);
    expect(backupSummary({ ...base, wouldForget: 3, snapshots: 5 })).toMatch(/; would forget 3 snapshots \(retention policy dryRun\)$/);
  });

  it('says how a run ended: its duration when it succeeded, its error (once) when not', () => {
    expect(outcomeLine({ spec: 'home', kind: 'backup', outcome: 'succeeded', durationMs: 15_200 })).toBe('home: backup succeeded (15.2 s)');
    expect(outcomeLine({ spec: 'home', kind: 'check', outcome: 'failed', durationMs: 2100, error: 'restic check failed (exit 1)' })).toBe('home: check failed: restic check failed (exit 1)');
  });
});

describe('colour', () => {
  const tty = { isTTY: true, hasColors: () => true };
  const pipe = { isTTY: false };
  it.each([
    ['a terminal', tty, {}, true],
    ['a pipe', pipe, {}, false],
    ['a terminal with NO_COLOR=1', tty, { NO_COLOR: '1' }, false],
    ['a terminal with an empty NO_COLOR (not set, as no-color.org says)', tty, { NO_COLOR: '' }, true],
    ['a pipe with FORCE_COLOR=1', pipe, { FORCE_COLOR: '1' }, true],
    ['a terminal with FORCE_COLOR=0', tty, { FORCE_COLOR: '0' }, false],
    ['NO_COLOR over FORCE_COLOR', tty, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['a terminal without colours (TERM=dumb)', { isTTY: true, hasColors: () => false }, {}, false],
  ] as [string, { isTTY: boolean; hasColors?: () => boolean }, NodeJS.ProcessEnv, boolean][])('%s', (_what, stream, env, expected) => expect(colorEnabled(stream, env)).toBe(expected));

  it('paints errors red and warnings yellow only where the stream has colour', () => {
    const coloured = capture({ color: { stdout: true, stderr: true } });
    const out = new Output(coloured);
    out.error('broken');
    out.warn('careful');
    expect(coloured.err).toEqual(['\x1b[31mbroken\x1b[39m', '\x1b[33mwarning: careful\x1b[39m']);
    const plain = capture();
    new Output(plain).error('broken');
    expect(plain.err).toEqual(['broken']);
  });
});

describe('verbosity', () => {
  it.each([
    ['default', {}, ['result', 'what happens'], ['warning: w', 'e']],
    ['--quiet', { quiet: true }, ['result'], ['warning: w', 'e']],
    ['--verbose', { verbose: true }, ['result', 'what happens', 'detail'], ['warning: w', 'e']],
    ['--json', { json: true }, ['result'], ['warning: w', 'e']],
  ])('%s shows what it should', (_what, v, out, err) => {
    const io = capture();
    const o = new Output(io);
    o.configure(v);
    o.line('result');
    o.info('what happens');
    o.debug('detail');
    o.warn('w');
    o.error('e');
    expect(io.out).toEqual(out);
    expect(io.err).toEqual(err);
  });

  it('draws live lines only on a terminal, erases them before any other line, and never with --quiet', () => {
    const frames: string[] = [];
    const io = capture({ live: { render: (t) => frames.push(t), clear: () => frames.push('<clear>') } });
    const o = new Output(io);
    o.progress('home', { action: 'backup', fileGroup: '/data', status: { percent_done: 0.5, files_done: 1, total_files: 2, bytes_done: 1024, total_bytes: 2048 } });
    o.line('a line');
    o.finished('home', '/data');
    expect(frames).toEqual([expect.stringMatching(/^home \/data {2}\[0:00\] 50\.0% {2}1\/2 files {2}1\.0 KiB\/2\.0 KiB/), '<clear>', expect.stringMatching(/^home \/data/), '<clear>']);
    expect(io.out).toEqual(['a line']);

    const quietFrames: string[] = [];
    const quiet = new Output(capture({ live: { render: (t) => quietFrames.push(t), clear: () => undefined } }));
    quiet.configure({ quiet: true });
    quiet.progress('home', { action: 'backup', fileGroup: '/data', status: {} });
    expect(quietFrames).toEqual([]);
  });

  it('refuses --quiet with --verbose', async () => {
    const io = capture();
    expect(await main(['status', '--quiet', '--verbose'], io)).toBe(2);
    expect(io.err).toEqual(['--quiet and --verbose do not go together']);
  });
});

describe('completion', () => {
  const program = buildProgram(capture(), () => undefined);
  const commands = program.commands.map((c) => c.name());

  it.each(SHELLS)('the %s script names every command and every option of each', (shell) => {
    const script = completionScript(program, shell);
    for (const c of program.commands) {
      expect(script).toContain(c.name());
      for (const o of c.options) expect(script).toContain(shell === 'fish' ? `-l ${o.long!.slice(2)}` : o.long!);
    }
  });

  it('completes commands and options in bash', () => {
    const script = completionScript(program, 'bash');
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _stash; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
    expect(complete(['stash', 'hi'])).toEqual(['history']);
    expect(complete(['stash', ''])).toEqual(expect.arrayContaining(commands));
    expect(complete(['stash', 'restore', 'home', '--dr'])).toEqual(['--dry-run']);
    expect(complete(['stash', '--quiet', 'backup', '--wa'])).toEqual(['--wait']);
  });

  it('writes a zsh script that zsh accepts, where zsh is installed', () => {
    const zsh = ['/usr/bin/zsh', '/bin/zsh'].find((p) => {
      try {
        execFileSync(p, ['--version']);
        return true;
      } catch {
        return false;
      }
    });
    const script = completionScript(program, 'zsh');
    expect(script.startsWith('#compdef stash\n')).toBe(true);
    if (zsh) execFileSync(zsh, ['-n', '-c', script]);
    execFileSync('bash', ['-n', '-c', completionScript(program, 'bash')]);
  });

  it('refuses a shell it has no script for', async () => {
    const io = capture();
    expect(await main(['completion', 'tcsh'], io)).toBe(2);
    expect(io.err).toEqual(['completion: no script for "tcsh": one of bash, zsh, fish']);
  });
});

describe('the systemd unit', () => {
  it('runs this stash with the folders made absolute, stops it with SIGTERM and restarts it on failure', () => {
    const unit = serviceUnit({ specs: 'specs', secrets: 'my secrets', state: '/var/lib/stash' }, { node: '/usr/bin/node', bin: '/opt/stash/bin/stash.mjs', path: '/usr/bin:/bin' }, '/srv/stash');
    expect(unit.split('\n')).toEqual([
      '[Unit]',
      'Description=Stash: scheduled restic backups of the specs in /srv/stash/specs',
      'After=network-online.target',
      'Wants=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      'ExecStart=/usr/bin/node /opt/stash/bin/stash.mjs run --specs /srv/stash/specs --secrets "/srv/stash/my secrets" --state /var/lib/stash',
      'Environment=PATH=/usr/bin:/bin',
      'KillMode=mixed',
      'TimeoutStopSec=60',
      'Restart=on-failure',
      'RestartSec=30',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ]);
  });

  it.each([
    ['/plain/path', '/plain/path'],
    ['/with space', '"/with space"'],
    ['/100%', '/100%%'],
    ['/$HOME', '/$$HOME'],
    ['/say "hi"', '"/say \\"hi\\""'],
  ])('quotes %s as %s', (arg, quoted) => expect(systemdQuote(arg)).toBe(quoted));
});

describe('AWS hints', () => {
  it.each([
    [new Error('Region is missing'), /^stash: no AWS region is set.*\nSet it with `export AWS_REGION=eu-west-1`/s],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), /^stash: no AWS credentials were found.*AWS_PROFILE.*AWS_ACCESS_KEY_ID/s],
    [new Error('failed to read s3://b/k', { cause: new Error('Region is missing') }), /^stash: no AWS region is set/],
    [Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException' }), /^stash: the AWS credentials have expired/],
  ])('%s', (err, hint) => expect(awsHint(err)).toMatch(hint));

  it('has nothing to say about other errors', () => expect(awsHint(new Error('Access Denied'))).toBeUndefined());
});

describe('secrets on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-secret-yaml-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads what `kubectl get secret -o yaml` prints, decoding data and taking stringData', async () => {
    await writeFile(
      join(dir, 'home-secret.yaml'),
      ['apiVersion: v1', 'kind: Secret', 'metadata: {name: home-secret, namespace: default}', 'type: Opaque', 'data:', `  RESTIC_PASSWORD: ${Buffer.from('pw\n').toString('base64')}`, 'stringData: {OTHER: plain}', ''].join('\n'),
    );
    expect(await new FolderSecretStore(dir).get('home-secret')).toEqual({ ref: join(dir, 'home-secret.yaml'), secret: { RESTIC_PASSWORD: 'pw\n', OTHER: 'plain' } });
  });

  it.each([
    ['a spec saved among the secrets', 'apiVersion: stash.appscode.com/v1alpha1\nkind: Restic\nmetadata: {name: x}\n', 'a kind: Restic is not a secret: this folder holds Kubernetes Secrets (kind: Secret) or maps of KEY: value'],
    ['two documents', 'kind: Secret\n---\nkind: Secret\n', 'must hold one YAML document, a Kubernetes Secret'],
    ['YAML that does not parse', 'RESTIC_PASSWORD: [hunter2\n', 'not valid YAML (at line 2, column 1)'],
  ])('refuses %s by its file name, never showing a value', (_what, text, message) => {
    expect(() => parseSecretYaml(text, 'secrets/x.yaml')).toThrow(`secrets/x.yaml: ${message}`);
    try {
      parseSecretYaml(text, 'secrets/x.yaml');
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('says where a missing secret was looked for, and names one that looks like it', async () => {
    await writeFile(join(dir, 'db-secret.json'), '{}');
    expect(await new FolderSecretStore(dir).notFound('db-secrte')).toBe(
      [
        `secret "db-secrte" not found: looked for ${dir}/db-secrte/ (one file per key, as kubectl create secret --from-file takes them), ${dir}/db-secrte.json, ${dir}/db-secrte.yaml and ${dir}/db-secrte.yml`,
        `did you mean "db-secret"? (the spec's storageSecretName names the secret)`,
      ].join('\n'),
    );
    expect(await new FolderSecretStore(join(dir, 'nowhere')).notFound('x')).toMatch(/; the folder .*nowhere does not exist \(--secrets DIR names another\)$/);
  });

  it.each([
    ['a password file ending with a newline', 'pw\n', 'Fatal: wrong password or no key found', true],
    ['one ending with CR LF', 'pw\r\n', 'the RESTIC_PASSWORD in secret "s" does not open the repository', true],
    ['one without a newline', 'pw', 'Fatal: wrong password or no key found', false],
    ['another error', 'pw\n', 'repository is already locked', false],
  ])('hints at %s only for a wrong password', (_what, value, error, hinted) => {
    const hint = newlineHint({ ref: '/secrets/s', secret: { RESTIC_PASSWORD: value } }, error);
    if (hinted) expect(hint).toBe("/secrets/s/RESTIC_PASSWORD ends with a newline, and restic takes it as part of the password. If the repository's password has none, write it without one: printf '%s' 'PASSWORD' > FILE (or kubectl create secret --from-literal).");
    else expect(hint).toBeUndefined();
  });
});

describe('names that look alike', () => {
  it.each([
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['home', 'home', 0],
    ['db', 'bd', 1],
  ])('editDistance(%s, %s) is %d', (a, b, d) => expect(editDistance(a, b)).toBe(d));

  it('suggests the close ones, closest first', () => {
    expect(similarNames('hom', ['home', 'db', 'homes', 'hom'])).toEqual(['home']);
    expect(similarNames('homes', ['home', 'db', 'hom'])).toEqual(['home', 'hom']);
    expect(similarNames('RESTIC_PASSWORD', ['RESTIC_PASWORD', 'restic_password', 'RESTIC_PASSWORD.txt', 'OTHER'])).toEqual(['restic_password', 'RESTIC_PASWORD', 'RESTIC_PASSWORD.txt']);
    expect(similarNames('db', ['web', 'home'])).toEqual([]);
  });
});

describe('logs', () => {
  const now = new Date('2026-01-02T00:00:00Z');
  it.each([
    ['90m', '2026-01-01T22:30:00.000Z'],
    ['24h', '2026-01-01T00:00:00.000Z'],
    ['7d', '2025-12-26T00:00:00.000Z'],
    ['2026-01-01T12:00:00Z', '2026-01-01T12:00:00.000Z'],
  ])('--since %s is %s', (text, iso) => expect(parseSince(text, now).toISOString()).toBe(iso));

  it('refuses a --since that is neither', () => expect(() => parseSince('yesterday', now)).toThrow('--since: not a duration (90m, 24h, 7d) nor an ISO 8601 time: "yesterday"'));

  it('reads a JSON line of CloudWatch, with its log group, and skips the lines that are not records', () => {
    const record = cloudWatchRecord(JSON.stringify({ level: 'INFO', message: 'launched', timestamp: '2026-01-01T02:00:01.123Z', service: 'dispatch', spec: 'db', run: 'db-1' }), 0, 'S-FunctionsDispatch');
    expect(record).toEqual({ level: 'INFO', message: 'launched', timestamp: '2026-01-01T02:00:01.123Z', service: 'dispatch', spec: 'db', run: 'db-1', source: 'S-FunctionsDispatch' });
    expect(recordLine(record!)).toBe('2026-01-01 02:00:01 [S-FunctionsDispatch]  db: launched');
    expect(cloudWatchRecord('START RequestId: 1 Version: $LATEST', 0)).toBeUndefined();
  });
});

describe('restore patterns', () => {
  const pick = { path: '/source/data', snapshot: { id: 'a', short_id: 'a', time: '', hostname: 'h', paths: ['/home/me/docs'] } };
  it.each([
    ['/source/data/notes.txt', '/home/me/docs/notes.txt'],
    ['/source/data', '/home/me/docs'],
    ['/source/database/x', '/source/database/x'],
    ['*.txt', '*.txt'],
  ])('%s is %s in the snapshot', (pattern, inSnapshot) => expect(snapshotPattern(pattern, pick)).toBe(inSnapshot));
});

describe('every command', () => {
  const names = buildProgram(capture(), () => undefined).commands.map((c) => c.name());

  it.each(names.filter((n) => n !== 'service'))('%s --help ends with examples', async (name) => {
    const io = capture();
    expect(await main([name, '--help'], io)).toBe(0);
    expect(io.out.join('')).toMatch(/\nExamples:\n {2}# .+\n {2}\$ stash |\nExamples:\n {2}# .+\n {2}\$ (source|\* \*|kubectl)/);
  });

  it('plans the next 24 hours when no window is given', () => {
    const now = new Date('2026-01-01T10:00:00Z');
    expect(verifyPlanOptions({ specs: 's', secrets: 's', state: 's' }, now)).toEqual({ from: now, until: new Date('2026-01-02T10:00:00Z') });
    expect(verifyPlanOptions({ specs: 's', secrets: 's', state: 's', from: '2026-03-01T00:00:00Z' }, now)).toEqual({ from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-02T00:00:00Z') });
  });
});
