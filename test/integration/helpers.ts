/**
 * Test helpers for local mode: a workspace with specs, secrets, state and source data in a
 * temporary folder, the CLI run in-process with its output captured, and tree comparison.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main, type Io } from '../../cli/main';

export interface Captured extends Io {
  readonly out: string[];
  readonly err: string[];
  text(): string;
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    line: (t) => out.push(t),
    error: (t) => err.push(t),
    write: (t) => out.push(t),
    text: () => [...out, ...err].join('\n'),
  };
}

export interface Workspace {
  readonly root: string;
  readonly specs: string;
  readonly secrets: string;
  readonly state: string;
  readonly data: string;
  readonly repo: string;
  /** Runs `stash <args> --specs ... --secrets ... --state ...` in-process. */
  stash(args: string[], options?: { signal?: AbortSignal; common?: boolean }): Promise<{ code: number; io: Captured }>;
  writeSpec(file: string, spec: unknown): Promise<void>;
  writeSecret(name: string, values: Record<string, string>): Promise<void>;
  cleanup(): Promise<void>;
}

const COMMANDS_WITH_STORES = new Set(['plan', 'backup', 'check', 'snapshots', 'restore', 'status', 'run', 'history', 'logs', 'describe']);

export async function workspace(prefix = 'stash-test-'): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const ws: Workspace = {
    root,
    specs: join(root, 'specs'),
    secrets: join(root, 'secrets'),
    state: join(root, 'state'),
    data: join(root, 'data'),
    repo: join(root, 'repo'),
    async stash(args, options = {}) {
      const io = capture();
      const extra = COMMANDS_WITH_STORES.has(args[0]) && options.common !== false ? ['--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state] : [];
      const code = await main([...args, ...extra], io, options.signal);
      return { code, io };
    },
    async writeSpec(file, spec) {
      await mkdir(ws.specs, { recursive: true });
      await writeFile(join(ws.specs, file), typeof spec === 'string' ? spec : stringify(spec));
    },
    async writeSecret(name, values) {
      const dir = join(ws.secrets, name);
      await mkdir(dir, { recursive: true });
      for (const [k, v] of Object.entries(values)) await writeFile(join(dir, k), v);
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  await Promise.all([ws.specs, ws.secrets, ws.data, ws.repo].map((d) => mkdir(d, { recursive: true })));
  return ws;
}

/** A local-backend spec whose fileGroup `/source/data` is the workspace's data folder. */
export function localSpec(ws: Workspace, name: string, extra: { retention?: Record<string, unknown>; schedule?: string; tags?: string[] } = {}) {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name, namespace: 'default', uid: '617e3487-5bfb-11e7-bb52-08002711f4aa', resourceVersion: '2000' },
    spec: {
      fileGroups: [{ path: '/source/data', ...(extra.tags ? { tags: extra.tags } : {}), ...(extra.retention ? { retentionPolicy: extra.retention } : {}) }],
      backend: { local: { path: '/repo', volumeSource: { hostPath: { path: join(ws.repo, name) } } }, storageSecretName: `${name}-secret` },
      schedule: extra.schedule ?? '@every 1m',
      volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
      volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
    },
  };
}

/** Every entry below `dir`: relative path -> kind, mode and content or link target. */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string) {
    const abs = join(dir, rel);
    for (const name of (await readdir(abs)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link -> ${await readlink(join(dir, r))}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await walk(r);
      } else out[r] = `file ${mode} ${(await readFile(join(dir, r))).toString('base64')}`;
    }
  }
  await walk('');
  return out;
}

/** Source data with the awkward cases: spaces, non-ASCII, empty files, symlinks, modes, a nested tree. */
export async function awkwardData(dir: string): Promise<void> {
  await mkdir(join(dir, 'nested dir/deeper'), { recursive: true });
  await writeFile(join(dir, 'name with spaces.txt'), 'spaces\n');
  await writeFile(join(dir, 'ünïcödé-日本.txt'), 'non-ascii\n');
  await writeFile(join(dir, 'empty'), '');
  await writeFile(join(dir, 'nested dir/deeper/binary.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)));
  await writeFile(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'script.sh'), 0o750);
  await writeFile(join(dir, 'private'), 'only me\n');
  await chmod(join(dir, 'private'), 0o600);
  await symlink('nested dir/deeper/binary.bin', join(dir, 'link-to-binary'));
  await symlink('/nonexistent/target', join(dir, 'dangling-link'));
}

/** Every file below `dir` (recursively) as one string, for searching for secret values. */
export async function allText(dir: string): Promise<string> {
  const parts: string[] = [];
  async function walk(d: string) {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const st = await lstat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) parts.push(await readFile(p, 'utf8'));
    }
  }
  await walk(dir);
  return parts.join('\n');
}

/** Whether process `pid` is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
