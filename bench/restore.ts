/**
 * Benchmark 6, restore: `stash restore NAME --target DIR` (the built CLI) against
 * `restic restore <snapshot> --target DIR` of the same snapshot of the same data, and the
 * system restic against an older restic (`STASH_BENCH_RESTIC_OLD`, a path to its binary)
 * restoring that snapshot too, all in the same rounds.
 *
 * One repository, made by `stash backup` with the system restic (repository format v2, which
 * restic 0.14 and later read; an older binary that cannot read it stops the benchmark). Each
 * side has its own restic cache, warmed by an untimed restore, which also brings the
 * repository's packs into the page cache for all of them. Each timed restore goes into a fresh,
 * empty target; stash and the system restic then restore once more over the tree they just
 * restored (stash with --overwrite merges: it stages the snapshot and moves each file into place; restic
 * rewrites the files in place). Dirty pages are flushed (`sync`) before every timed run, and
 * the round's order of the sides changes round by round: with two sides they alternate, with
 * three every order comes once in six rounds, so each side goes before each other side
 * equally often. Ratios are taken round by round.
 *
 * Memory: restic runs under GNU time on every side (exact peak RSS); the stash process's own
 * peak is its VmHWM, polled every 10 ms.
 */
import { execFileSync } from 'node:child_process';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { median, mib, ms, ratio, table, timed, type BenchResult } from './lib';
import { describeData, FULL_DATA, resticRuns, resticWrapper, settle, timedStash, workspace, writeSpec, type DataShape } from './local';

const PASSWORD = 'bench-restore-password';
const NAME = 'bench-restore';

export interface RestoreBenchOptions extends Partial<DataShape> {
  /** Rounds, each running every side once; 6 gives every order of three sides once. @default 6 */
  readonly rounds?: number;
  /** The older restic binary to set against the system one; without it that table is left out. */
  readonly oldRestic?: string;
}

type SideName = 'stash' | 'restic' | 'old';

interface Run {
  ms: number;
  /** User + system CPU seconds of everything the side ran. */
  cpu: number;
  /** The stash process's own peak (0 for raw restic). */
  nodePeakKiB: number;
  resticPeakKiB: number;
  resticInvocations: number;
}

/** Every order of `items`. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** The files under `dir` and their bytes, to check that every side restored the whole snapshot. */
async function treeSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

/** `restic version`'s first words, e.g. `restic 0.14.0`. */
const versionOf = (binary: string) => execFileSync(binary, ['version'], { encoding: 'utf8' }).split(' compiled')[0].trim();

