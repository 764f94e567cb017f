/**
 * The plumbing every test server shares: spawn a server in its own process group with its
 * output captured, poll until it answers, stop it for sure. A server that never gets ready
 * fails with its own output in the error, and none is left running when the test process
 * exits, even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StashError } from '../../core/errors';

/** How much of a server's combined stdout and stderr is kept for error messages. */
const OUTPUT_TAIL = 16 * 1024;

/** A test server that did not start, or did not stop. Carries the end of its output. */
export class ServerError extends StashError {}

/** A server process started by {@link startProcess}. */
export interface ServerProcess {
  /** Short name used in error messages, e.g. `s3rver`. */
  readonly name: string;
  readonly pid: number;
  /** The last 16 KiB of the server's stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** The exit code or signal, once it has exited. */
  exitStatus(): string | undefined;
  /**
   * SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once the server
   * has exited and no process of its group is left running.
   */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test run ends without calling stop(): no server outlives its tests.
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

/**
 * Spawns `command` detached (its own process group, so stop() also reaches its children),
 * with stdin closed and stdout/stderr captured.
 */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ServerProcess {
  installExitHook();
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let status: string | undefined;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal ? `signal ${signal}` : `code ${code}`;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      status = `spawn error: ${err.message}`;
      live.delete(child);
      resolve();
    });
  });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  if (child.pid !== undefined) live.add(child);

  return {
    name,
    get pid() {
      if (child.pid === undefined) throw new ServerError(`${name} did not start: ${spawnError?.message ?? 'no pid'}`);
      return child.pid;
    },
    output: () => tail,
    exited: () => status !== undefined,
    exitStatus: () => status,
    async stop(graceMs = 5_000) {
      if (status === undefined) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
        await exit;
        clearTimeout(timer);
      }
      // The leader is gone; anything it forked into the group goes too.
      killGroup(child, 'SIGKILL');
      if (child.pid !== undefined) {
        const group = child.pid;
        await waitFor(`the processes of ${name} to end`, async () => ((await processesInGroup(group)).length === 0 ? true : undefined), {
          timeoutMs: graceMs,
        });
      }
    },
  };
}

/**
 * The pids of the running (not zombie) processes in process group `pgid`, read from
 * `/proc`; empty where there is no `/proc`. Zombies are left out: they hold no port or
 * file, and a container's init may never reap them.
 */
export async function processesInGroup(pgid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        try {
          const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
          // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
          const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') found.push(Number(pid));
        } catch {
          // the process ended while we looked
        }
      }),
  );
  return found;
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than `undefined`, and
 * returns that value. Fails with the servers' output when `timeoutMs` passes or when one of
 * `processes` exits first.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { processes?: readonly ServerProcess[]; timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { processes = [], timeoutMs = 30_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const dead = processes.find((p) => p.exited());
    if (dead) {
      throw new ServerError(`${dead.name} exited (${dead.exitStatus()}) while waiting for ${what}${describeOutput(processes)}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new ServerError(`timed out after ${timeoutMs} ms waiting for ${what}${last}${describeOutput(processes)}`, {
        cause: lastError,
      });
    }
    await delay(intervalMs);
  }
}

function describeOutput(processes: readonly ServerProcess[]): string {
  return processes.map((p) => `\n--- ${p.name} output ---\n${p.output() || '(none)'}`).join('');
}

/**
 * The HTTP status of a GET to `url`, or undefined when nothing answers (connection refused,
 * reset, timeout). `ca` trusts a test server's self-signed certificate.
 */
export function httpStatus(url: string, options: { ca?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<number | undefined> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.get(target, { ca: options.ca, headers: options.headers, timeout: options.timeoutMs ?? 2_000, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(undefined));
  });
}

/** Whether something accepts TCP connections on `host:port`. */
export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). Prefer letting
 * a server bind port 0 itself and report the port when it can.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new ServerError('could not read the port of a listening socket'));
      });
    });
  });
}

/** A fresh private folder under the system temp folder. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `stash-${prefix}-`));
}

/** Removes a folder and everything in it; nothing happens when it is already gone. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/**
 * Runs `start` and, if it throws, `cleanup` before rethrowing: a server that fails half way
 * leaves no process and no folder behind.
 */
export async function startOrClean<T>(start: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}
