/**
 * The built `stash` command (`npm run build`, which `npm test` runs first): bin/stash.mjs
 * loads the ES module bundle dist/cli.mjs with Node's compile cache on; only commands that
 * reach AWS load the AWS SDK, and an unbuilt checkout says so.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const SPEC = join(ROOT, 'test/fixtures/specs/s3-restic.yaml');

describe('the built stash command', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stash-cli-build-'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  /** bin/stash.mjs and dist/ copied to a folder of their own, with no node_modules near them. */
  async function install(name: string): Promise<string> {
    const dir = join(work, name);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await cp(join(ROOT, 'bin/stash.mjs'), join(dir, 'bin/stash.mjs'));
    await cp(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    return join(dir, 'bin/stash.mjs');
  }

  /** `stash validate SPEC` with its own temporary folder, where Node keeps the compile cache. */
  const validate = (bin: string, tmp: string) =>
    spawnSync(process.execPath, [bin, 'validate', SPEC], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH, TMPDIR: tmp } });

  it("keeps Node's compile cache, and runs the same with it as without", async () => {
    const bin = await install('cached');
    const tmp = join(work, 'tmp');
    await mkdir(tmp);
    const first = validate(bin, tmp);
    // The first start wrote the cache (one folder per Node version), the second read it.
    const [cache] = await readdir(join(tmp, 'node-compile-cache'));
    expect(cache.startsWith(`v${process.versions.node}-`)).toBe(true);
    expect((await readdir(join(tmp, 'node-compile-cache', cache))).length).toBeGreaterThan(0);
    const second = validate(bin, tmp);
    for (const r of [first, second]) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('1 valid, 0 invalid');
    }
    expect(second.stdout + second.stderr).toBe(first.stdout + first.stderr);
  });

  it('runs local commands without the AWS SDK, and says it is not built yet when it is not', async () => {
    // The copies have no node_modules near them: a local command that imported the SDK would fail.
    const bin = await install('no-sdk');
    const tmp = join(work, 'tmp-no-sdk');
    await mkdir(tmp);
    const r = validate(bin, tmp);
    expect(r.status, r.stderr).toBe(0);
    // A command that reaches AWS is what loads it (from node_modules, which the copy lacks).
    const remote = spawnSync(process.execPath, [bin, 'status', '--specs', 's3://stash-config/specs/'], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH, TMPDIR: tmp } });
    expect(remote.status).not.toBe(0);
    expect(remote.stderr).toMatch(/Cannot find (module|package) '@aws-sdk\/client-/);

    await rm(join(work, 'no-sdk', 'dist'), { recursive: true });
    const unbuilt = validate(bin, tmp);
    expect(unbuilt.status).toBe(2);
    expect(unbuilt.stderr).toBe('stash: not built yet; run `npm run build` (or `npm install`) first\n');
  });
});
