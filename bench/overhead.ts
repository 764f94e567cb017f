/**
 * Benchmark 1, runner overhead: `stash backup NAME` (the built CLI, a spec with a retention
 * policy) against the shortest raw restic sequence that does the same work on the same data:
 *
 *   first run, empty repository:    restic backup; restic forget --keep-last 7 --prune
 *   incremental, nothing changed:   restic backup; restic forget --keep-last 7 --prune
 *
 * restic gets the runner's exact arguments (`--json`, `--host`, `--path`) on both sides, so
 * the difference is what stash adds: a Node process, the bundle, spec and secret loading,
 * status and log writes, and any extra restic invocation. Each pair uses fresh repositories,
 * the two sides alternate which goes first, and ratios are taken pair by pair.
 *
 * Both repositories of a pair are copies of one freshly initialised repository, each with
 * its own restic cache: `restic init` calibrates the key derivation on the spot, so two
 * separately initialised repositories can differ by a second in the cost of every command
 * that opens them, and init itself takes 1-3 s. Init is therefore left out of the timed runs;
 * what stash adds when there is no repository yet (one `restic backup` that fails before
 * init) is measured on its own.
 *
 * Memory: every restic invocation, on both sides, runs under GNU time (`/usr/bin/time -f %M`,
 * exact peak RSS); the stash process's own peak is its VmHWM, polled every 10 ms, with the
 * largest RssAnon seen (its heap and stacks; the rest of its RSS is the Node binary's pages,
 * shared and reclaimable). What stash adds on top of restic is that Node process (restic's
 * own peak is the same on both sides).
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { median, mib, ms, ratio, table, timed, type BenchResult, type Timed } from './lib';
import { describeData, FULL_DATA, resticRuns, resticWrapper, settle, timedStash, workspace, writeSpec, type DataShape } from './local';

const PASSWORD = 'bench-overhead-password';
const KEEP_LAST = 7;

export interface OverheadOptions extends Partial<DataShape> {
  /** Pairs of first runs (each on fresh repositories); even, so each side goes first equally often. @default 4 */
  readonly runs?: number;
  /** Pairs of incremental runs. @default 6 */
  readonly incrementalRuns?: number;
}

interface Side {
  ms: number;
  /** User + system CPU seconds of everything the side ran (stash: Node and its restic children). */
  cpu: number;
  /** The stash process's own peak (0 for raw restic). */
  nodePeakKiB: number;
  /** The anonymous part of the stash process's RSS at its largest (0 for raw restic). */
  nodeAnonKiB: number;
  resticPeakKiB: number;
  resticInvocations: number;
}

