/**
 * `npm run bench [-- NAME... [--quick] [--out FILE]]`: runs the benchmarks (all by default)
 * and prints their results as Markdown, the way BENCHMARKS.md shows them. `--quick` shrinks
 * the data to check that a benchmark works; its figures mean nothing. `--out` also writes
 * the Markdown to a file.
 *
 * `npm run bench` builds first (`scripts/build.mjs`): the overhead and restore benchmarks run
 * the built `stash` command, as users do. `STASH_BENCH_RESTIC_OLD=/path/to/restic` adds an
 * older restic to the restore benchmark, beside the one on PATH.
 */
import { writeFile } from 'node:fs/promises';
import { machine, type BenchResult } from './lib';
import { QUICK_DATA } from './local';
import { bundles } from './bundles';
import { fanout } from './fanout';
import { loading } from './loading';
import { overhead } from './overhead';
import { planning } from './planning';
import { restoreBench } from './restore';

const BENCHMARKS: Record<string, { title: string; run: (quick: boolean) => Promise<BenchResult> }> = {
  overhead: {
    title: '1. Runner overhead: `stash backup` vs raw restic',
    run: (quick) => overhead(quick ? { runs: 2, incrementalRuns: 2, ...QUICK_DATA } : {}),
  },
  planning: {
    title: '2. Planning: parse + validate + plan + decide per tick',
    run: (quick) => planning(quick ? { sizes: [100, 1_000], runs: 2 } : {}),
  },
  bundles: {
    title: '3. Lambda bundles: size and import time beside the bare SDK clients',
    run: (quick) => bundles(quick ? { runs: 3 } : {}),
  },
  fanout: {
    title: '4. Fan-out: 1,000 specs due at once against a throttling ECS',
    run: (quick) => fanout(quick ? { specs: 60, runs: 1 } : {}),
  },
  loading: {
    title: '5. Loading a large spec: 10,000 to 80,000 labels',
    run: (quick) => loading(quick ? { sizes: [1_000, 2_000], runs: 2 } : {}),
  },
  restore: {
    title: '6. Restore: `stash restore` vs raw restic, and restic against an older restic',
    run: (quick) => restoreBench({ oldRestic: process.env.STASH_BENCH_RESTIC_OLD || undefined, ...(quick ? { rounds: 2, ...QUICK_DATA } : {}) }),
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  const names = argv.filter((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1));
  const unknown = names.filter((n) => !BENCHMARKS[n]);
  if (unknown.length) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    return 2;
  }
  const selected = names.length ? names : Object.keys(BENCHMARKS);
  const header = `Machine: ${machine()}\n\nCommand: npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}${quick ? ' (quick: figures not meaningful)' : ''}\n`;
  process.stdout.write(header);
  const sections = [header];
  let failed = 0;
  // Each section is printed (and the file written) as soon as its benchmark ends, and one
  // benchmark that fails does not take the others' results with it.
  for (const name of selected) {
    const started = Date.now();
    let markdown: string;
    try {
      markdown = (await BENCHMARKS[name].run(quick)).markdown;
    } catch (err) {
      failed++;
      markdown = `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    }
    const section = `\n### ${BENCHMARKS[name].title}\n\n${markdown}\n\n(${((Date.now() - started) / 1000).toFixed(0)} s)\n`;
    process.stdout.write(section);
    sections.push(section);
    if (out) await writeFile(out, sections.join(''));
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
