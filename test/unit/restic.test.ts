/**
 * How a restic command ended is decided on its exit code and its raw output, before any
 * secret is masked; and a restic older than the runner supports is refused once, by version.
 * The scripts here stand in for restic only to print a given text with a given exit code:
 * the real restic's endings are covered by the integration tier.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResticTarget } from '../../runner/backend';
import { classify, runRestic, type ResticEnding } from '../../runner/restic';
import { MIN_RESTIC_VERSION, parseResticVersion, requireResticVersion } from '../../runner/version';
import { ConfigError } from '../../core/errors';

describe('classify', () => {
  it.each<[string, number | null, NodeJS.Signals | null, boolean, string, ResticEnding]>([
    ['exit 0', 0, null, false, '', 'succeeded'],
    ['exit 3', 3, null, false, 'Warning: at least one source file could not be read', 'partial'],
    ['exit 10', 10, null, false, 'Fatal: repository does not exist', 'no-repository'],
    ['exit 11', 11, null, false, 'Fatal: unable to create lock in backend: repository is already locked', 'locked'],
    ['exit 12', 12, null, false, 'Fatal: wrong password or no key found', 'wrong-password'],
    ['exit 130', 130, null, false, 'signal interrupt received, cleaning up', 'interrupted'],
    ['an init of a repository that exists', 1, null, false, 'Fatal: create repository at /r failed: Fatal: unable to open repository at /r: config file already exists', 'repository-exists'],
    ['a backend this restic lacks', 1, null, false, 'Fatal: parsing repository location failed: invalid backend', 'backend-unsupported'],
    ['exit 1 with any other text', 1, null, false, 'Fatal: unable to open repository at s3:...: Access Denied', 'failed'],
    ['an abort of ours, whatever restic exited with', 1, null, true, '', 'interrupted'],
    ['a signal nobody here sent', null, 'SIGKILL', false, '', 'killed'],
  ])('%s', (_what, exitCode, signal, aborted, raw, ending) => {
    expect(classify(exitCode, signal, aborted, raw)).toBe(ending);
  });

  it('does not mistake masked text for what restic said', () => {
    expect(classify(1, null, false, 'Fatal: create repository at /r failed: *** file already exists')).toBe('failed');
  });
});

describe('parseResticVersion', () => {
  it.each([
    ['restic 0.18.0 compiled with go1.24.4 on linux/amd64\n', [0, 18, 0]],
    ['restic 0.14.0 compiled with go1.19.8 on linux/amd64', [0, 14, 0]],
    ['restic 1.2.3-dev (compiled manually) compiled with go1.25 on linux/arm64', [1, 2, 3]],
    ['something else', undefined],
  ])('reads %j', (text, version) => {
    expect(parseResticVersion(text)).toEqual(version);
  });
});

describe('runRestic with a stand-in restic', () => {
  let dir: string;
  /** A "restic" that answers `version` with `version` and anything else with $OUT on stderr and exit $CODE. */
  const standIn = async (name: string, version: string) => {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\nif [ "$1" = version ]; then echo "${version}"; exit 0; fi\nprintf '%s\\n' "$OUT" >&2\nexit "$CODE"\n`);
    await chmod(file, 0o755);
    return file;
  };
  const target = (out: string, code: number, secrets: string[]): ResticTarget => ({
    repository: '/r',
    display: '/r',
    env: { OUT: out, CODE: String(code) },
    args: [],
    secrets,
    cleanup: async () => undefined,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-restic-unit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('decides on the raw output, then masks every secret in what it hands back', async () => {
    const binary = await standIn('restic-0.18', 'restic 0.18.0 compiled with go1.24.4 on linux/amd64');
    const said = 'Fatal: create repository at /r failed: Fatal: unable to open repository at /r: config file already exists';
    const r = await runRestic(target(said, 1, ['config', 'o', 're']), ['init'], { binary });
    expect(r.ending).toBe('repository-exists');
    expect(r.output).toBe('Fatal: c***ate ***p***sit***ry at /r failed: Fatal: unable t*** ***pen ***p***sit***ry at /r: *** file al***ady exists\n');
  });

  it("turns restic's JSON error messages into their text", async () => {
    const binary = await standIn('restic-json', 'restic 0.18.0 compiled with go1.24.4 on linux/amd64');
    const json = JSON.stringify({ message_type: 'exit_error', code: 12, message: 'Fatal: wrong password or no key found' });
    const r = await runRestic(target(json, 12, ['hunter2']), ['snapshots', '--json'], { binary });
    expect(r).toMatchObject({ ending: 'wrong-password', exitCode: 12, output: 'Fatal: wrong password or no key found\n' });
  });

  it('refuses a restic older than the minimum, saying which it found and which it needs, and runs nothing', async () => {
    const binary = await standIn('restic-0.14', 'restic 0.14.0 compiled with go1.19.8 on linux/amd64');
    expect(MIN_RESTIC_VERSION).toEqual([0, 17, 0]);
    const run = runRestic(target('ran anyway', 0, []), ['backup'], { binary });
    await expect(run).rejects.toThrow(new ConfigError(`${binary} is restic 0.14.0; restic 0.17.0 or newer is needed`));
    await expect(run).rejects.toBeInstanceOf(ConfigError);
  });

  it('checks a binary once per process', async () => {
    const binary = await standIn('restic-once', 'restic 0.17.0 compiled with go1.22 on linux/amd64');
    expect(await requireResticVersion(binary)).toBe('0.17.0');
    // Now it would say it is too old: the first answer stands for the rest of the process.
    await standIn('restic-once', 'restic 0.16.4 compiled with go1.21 on linux/amd64');
    expect(await requireResticVersion(binary)).toBe('0.17.0');
    expect((await runRestic(target('', 0, []), ['snapshots'], { binary })).ending).toBe('succeeded');
  });

  it('says so when restic cannot be started', async () => {
    const binary = join(dir, 'no-such-restic');
    await expect(requireResticVersion(binary)).rejects.toThrow(`failed to start ${binary}: spawn ${binary} ENOENT; restic 0.17.0 or newer is needed`);
  });
});