export async function overhead(options: OverheadOptions = {}): Promise<BenchResult> {
  const o: Required<OverheadOptions> = { runs: 4, incrementalRuns: 6, ...FULL_DATA, ...options };
  const { work, data, specs, secrets, state, bytes, stashBin, env: baseEnv } = await workspace('overhead', o);
  try {

    const name = (i: number) => `bench-${i}`;
    for (let i = 0; i < o.runs; i++) {
      const repo = join(work, 'repos', `stash-${i}`);
      await writeSpec({ specs, secrets, name: name(i), data, repo, password: PASSWORD, retention: { keepLast: KEEP_LAST, prune: true } });
    }

    const template = join(work, 'repos', 'template');
    const init = await timed('restic', ['init'], { env: { ...baseEnv, RESTIC_REPOSITORY: template, RESTIC_PASSWORD: PASSWORD, XDG_CACHE_HOME: join(work, 'cache', 'template') } });
    if (init.code !== 0) throw new Error(`restic init failed: ${init.stderr}`);
    for (let i = 0; i < o.runs; i++) {
      await cp(template, join(work, 'repos', `stash-${i}`), { recursive: true });
      await cp(template, join(work, 'repos', `raw-${i}`), { recursive: true });
    }
    const cache = (side: string, i: number) => join(work, 'cache', `${side}-${i}`);
    // As after any first command: the compile cache holds the bundle (a cold start is measured below).
    const warm = await timed(process.execPath, [stashBin, 'status', '--specs', specs, '--secrets', secrets, '--state', state], { env: baseEnv });
    if (warm.code !== 0) throw new Error(`stash status failed (${warm.code}): ${warm.stdout}${warm.stderr}`);
    let n = 0;
    const stashSide = async (i: number): Promise<Side> => {
      const log = join(work, `time-${n++}.log`);
      const wrapper = await resticWrapper(work, log);
      settle();
      const env = { ...baseEnv, XDG_CACHE_HOME: cache('stash', i), STASH_RESTIC_BINARY: wrapper };
      const { run: t, cpu } = await timedStash(stashBin, ['backup', name(i), '--specs', specs, '--secrets', secrets, '--state', state], env, join(work, `cpu-${n}.log`));
      if (t.code !== 0) throw new Error(`stash backup ${name(i)} failed (${t.code}): ${t.stdout}${t.stderr}`);
      const runs = await resticRuns(log);
      return { ms: t.ms, cpu, nodePeakKiB: t.peakKiB, nodeAnonKiB: t.peakAnonKiB, resticPeakKiB: Math.max(0, ...runs.map((r) => r.peakKiB)), resticInvocations: runs.length };
    };
    const rawSide = async (i: number): Promise<Side> => {
      const log = join(work, `time-${n++}.log`);
      const wrapper = await resticWrapper(work, log);
      const env = { ...baseEnv, XDG_CACHE_HOME: cache('raw', i), RESTIC_REPOSITORY: join(work, 'repos', `raw-${i}`), RESTIC_PASSWORD: PASSWORD };
      settle();
      const steps = [
        ['backup', '--json', '--host', name(i), data],
        ['forget', '--json', '--host', name(i), '--path', data, '--keep-last', String(KEEP_LAST), '--prune'],
      ];
      let total = 0;
      for (const args of steps) {
        const t: Timed = await timed(wrapper, args, { env });
        if (t.code !== 0) throw new Error(`restic ${args[0]} failed (${t.code}): ${t.stderr.slice(-2000)}`);
        total += t.ms;
      }
      const runs = await resticRuns(log);
      return { ms: total, cpu: runs.reduce((c, r) => c + r.cpu, 0), nodePeakKiB: 0, nodeAnonKiB: 0, resticPeakKiB: Math.max(0, ...runs.map((r) => r.peakKiB)), resticInvocations: runs.length };
    };

    const rows: { label: string; stash: Side[]; raw: Side[] }[] = [
      { label: 'first run (empty repository)', stash: [], raw: [] },
      { label: 'incremental, nothing changed', stash: [], raw: [] },
    ];
    for (let i = 0; i < o.runs; i++) {
      // Alternate which side goes first, so drift on a shared machine hits both alike.
      if (i % 2 === 0) {
        rows[0].stash.push(await stashSide(i));
        rows[0].raw.push(await rawSide(i));
      } else {
        rows[0].raw.push(await rawSide(i));
        rows[0].stash.push(await stashSide(i));
      }
      process.stderr.write(`overhead: first run ${i + 1}/${o.runs}: stash ${ms(rows[0].stash.at(-1)!.ms)}, restic ${ms(rows[0].raw.at(-1)!.ms)}\n`);
    }
    for (let j = 0; j < o.incrementalRuns; j++) {
      const i = j % o.runs;
      if (j % 2 === 0) {
        rows[1].raw.push(await rawSide(i));
        rows[1].stash.push(await stashSide(i));
      } else {
        rows[1].stash.push(await stashSide(i));
        rows[1].raw.push(await rawSide(i));
      }
      process.stderr.write(`overhead: incremental ${j + 1}/${o.incrementalRuns}: stash ${ms(rows[1].stash.at(-1)!.ms)}, restic ${ms(rows[1].raw.at(-1)!.ms)}\n`);
    }

    // Where a fixed cost would come from: Node itself, and the CLI up to the point where it would start restic.
    let cold = 0;
    const fixed = async (label: string, args: string[], cache: 'warm' | 'empty' | 'off' = 'warm') => {
      const t: number[] = [];
      const peak: number[] = [];
      const anon: number[] = [];
      for (let k = 0; k < 7; k++) {
        const env =
          cache === 'warm' ? baseEnv : cache === 'off' ? { ...baseEnv, NODE_DISABLE_COMPILE_CACHE: '1' } : { ...baseEnv, NODE_COMPILE_CACHE: join(work, `compile-cache-empty-${cold++}`) };
        const r = await timed(process.execPath, args, { env });
        t.push(r.ms);
        peak.push(r.peakKiB);
        anon.push(r.peakAnonKiB);
      }
      return [label, ms(median(t)), mib(median(peak)), mib(median(anon))];
    };
    const probe = async () => {
      const t: number[] = [];
      for (let k = 0; k < 7; k++) {
        const r = await timed('restic', ['backup', '--json', '--host', 'probe', data], { env: { ...baseEnv, RESTIC_REPOSITORY: join(work, 'repos', 'missing'), RESTIC_PASSWORD: PASSWORD } });
        if (r.code === 0) throw new Error('restic backup succeeded without a repository');
        t.push(r.ms);
      }
      return ['first run without a repository: the `restic backup` that fails before `restic init`', ms(median(t)), '-', '-'];
    };
    const version = async () => {
      const t: number[] = [];
      for (let k = 0; k < 7; k++) t.push((await timed('restic', ['version'], { env: baseEnv })).ms);
      return ['`restic version`: the version check, once per stash process', ms(median(t)), '-', '-'];
    };
    const status = ['status', '--specs', specs, '--secrets', secrets, '--state', state];
    const profile = [
      await fixed('`node -e 0` (Node startup)', ['-e', '0']),
      await fixed('`stash --help` (+ CLI bundle import)', [stashBin, '--help']),
      await fixed('`stash --help`, first start: compile cache empty', [stashBin, '--help'], 'empty'),
      await fixed('`stash --help`, compile cache off (`NODE_DISABLE_COMPILE_CACHE=1`)', [stashBin, '--help'], 'off'),
      await fixed('`stash validate` of one spec (+ YAML and schema)', [stashBin, 'validate', join(specs, `${name(0)}.yaml`)]),
      await fixed('`stash status` (+ specs, secrets folder, status store)', [stashBin, ...status]),
      await fixed('`stash status`, first start: compile cache empty', [stashBin, ...status], 'empty'),
      await fixed('`stash status`, compile cache off', [stashBin, ...status], 'off'),
      await version(),
      await probe(),
    ];

    const lines = rows.map((r) => {
      const ratios = r.stash.map((s, k) => s.ms / r.raw[k].ms);
      const cpuRatios = r.stash.map((s, k) => s.cpu / r.raw[k].cpu);
      const extra = r.stash.map((s, k) => s.ms - r.raw[k].ms);
      return [
        r.label,
        ms(median(r.raw.map((s) => s.ms))),
        ms(median(r.stash.map((s) => s.ms))),
        ratio(median(ratios)),
        ms(median(extra)),
        ratio(median(cpuRatios)),
        `${median(r.stash.map((s) => s.resticInvocations))} / ${median(r.raw.map((s) => s.resticInvocations))}`,
        `${mib(median(r.stash.map((s) => s.nodePeakKiB)))} (anonymous ${mib(median(r.stash.map((s) => s.nodeAnonKiB)))})`,
        `${mib(median(r.stash.map((s) => s.resticPeakKiB)))} / ${mib(median(r.raw.map((s) => s.resticPeakKiB)))}`,
      ];
    });
    const markdown = [
      `Data: ${describeData(o, bytes)}. ` +
        `${o.runs} first-run pairs, ${o.incrementalRuns} incremental pairs; medians; ratio and extra time are medians of the pairs' own ratios and differences.`,
      '',
      table(
        ['run', 'restic (raw)', 'stash backup', 'wall ratio', 'stash adds', 'CPU ratio', 'restic invocations stash / raw', 'stash process peak RSS', 'restic peak RSS stash / raw'],
        lines,
      ),
      '',
      'Fixed costs (medians of 7; the compile cache warm unless said):',
      '',
      table(['what', 'wall time', 'peak RSS', 'of which anonymous'], profile),
    ].join('\n');
    return { name: 'overhead', markdown };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
