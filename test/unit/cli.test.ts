/**
 * The stash command's arguments, in-process and without restic: each wrong combination of
 * options is a usage error (exit 2, one line saying what to change), decided before anything
 * is read, and a spec name that is not there is looked up the same way in either mode.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../../cli/main';

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, line: (t) => out.push(t), error: (t) => err.push(t), write: (t) => out.push(t) };
}

async function stash(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const io = capture();
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

describe('stash usage errors', () => {
  let work: string;
  let cwd: string;
  beforeAll(async () => {
    cwd = process.cwd();
    // The default --specs, --secrets and --state are relative: nothing may be written here.
    work = await mkdtemp(join(tmpdir(), 'stash-cli-usage-'));
    process.chdir(work);
  });
  afterAll(async () => {
    process.chdir(cwd);
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    [['plan', '--from', 'yesterday', '--until', '2026-01-01T00:00:00Z'], '--from: not an ISO 8601 date: "yesterday"'],
    [['plan', '--from', '2026-01-02T00:00:00Z', '--until', '2026-01-01T00:00:00Z'], '--until must not be before --from'],
    [['restore', 'db'], 'restore needs --target DIR (or --remote with --volume)'],
    [['restore', 'db', '--remote', '--specs', 's3://stash-config/specs'], 'restore --remote needs at least one --volume MOUNTPATH=efs:fs-...'],
    [['restore', 'db', '--remote', '--volume', '/data=emptyDir'], "--remote needs --specs s3://bucket/prefix (the deployed stack's config bucket)"],
    [['backup', 'db', '--remote'], "--remote needs --specs s3://bucket/prefix (the deployed stack's config bucket)"],
    [['check', 'db', '--remote', '--secrets', 'sm://stash/'], '--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix'],
    [['backup', 'db', '--state', 's3://stash-config/team-a'], '--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix'],
    [['run', '--once', '--state', 's3://stash-config/team-a'], '--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix'],
    [['status', '--secrets', 'sm://stash/'], '--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix'],
    [['backup', 'db', '--specs', 's3://stash-config/specs'], 'with --specs s3://... this command runs on AWS: add --remote'],
    [['check', 'db', '--specs', 's3://stash-config/specs'], 'with --specs s3://... this command runs on AWS: add --remote'],
    [['run', '--once', '--specs', 's3://stash-config/specs'], 'with --specs s3://... this command runs on AWS: add --remote'],
  ])('stash %j: %s', async (args, message) => {
    const r = await stash(args);
    expect(r).toEqual({ code: 2, out: [], err: [message] });
    expect(await readdir(work)).toEqual([]);
  });
});

describe('stash with a spec name that is not there', () => {
  let specs: string;
  beforeAll(async () => {
    specs = await mkdtemp(join(tmpdir(), 'stash-cli-specs-'));
    await writeFile(join(specs, 'broken.yaml'), 'kind: Restic\n');
  });
  afterAll(() => rm(specs, { recursive: true, force: true }));

  it.each([['snapshots'], ['restore', '--target', '/nowhere'], ['backup'], ['check']])('stash %s names the specs and the files with errors', async (command, ...rest) => {
    const r = await stash([command, 'nosuch', ...rest, '--specs', specs, '--secrets', join(specs, 'secrets'), '--state', join(specs, 'state')]);
    expect(r.code).toBe(1);
    expect(r.err.at(-1)).toBe(`${specs}: no valid spec named "nosuch" (1 spec file(s) have errors: run stash validate)`);
  });
});
