/**
 * Locks that serialise local runs across processes: one per spec (a spec never runs twice at
 * once: `stash run`, `stash backup`, two schedulers on one state folder) and one per
 * repository (specs that share a repository run one after the other, so `restic init` runs
 * once and no run trips over another's exclusive lock).
 *
 * Each lock is an OS-level lock on `<state>/locks/<name>.lock`, taken with util-linux's
 * `flock(1)`: Node has no `flock(2)` of its own, and a native add-on would be a build step
 * for one system call. A child `flock` holds the lock for as long as its stdin stays open,
 * so the kernel releases it when this process ends, however it ends (kill -9 included): a
 * lock never outlives its holder and is never "stale".
 *
 * ```
 *   this process ──stdin pipe──▶ flock -x FILE sh -c 'echo locked; exec cat'
 *   release(): close stdin ──▶ cat exits ──▶ the kernel drops the lock
 *   this process dies        ──▶ the pipe closes ──▶ the same
 * ```
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, StashError } from '../../core/errors';

/** Who holds a lock, written into the lock file once it is held. */
export interface LockHolder {
  readonly pid: number;
  readonly run?: string;
  readonly spec?: string;
  readonly since: string;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly file: string;
  /** Releases the lock; idempotent. */
  release(): Promise<void>;
}

/** Raised when a lock that must not be waited for is held by someone else. */
export class LockBusyError extends StashError {
  constructor(
    readonly file: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(`${file} is held${holder ? ` by ${describeHolder(holder)}` : ''}`);
  }
}

/** `run db-20260101T020000 of db (pid 4242, since 2026-01-01T02:00:01.000Z)`. */
export function describeHolder(h: LockHolder): string {
  const what = h.run ? `run ${h.run}${h.spec ? ` of ${h.spec}` : ''}` : h.spec ? `a run of ${h.spec}` : 'another stash process';
  return `${what} (pid ${h.pid}, since ${h.since})`;
}

/** The lock files of one state folder. */
export class LockDir {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'locks');
  }

  /** The file of a lock by name (`spec-db`, `repository-<digest>`). */
  file(name: string): string {
    return join(this.dir, `${name}.lock`);
  }

  /** Who holds a lock, as its holder wrote it; undefined when unknown. */
  async holder(name: string): Promise<LockHolder | undefined> {
    try {
      const value = JSON.parse(await readFile(this.file(name), 'utf8')) as LockHolder;
      return typeof value?.pid === 'number' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Takes lock `name`. With `wait: false`, throws {@link LockBusyError} (naming the holder)
   * when it is held; with `wait: true`, waits for it, calling `onWait` once with the holder.
   * Aborting `signal` while waiting gives up and throws the signal's reason.
   */
  async acquire(
    name: string,
    holder: Omit<LockHolder, 'pid' | 'since'>,
    options: { wait: boolean; signal?: AbortSignal; onWait?: (holder: LockHolder | undefined) => void },
  ): Promise<HeldLock> {
    await mkdir(this.dir, { recursive: true });
    const file = this.file(name);
    const first = await take(file, false, options.signal);
    let held = first;
    if (!held) {
      const current = await this.holder(name);
      if (!options.wait) throw new LockBusyError(file, current);
      options.onWait?.(current);
      held = await take(file, true, options.signal);
      if (!held) throw new StashError(`gave up waiting for ${file}`);
    }
    // Who holds it only names the holder in messages: a lock whose note cannot be written (a full disk) still locks.
    await writeFile(file, `${JSON.stringify({ pid: process.pid, ...holder, since: new Date().toISOString() })}\n`, { mode: 0o600 }).catch(() => undefined);
    return held;
  }
}

/**
 * Starts `flock` on `file`: resolves with the held lock once it prints "locked", or
 * undefined when the lock is busy (`wait: false`) or the wait was aborted.
 */
function take(file: string, wait: boolean, signal?: AbortSignal): Promise<HeldLock | undefined> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      resolve(undefined);
      return;
    }
    const child = spawn('flock', ['--exclusive', ...(wait ? [] : ['--nonblock']), file, 'sh', '-c', 'echo locked; exec cat'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let settled = false;
    let released: Promise<void> | undefined;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const lock: HeldLock = {
      file,
      release() {
        released ??= (async () => {
          child.stdin.end();
          await exited;
        })();
        return released;
      },
    };
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (!settled && text.includes('locked')) {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(lock);
      }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', (err) => {
      settled = true;
      reject(new ConfigError(`cannot lock ${file}: flock (util-linux) is needed: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      // flock exits 1 when --nonblock finds the lock held; a signal or other code is a failure to lock.
      if (code === 1 && !stderr.trim()) resolve(undefined);
      else if (signal?.aborted) resolve(undefined);
      else reject(new StashError(`cannot lock ${file}: flock exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}
