/**
 * What every benchmark shares: timing a child process (wall time with `process.hrtime`, peak
 * RSS of the process itself by polling `/proc/<pid>/status` VmHWM), medians, the machine's
 * description and Markdown tables. (RssAnon, the anonymous part of RSS, is sampled alongside.)
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** How a child process ran. */
export interface Timed {
  readonly code: number | null;
  /** Wall time from spawn to exit, ms. */
  readonly ms: number;
  /** Peak RSS of the process itself (not its children), KiB; 0 where /proc is missing. */
  readonly peakKiB: number;
  /**
   * The largest anonymous part of its RSS seen (RssAnon: heap and stacks, what the process
   * holds for itself; the rest of RSS is the Node binary's and libraries' pages, shared and
   * reclaimable), KiB; sampled, so a brief peak between two reads can be missed.
   */
  readonly peakAnonKiB: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** VmHWM and RssAnon of one process in KiB, or undefined once it is gone. */
async function highWaterMark(pid: number): Promise<{ hwm: number; anon: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    const anon = /^RssAnon:\s+(\d+) kB/m.exec(status);
    return hwm ? { hwm: Number(hwm[1]), anon: Number(anon?.[1] ?? 0) } : undefined;
  } catch {
    return undefined;
  }
}

/** The first child of a process (from /proc/<pid>/task/<pid>/children), if it has one yet. */
async function firstChild(pid: number): Promise<number | undefined> {
  try {
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
    return children.length ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a command to completion. The high-water mark is read every `pollMs` until the process
 * exits; VmHWM only grows, so the last read misses at most the final `pollMs` of its life.
 */
export function timed(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { pollMs?: number; /** Whose peak to report: the process, or its first child (when it is a wrapper such as GNU time). */ peakOf?: 'self' | 'child' } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    // Only the last 64 KiB of each stream is kept (for error messages), without copying on
    // every chunk: a chatty child (restic --json) must not be slowed by its reader.
    const out = tail();
    const err = tail();
    child.stdout?.on('data', out.push);
    child.stderr?.on('data', err.push);
    let peakKiB = 0;
    let peakAnonKiB = 0;
    let polling = true;
    let target: number | undefined = options.peakOf === 'child' ? undefined : child.pid;
    const poll = async () => {
      while (polling && child.pid !== undefined) {
        target ??= await firstChild(child.pid);
        const read = target === undefined ? undefined : await highWaterMark(target);
        if (read) {
          peakKiB = Math.max(peakKiB, read.hwm);
          peakAnonKiB = Math.max(peakAnonKiB, read.anon);
        }
        await new Promise((r) => setTimeout(r, options.pollMs ?? 10));
      }
    };
    void poll();
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      polling = false;
      child.on('close', () => resolve({ code, ms, peakKiB, peakAnonKiB, stdout: out.text(), stderr: err.text() }));
    });
  });
}

const TAIL_BYTES = 64 * 1024;

/** The last {@link TAIL_BYTES} of a stream, kept as chunks. */
function tail(): { push: (chunk: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      while (chunks.length > 1 && size - chunks[0].length >= TAIL_BYTES) size -= chunks.shift()!.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8').slice(-TAIL_BYTES),
  };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (!values.length) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Milliseconds of `fn`, measured with hrtime. */
export async function measure<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

const fmt = (n: number, digits: number) => n.toFixed(digits);
export const ms = (n: number) => (n >= 1000 ? `${fmt(n / 1000, 2)} s` : `${fmt(n, n < 10 ? 2 : 0)} ms`);
export const mib = (kib: number) => `${fmt(kib / 1024, 1)} MiB`;
export const ratio = (n: number) => `${fmt(n, 3)}×`;

/** A Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One line describing the machine and the tools, for the results. */
export function machine(): string {
  const cpus = os.cpus();
  const restic = (() => {
    try {
      return execFileSync('restic', ['version'], { encoding: 'utf8' }).split(' compiled')[0].trim();
    } catch {
      return 'restic missing';
    }
  })();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${os.release()}, Node ${process.version}, ${restic}`;
}

/** Whether GNU time is installed (exact peak RSS of a process tree's largest member). */
export const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = () => existsSync(GNU_TIME);

/** What a benchmark hands back: its Markdown section. */
export interface BenchResult {
  readonly name: string;
  readonly markdown: string;
}
