/**
 * One restic command: spawned with only the environment its backend needs, `--json` output
 * read line by line, stopped cleanly (SIGINT, as restic expects, then SIGKILL) when the run
 * is aborted. How it ended is decided first, on the exit code and restic's own output; only
 * then is every secret redacted from what leaves the process.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ResticError } from '../core/errors';
import { redact, type ResticTarget } from './backend';
import { requireResticVersion } from './version';

/** restic's exit codes (restic >= 0.17, "Exit codes" in its scripting docs) that mean more than "failed". */
export const RESTIC_EXIT = {
  /** Snapshot made, but some source files could not be read. */
  partial: 3,
  noRepository: 10,
  locked: 11,
  wrongPassword: 12,
  /** restic was interrupted (SIGINT). */
  interrupted: 130,
} as const;

/**
 * How a restic command ended:
 *
 * | ending                | when                                                                  |
 * |-----------------------|-----------------------------------------------------------------------|
 * | `succeeded`           | exit 0                                                                |
 * | `partial`             | exit 3: the snapshot was made, some source files could not be read    |
 * | `no-repository`       | exit 10                                                               |
 * | `locked`              | exit 11                                                               |
 * | `wrong-password`      | exit 12                                                               |
 * | `repository-exists`   | `restic init` of a repository that is there already (exit 1)          |
 * | `backend-unsupported` | this restic was built without the repository's backend (exit 1)       |
 * | `disk-full`           | stopped at restic's first retry of a write that failed with ENOSPC    |
 * | `interrupted`         | aborted through the run's signal, or exit 130                          |
 * | `killed`              | ended by a signal nobody here sent                                     |
 * | `failed`              | anything else                                                          |
 */
export type ResticEnding =
  | 'succeeded'
  | 'partial'
  | 'no-repository'
  | 'locked'
  | 'wrong-password'
  | 'repository-exists'
  | 'backend-unsupported'
  | 'disk-full'
  | 'interrupted'
  | 'killed'
  | 'failed';

/**
 * Classifies one restic process from its exit code and its raw (unredacted) output, which
 * tells apart the cases that share exit 1. Never pass redacted text: a secret as short as `o`
 * or `lock` masks the very words matched here.
 */
export function classify(exitCode: number | null, signal: NodeJS.Signals | null, aborted: boolean, raw: string): ResticEnding {
  if (aborted) return 'interrupted';
  if (exitCode === null) return signal ? 'killed' : 'failed';
  switch (exitCode) {
    case 0:
      return 'succeeded';
    case RESTIC_EXIT.partial:
      return 'partial';
    case RESTIC_EXIT.noRepository:
      return 'no-repository';
    case RESTIC_EXIT.locked:
      return 'locked';
    case RESTIC_EXIT.wrongPassword:
      return 'wrong-password';
    case RESTIC_EXIT.interrupted:
      return 'interrupted';
  }
  if (/\bconfig file already exists\b/.test(raw)) return 'repository-exists';
  if (/parsing repository location failed: invalid backend\b/.test(raw)) return 'backend-unsupported';
  return 'failed';
}

/**
 * restic saying that a write failed because a disk is full: `Save(<data/...>) failed: write ...:
 * no space left on device`, or `... returned error, retrying after 1s: ...: no space left on device`.
 */
const RETRYING_NO_SPACE = /(\) failed: |returned error, retrying after ).*no space left on device/i;

/** How long restic gets to release its lock after SIGINT before it is killed. */
const STOP_GRACE_MS = 10_000;

/** The environment every restic process gets besides its backend's variables. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'RESTIC_CACHE_DIR', 'LANG', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export interface ResticOptions {
  /** The restic binary; default `STASH_RESTIC_BINARY` or `restic`. */
  readonly binary?: string;
  /** Aborting stops restic with SIGINT (it removes its lock), then SIGKILL after a grace period. */
  readonly signal?: AbortSignal;
  /** Called with every JSON object restic prints on stdout, progress messages included. */
  readonly onJson?: (message: Record<string, unknown>) => void;
}

export interface ResticOutcome {
  /** How the command ended, decided before anything was redacted. */
  readonly ending: ResticEnding;
  readonly exitCode: number | null;
  /** The signal that ended restic, if any. */
  readonly signal: NodeJS.Signals | null;
  /**
   * The JSON values printed on stdout (restic prints one per line), without the progress
   * messages (`"message_type": "status"`): `restic backup --json` prints dozens a second when
   * stdout is not a terminal, and a long backup would keep them all. They go to `onJson` only.
   */
  readonly json: unknown[];
  /**
   * Non-JSON stdout and all of stderr (restic's JSON error messages as their text), redacted,
   * at most the last 64 KiB: for messages and logs only, never to decide on.
   */
  readonly output: string;
  /** True when the run was aborted through `signal`. */
  readonly aborted: boolean;
}

