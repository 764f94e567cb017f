/**
 * The built `stash` command (`npm run build`, which `npm test` runs first): bin/stash.mjs
 * runs dist/cli.cjs with the V8 code cache the build wrote, and runs it the same without a
 * cache or with one V8 refuses; only commands that reach AWS load the AWS SDK.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const SPEC = join(ROOT, 'test/fixtures/specs/s3-restic.yaml');

describe('the built stash command', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stash-cli-build-'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  /** bin/stash.mjs and dist/cli.cjs copied to a folder of their own, with `cache` as the code cache (none when undefined). */
  async function install(name: string, cache?: Buffer): Promise<string> {
    const dir = join(work, name);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await mkdir(join(dir, 'dist'), { recursive: true });
    await copyFile(join(ROOT, 'bin/stash.mjs'), join(dir, 'bin/stash.mjs'));
    await copyFile(join(ROOT, 'dist/cli.cjs'), join(dir, 'dist/cli.cjs'));
    if (cache) await writeFile(join(dir, 'dist/cli.cjs.cache'), cache);
    return join(dir, 'bin/stash.mjs');
  }

  const validate = (bin: string, ...node: string[]) => spawnSync(process.execPath, [...node, bin, 'validate', SPEC], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH } });

  it('has a code cache this Node accepts for the bundle, as bin/stash.mjs compiles it', async () => {
    const bundle = join(ROOT, 'dist/cli.cjs');
    const cachedData = await readFile(`${bundle}.cache`);
    const source = `(function (exports, require, module, __filename, __dirname) {${await readFile(bundle, 'utf8')}\n})`;
    expect(new Script(source, { filename: bundle, cachedData }).cachedDataRejected).toBe(false);
    // The loader wraps the bundle exactly so: a change there that the build's cache does not follow fails here.
    expect(await readFile(join(ROOT, 'bin/stash.mjs'), 'utf8')).toContain('`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, \'utf8\')}\\n})`');
  });

  it('gives the same output and exit code with the cache, without one and with one V8 refuses', async () => {
    const runs = [
      validate(await install('cached', await readFile(join(ROOT, 'dist/cli.cjs.cache')))),
      validate(await install('uncached')),
      validate(await install('refused', Buffer.from('not a code cache'))),
    ];
    for (const r of runs) {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('1 valid, 0 invalid');
    }
    expect(new Set(runs.map((r) => r.stdout + r.stderr)).size).toBe(1);
  });

  it('runs local commands without the AWS SDK, and says it is not built yet when it is not', async () => {
    // The copies have no node_modules near them: a local command that required the SDK would fail.
    const bin = await install('no-sdk');
    const r = validate(bin);
    expect(r.status).toBe(0);
    // A command that reaches AWS is what loads it (from node_modules, which the copy lacks).
    const remote = spawnSync(process.execPath, [bin, 'status', '--specs', 's3://stash-config/specs/'], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH } });
    expect(remote.status).not.toBe(0);
    expect(remote.stderr).toMatch(/Cannot find (module|package) '@aws-sdk\/client-/);

    await rm(join(work, 'no-sdk', 'dist'), { recursive: true });
    const unbuilt = validate(bin);
    expect(unbuilt.status).toBe(2);
    expect(unbuilt.stderr).toBe('stash: not built yet; run `npm run build` (or `npm install`) first\n');
  });
});