export async function restoreBench(options: RestoreBenchOptions = {}): Promise<BenchResult> {
  const o = { rounds: 6, ...FULL_DATA, ...options };
  const { work, data, specs, secrets, state, bytes, stashBin, env: baseEnv } = await workspace('restore', o);
  try {
    const repo = join(work, 'repo');
    await writeSpec({ specs, secrets, name: NAME, data, repo, password: PASSWORD });

    const cache = (side: string) => join(work, 'cache', side);
    const stores = ['--specs', specs, '--secrets', secrets, '--state', state];
    const backup = await timed(process.execPath, [stashBin, 'backup', NAME, ...stores], { env: { ...baseEnv, XDG_CACHE_HOME: cache('backup') } });
    if (backup.code !== 0) throw new Error(`stash backup ${NAME} failed (${backup.code}): ${backup.stdout}${backup.stderr}`);
    const repoEnv = { ...baseEnv, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD };
    const listed = await timed('restic', ['snapshots', '--json', '--host', NAME], { env: { ...repoEnv, XDG_CACHE_HOME: cache('backup') } });
    const snapshots = JSON.parse(listed.stdout) as { id: string; short_id: string }[];
    if (listed.code !== 0 || snapshots.length !== 1) throw new Error(`expected one snapshot of ${NAME}: ${listed.stdout}${listed.stderr}`);
    const snapshot = snapshots[0];
    const resticVersion = versionOf('restic');
    const oldVersion = o.oldRestic ? versionOf(o.oldRestic) : undefined;
    if (o.oldRestic) {
      const read = await timed(o.oldRestic, ['snapshots', '--json'], { env: { ...repoEnv, XDG_CACHE_HOME: cache('old') } });
      if (read.code !== 0 || !read.stdout.includes(snapshot.id)) throw new Error(`${oldVersion} cannot read the repository ${resticVersion} made: ${read.stderr.slice(-2000)}`);
    }

    let n = 0;
    const target = (side: SideName) => join(work, 'targets', `${side}-${n++}`);
    /** One restore by `side` into `dir`; `over` restores over what is there (stash refuses a non-empty target without --overwrite). */
    const restoreInto = async (side: SideName, dir: string, over = false): Promise<Run> => {
      const log = join(work, `time-${n++}.log`);
      const wrapper = await resticWrapper(work, log, side === 'old' ? o.oldRestic : 'restic');
      settle();
      if (side === 'stash') {
        const env = { ...baseEnv, XDG_CACHE_HOME: cache(side), STASH_RESTIC_BINARY: wrapper };
        const { run, cpu } = await timedStash(stashBin, ['restore', NAME, '--target', dir, ...(over ? ['--overwrite'] : []), ...stores], env, join(work, `cpu-${n}.log`));
        if (run.code !== 0) throw new Error(`stash restore ${NAME} failed (${run.code}): ${run.stdout}${run.stderr}`);
        const runs = await resticRuns(log);
        return { ms: run.ms, cpu, nodePeakKiB: run.peakKiB, resticPeakKiB: Math.max(0, ...runs.map((r) => r.peakKiB)), resticInvocations: runs.length };
      }
      const run = await timed(wrapper, ['restore', snapshot.id, '--target', dir], { env: { ...repoEnv, XDG_CACHE_HOME: cache(side) } });
      if (run.code !== 0) throw new Error(`${side === 'old' ? oldVersion : resticVersion} restore failed (${run.code}): ${run.stderr.slice(-2000)}`);
      const runs = await resticRuns(log);
      return { ms: run.ms, cpu: runs.reduce((c, r) => c + r.cpu, 0), nodePeakKiB: 0, resticPeakKiB: Math.max(0, ...runs.map((r) => r.peakKiB)), resticInvocations: runs.length };
    };
    /** Where a side's restore puts the data: stash at the fileGroup path, restic at the path it was read from. */
    const restored = (side: SideName, dir: string) => (side === 'stash' ? join(dir, 'source', 'data') : join(dir, data));

    const sides: SideName[] = o.oldRestic ? ['stash', 'restic', 'old'] : ['stash', 'restic'];
    const expected = await treeSize(data);
    // Warm-up: each side's cache, the repository in the page cache; and each side restores the whole snapshot.
    for (const side of sides) {
      const dir = target(side);
      await restoreInto(side, dir);
      const got = await treeSize(restored(side, dir));
      if (got.files !== expected.files || got.bytes !== expected.bytes) {
        throw new Error(`${side} restored ${got.files} files, ${got.bytes} bytes; the data has ${expected.files} files, ${expected.bytes} bytes`);
      }
      await rm(dir, { recursive: true, force: true });
    }

    const fresh: Record<SideName, Run[]> = { stash: [], restic: [], old: [] };
    const again: Record<SideName, Run[]> = { stash: [], restic: [], old: [] };
    const orders = permutations(sides);
    for (let round = 0; round < o.rounds; round++) {
      const order = orders[round % orders.length];
      for (const side of order) {
        const dir = target(side);
        fresh[side].push(await restoreInto(side, dir));
        if (side !== 'old') again[side].push(await restoreInto(side, dir, true));
        await rm(dir, { recursive: true, force: true });
      }
      const line = order.map((s) => `${s} ${ms(fresh[s].at(-1)!.ms)}${s !== 'old' ? ` (again ${ms(again[s].at(-1)!.ms)})` : ''}`).join(', ');
      process.stderr.write(`restore: round ${round + 1}/${o.rounds}: ${line}\n`);
    }

    // What stash runs before the restore itself, each alone (medians of 7).
    const alone = async (label: string, command: string, args: string[], env: NodeJS.ProcessEnv) => {
      const t: number[] = [];
      for (let k = 0; k < 7; k++) {
        const r = await timed(command, args, { env });
        if (r.code !== 0) throw new Error(`${label} failed: ${r.stderr}`);
        t.push(r.ms);
      }
      return [label, ms(median(t))];
    };
    const parts = [
      await alone('`restic version` (the version check, once per process)', 'restic', ['version'], baseEnv),
      await alone('`restic snapshots --json --no-lock --host NAME`: which snapshot restores which fileGroup (opening the repository, listing)', 'restic', ['snapshots', '--json', '--no-lock', '--host', NAME], { ...repoEnv, XDG_CACHE_HOME: cache('stash') }),
      await alone("the same with restic's lock (as stash listed them before)", 'restic', ['snapshots', '--json', '--host', NAME], { ...repoEnv, XDG_CACHE_HOME: cache('stash') }),
      await alone('`stash status` (Node, the CLI bundle, specs, secrets, status store)', process.execPath, [stashBin, 'status', ...stores], baseEnv),
    ];

    const pair = (label: string, a: Run[], b: Run[]) => {
      const ratios = a.map((s, k) => s.ms / b[k].ms);
      return [
        label,
        ms(median(b.map((s) => s.ms))),
        ms(median(a.map((s) => s.ms))),
        ratio(median(ratios)),
        ms(median(a.map((s, k) => s.ms - b[k].ms))),
        ratio(median(a.map((s, k) => s.cpu / b[k].cpu))),
        `${median(a.map((s) => s.resticInvocations))} / ${median(b.map((s) => s.resticInvocations))}`,
        a[0].nodePeakKiB ? mib(median(a.map((s) => s.nodePeakKiB))) : '-',
        `${mib(median(a.map((s) => s.resticPeakKiB)))} / ${mib(median(b.map((s) => s.resticPeakKiB)))}`,
      ];
    };
    const sections = [
      `Data: ${describeData(o, bytes)}; snapshot ${snapshot.short_id} made by \`stash backup\` with ${resticVersion} (repository format v2). ` +
        `${o.rounds} rounds; medians; ratios and differences are medians of each round's own.`,
      '',
      `stash restore against ${resticVersion} restore:`,
      '',
      table(
        ['restore', 'restic restore', 'stash restore', 'wall ratio', 'stash adds', 'CPU ratio', 'restic invocations stash / raw', 'stash process peak RSS', 'restic peak RSS stash / raw'],
        [pair('into an empty folder', fresh.stash, fresh.restic), pair('again, over the restored tree', again.stash, again.restic)],
      ),
      '',
      'What stash runs besides the restore, each alone (medians of 7):',
      '',
      table(['what', 'wall time'], parts),
      '',
    ];
    if (o.oldRestic) {
      const old = fresh.old;
      const now = fresh.restic;
      sections.push(
        `${resticVersion} against ${oldVersion} (\`${o.oldRestic}\`), the same snapshot into an empty folder:`,
        '',
        table(
          ['restore', oldVersion!, resticVersion, `wall ratio ${resticVersion.replace('restic ', '')} / ${oldVersion!.replace('restic ', '')}`, 'CPU ratio', `peak RSS ${resticVersion.replace('restic ', '')} / ${oldVersion!.replace('restic ', '')}`],
          [
            [
              'into an empty folder',
              ms(median(old.map((s) => s.ms))),
              ms(median(now.map((s) => s.ms))),
              ratio(median(now.map((s, k) => s.ms / old[k].ms))),
              ratio(median(now.map((s, k) => s.cpu / old[k].cpu))),
              `${mib(median(now.map((s) => s.resticPeakKiB)))} / ${mib(median(old.map((s) => s.resticPeakKiB)))}`,
            ],
          ],
        ),
      );
    } else {
      sections.push(`restic against an older restic: not measured (set STASH_BENCH_RESTIC_OLD to the older restic binary, e.g. /opt/restic-0.14/usr/bin/restic).`);
    }
    return { name: 'restore', markdown: sections.join('\n') };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
