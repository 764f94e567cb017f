/**
 * `check.readDataSubset` against the real restic: every value the schema accepts, restic's
 * `check --read-data-subset` accepts too, and every value it refuses restic refuses, but for
 * restic's float forms (`1e1%`, `.5%`) and an empty value, which are refused here on purpose. restic checks the
 * flag before it opens the repository, so a repository that does not exist tells the two
 * apart: a refused value fails naming the flag, an accepted one fails to open the repository.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataSubsetProblem } from '../../schemas/restic';

const RESTIC = process.env.STASH_RESTIC_BINARY ?? 'restic';

/** Values at every edge of restic's grammar. */
const VALUES = [
  ...['1/1', '1/5', '5/5', '01/05', '256/256', '0/5', '6/5', '1/0', '0/0', '1/257', '1/2/3', '-1/5', '1/', '/5'],
  ...['0.1%', '10%', '100%', '100.0%', '0%', '0.0%', '101%', '100.01%', '-5%', '%', 'x%', '10 %'],
  ...['1b', '1B', '500k', '500K', '500m', '500M', '1g', '1G', '2t', '2T', '8388607t', '8388608t', '0M', '0b', '1.5G', '500', '0', '5MB', '5x', 'half'],
];

/**
 * What restic takes and the schema refuses on purpose: Go's float syntax for a percentage
 * (plain decimals only here), and an empty value, which restic reads as no subset at all (a
 * field that does nothing).
 */
const STRICTER_HERE = ['1e1%', '.5%', '5.%', '+5%', ''];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stash-read-data-subset-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Whether restic's own flag check lets the value through. */
function resticAccepts(value: string): boolean {
  const r = spawnSync(RESTIC, ['-r', join(dir, 'absent'), '--no-cache', 'check', '--read-data-subset', value], {
    encoding: 'utf8',
    env: { ...process.env, RESTIC_PASSWORD: 'unused', TMPDIR: dir },
    timeout: 30_000,
  });
  expect(r.status, r.stderr).not.toBe(0);
  return !r.stderr.includes('--read-data-subset');
}

describe('check.readDataSubset and restic', () => {
  it.each(VALUES)('%j: refused here exactly when restic refuses it', (value) => {
    expect(readDataSubsetProblem(value) === undefined).toBe(resticAccepts(value));
  });

  it.each(STRICTER_HERE)('%j: restic takes it, refused here', (value) => {
    expect(resticAccepts(value)).toBe(true);
    expect(readDataSubsetProblem(value)).toBeDefined();
  });
});
