/**
 * What the benchmarks that set the built `stash` command against raw restic share: the data
 * set, a spec backing it up into a local repository, a private copy of the command, and
 * restic run under GNU time.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { GNU_TIME, hasGnuTime, timed, type Timed } from './lib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The data set's shape. */
export interface DataShape {
  /** @default 20_000 */
  readonly smallFiles: number;
  /** @default 4 */
  readonly largeFiles: number;
  /** Size of each large file. @default 232 */
  readonly largeMiB: number;
}

/** ~1 GB: 20,000 small files and 4 large ones. */
export const FULL_DATA: DataShape = { smallFiles: 20_000, largeFiles: 4, largeMiB: 232 };

/** What the quick runs use: enough to check that a benchmark works. */
export const QUICK_DATA: DataShape = { smallFiles: 500, largeFiles: 1, largeMiB: 16 };

/** `smallFiles` of 1-8 KiB in 100 folders and `largeFiles` of `largeMiB`, all random (incompressible, no duplicates); resolves to their bytes. */
async function generateData(dir: string, o: DataShape): Promise<number> {
  let bytes = 0;
  for (let d = 0; d < 100; d++) await mkdir(join(dir, 'small', `d${String(d).padStart(2, '0')}`), { recursive: true });
  for (let i = 0; i < o.smallFiles; i++) {
    const size = 1024 + Math.floor(Math.random() * 7 * 1024);
    bytes += size;
    await writeFile(join(dir, 'small', `d${String(i % 100).padStart(2, '0')}`, `f${i}.bin`), randomBytes(size));
  }
  for (let i = 0; i < o.largeFiles; i++) {
    const out = createWriteStream(join(dir, `large-${i}.bin`));
    for (let left = o.largeMiB; left > 0; left -= 8) {
      const chunk = randomBytes(Math.min(8, left) * 1024 * 1024);
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return bytes;
}

/** The data set's description for a result. */
export const describeData = (o: DataShape, bytes: number) =>
  `${o.smallFiles.toLocaleString('en')} files of 1-8 KiB and ${o.largeFiles} of ${o.largeMiB} MiB, random (${(bytes / 1e9).toFixed(2)} GB)`;

/**
 * Flushes dirty pages before a timed run: otherwise the gigabyte the previous run wrote is
 * written back during the next one, and whichever side goes second is slower.
 */
export function settle(): void {
  execFileSync('sync');
}

/**
 * A private copy of the built command (`dist/` and `bin/stash.mjs`) under `work`: a rebuild
 * elsewhere (which empties dist/ first) cannot break a run. Resolves to its `stash.mjs`.
 */
async function copyStash(work: string): Promise<string> {
  const stashBin = join(work, 'stash', 'bin', 'stash.mjs');
  await cp(join(ROOT, 'dist'), join(work, 'stash', 'dist'), { recursive: true });
  await cp(join(ROOT, 'bin', 'stash.mjs'), stashBin);
  return stashBin;
}

/** A benchmark's folder: the data set, folders for specs, secrets and state, and a private copy of the command. */
export interface Workspace {
  readonly work: string;
  readonly data: string;
  readonly specs: string;
  readonly secrets: string;
  readonly state: string;
  /** The data set's size. */
  readonly bytes: number;
  /** The copied `stash.mjs` ({@link copyStash}). */
  readonly stashBin: string;
  /**
   * The environment every command gets: PATH, HOME and a Node compile cache of the
   * benchmark's own (`NODE_COMPILE_CACHE`, which `bin/stash.mjs`'s `module.enableCompileCache()`
   * uses), empty at first whatever ran before.
   */
  readonly env: { readonly PATH: string; readonly HOME: string; readonly NODE_COMPILE_CACHE: string };
}

/** Makes a {@link Workspace} in a new folder under the system's temp folder (the caller removes `work`). */
export async function workspace(benchmark: string, shape: DataShape): Promise<Workspace> {
  const work = await mkdtemp(join(tmpdir(), `stash-bench-${benchmark}-`));
  const [data, specs, secrets, state] = ['data', 'specs', 'secrets', 'state'].map((d) => join(work, d));
  await Promise.all([data, specs, secrets, state].map((d) => mkdir(d, { recursive: true })));
  process.stderr.write(`${benchmark}: generating ${shape.smallFiles} small files and ${shape.largeFiles} × ${shape.largeMiB} MiB in ${data}\n`);
  const bytes = await generateData(data, shape);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), NODE_COMPILE_CACHE: join(work, 'compile-cache') };
  return { work, data, specs, secrets, state, bytes, stashBin: await copyStash(work), env };
}

/**
 * Writes the spec `name` (fileGroup `/source/data`, read from `data`, into the local
 * repository `repo`, secret `bench-secret`) and that secret with `password`.
 */
export async function writeSpec(o: { specs: string; secrets: string; name: string; data: string; repo: string; password: string; retention?: object }): Promise<void> {
  const fileGroup = { path: '/source/data', ...(o.retention ? { retentionPolicy: o.retention } : {}) };
  await writeFile(
    join(o.specs, `${o.name}.yaml`),
    stringify({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name: o.name },
      spec: {
        fileGroups: [fileGroup],
        backend: { local: { path: '/repo', volumeSource: { hostPath: { path: o.repo } } }, storageSecretName: 'bench-secret' },
        schedule: '@daily',
        volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
        volumes: [{ name: 'source-data', hostPath: { path: o.data } }],
      },
    }),
  );
  await mkdir(join(o.secrets, 'bench-secret'), { recursive: true });
  await writeFile(join(o.secrets, 'bench-secret', 'RESTIC_PASSWORD'), o.password);
}

/**
 * A restic stand-in that runs `binary` under GNU time, appending each invocation's peak RSS
 * (KiB) and CPU seconds to `log` (read them with {@link resticRuns}).
 */
export async function resticWrapper(dir: string, log: string, binary = 'restic'): Promise<string> {
  const path = join(dir, `restic-${Math.random().toString(36).slice(2, 8)}`);
  const body = hasGnuTime() ? `exec ${GNU_TIME} -f 'restic %M %U %S' -a -o '${log}' ${binary} "$@"` : `exec ${binary} "$@"`;
  await writeFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

/** Each restic invocation recorded in a wrapper's log: peak RSS (KiB) and CPU seconds. */
export async function resticRuns(log: string): Promise<{ peakKiB: number; cpu: number }[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => /^restic (\d+) ([\d.]+) ([\d.]+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ peakKiB: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) }));
}

/** The user + system CPU seconds GNU time wrote with `-f '%U %S'` to `log` (0 without GNU time). */
export async function cpuSeconds(log: string): Promise<number> {
  const [user, system] = (await readFile(log, 'utf8').catch(() => '0 0')).trim().split(/\s+/).slice(-2).map(Number);
  return user + system;
}

/**
 * Runs the built command (`node stashBin ...args`) as users do, under GNU time for the CPU of
 * the whole tree (Node and the restic it waits for; written to `cpuLog`). Its peak RSS is the
 * Node process's own.
 */
export async function timedStash(stashBin: string, args: readonly string[], env: NodeJS.ProcessEnv, cpuLog: string): Promise<{ run: Timed; cpu: number }> {
  const stash = [stashBin, ...args];
  const run = hasGnuTime()
    ? await timed(GNU_TIME, ['-f', '%U %S', '-o', cpuLog, process.execPath, ...stash], { env, peakOf: 'child' })
    : await timed(process.execPath, stash, { env });
  return { run, cpu: await cpuSeconds(cpuLog) };
}