const TAIL_BYTES = 64 * 1024;
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * restic's `--json` error messages on stderr as the text they carry: `exit_error` (the fatal
 * error a command ends with) and `error` (a file it could not read); any other line as it is.
 */
function errorText(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const message = JSON.parse(line) as { message_type?: unknown; message?: unknown; error?: { message?: unknown }; item?: unknown };
    if (message.message_type === 'exit_error' && typeof message.message === 'string') return message.message;
    if (message.message_type === 'error' && typeof message.error?.message === 'string') {
      const item = typeof message.item === 'string' && !message.error.message.includes(message.item) ? `${message.item}: ` : '';
      return `error: ${item}${message.error.message}`;
    }
  } catch {
    // not JSON after all
  }
  return line;
}

/**
 * Runs `restic <target.args> <args>` against a prepared target. Never throws for a non-zero
 * exit. The first run of a binary in this process checks its version first
 * ({@link requireResticVersion}), and rejects with a ConfigError when it is too old.
 */
export async function runRestic(target: ResticTarget, args: readonly string[], options: ResticOptions = {}): Promise<ResticOutcome> {
  const binary = options.binary ?? process.env.STASH_RESTIC_BINARY ?? 'restic';
  if (options.signal?.aborted) return { ending: 'interrupted', exitCode: null, signal: null, json: [], output: '', aborted: true };
  await requireResticVersion(binary);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ ending: 'interrupted', exitCode: null, signal: null, json: [], output: '', aborted: true });
      return;
    }
    const child = spawn(binary, [...target.args, ...args], {
      env: { ...baseEnv(), ...target.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const json: unknown[] = [];
    // restic's own text, unredacted: it stays in this function.
    let raw = '';
    const keep = (text: string) => {
      // restic redraws its progress line with terminal escapes (ESC[2K): not for a log line.
      raw += text.replace(ANSI_ESCAPE, '');
      if (raw.length > TAIL_BYTES * 2) raw = raw.slice(-TAIL_BYTES);
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      const trimmed = line.trim();
      if (!trimmed) return;
      if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        try {
          const value = JSON.parse(trimmed);
          const message = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
          if (message?.message_type !== 'status') json.push(value);
          if (message) options.onJson?.(message);
          return;
        } catch {
          // not JSON after all: keep it as text
        }
      }
      keep(`${line}\n`);
    });
    let aborted = false;
    let diskFull = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      child.kill('SIGINT');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      killTimer.unref();
    };
    const onAbort = () => {
      aborted = true;
      stop();
    };
    createInterface({ input: child.stderr }).on('line', (line) => {
      const text = errorText(line.trim());
      keep(`${text}\n`);
      // restic 0.18 retries a write that failed for a full disk for 15 minutes (restic#4558), or
      // after a failed pack write waits on until stopped: nothing can succeed without space, so
      // restic is stopped at the first such failure (it then removes its lock and says why).
      if (!diskFull && RETRYING_NO_SPACE.test(text)) {
        diskFull = true;
        stop();
      }
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new ResticError(`failed to start ${binary}: ${err.message}`, null, '', { cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      const tail = raw.slice(-TAIL_BYTES);
      const ending = diskFull && !aborted ? 'disk-full' : classify(exitCode, signal, aborted, tail);
      resolve({ ending, exitCode, signal, json, output: redact(tail, target.secrets), aborted });
    });
  });
}

/** restic refused because another process holds the repository lock. */
export function isLocked(outcome: ResticOutcome): boolean {
  return outcome.ending === 'locked';
}

/** restic found no repository at the location (not yet initialised). */
export function isMissingRepository(outcome: ResticOutcome): boolean {
  return outcome.ending === 'no-repository';
}

/** A line of a Go stack trace: `goroutine 1 [running]:`, `main.main()`, `\t/path/file.go:42 +0x1c`, `created by ...`. */
const GO_FRAME = /^(goroutine \d+ \[|created by |\S+\.go:\d+( \+0x[0-9a-f]+)?$|[\w.*/()-]+\(.*\)$|\[signal |exit status \d+$)/;

/**
 * The last lines of restic's output, for an error message: restic's own words (its `Fatal:`
 * line, a `panic:` line), never the Go stack frames a crashing restic prints after them.
 */
export function outputTail(outcome: ResticOutcome, lines = 5): string {
  const all = outcome.output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !GO_FRAME.test(l));
  return all.slice(-lines).join(' | ');
}
