/**
 * One restic command: spawned with only the environment its backend needs, `--json` output
 * read line by line, every secret redacted from what comes back, stopped cleanly (SIGINT, as
 * restic expects, then SIGKILL) when the run is aborted.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ResticError } from '../core/errors';
import { redact, type ResticTarget } from './backend';

/** restic's exit code for "snapshot made, but some source files could not be read". */
export const RESTIC_EXIT_PARTIAL = 3;

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
  readonly exitCode: number | null;
  /** The signal that ended restic, if any. */
  readonly signal: NodeJS.Signals | null;
  /**
   * The JSON values printed on stdout (restic prints one per line), without the progress
   * messages (`"message_type": "status"`): `restic backup --json` prints dozens a second when
   * stdout is not a terminal, and a long backup would keep them all. They go to `onJson` only.
   */
  readonly json: unknown[];
  /** Non-JSON stdout and all of stderr, redacted, at most the last 64 KiB. */
  readonly output: string;
  /** True when the run was aborted through `signal`. */
  readonly aborted: boolean;
}

const TAIL_BYTES = 64 * 1024;
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Runs `restic <target.args> <args>` against a prepared target. Never throws for a non-zero exit. */
export function runRestic(target: ResticTarget, args: readonly string[], options: ResticOptions = {}): Promise<ResticOutcome> {
  const binary = options.binary ?? process.env.STASH_RESTIC_BINARY ?? 'restic';
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, json: [], output: '', aborted: true });
      return;
    }
    const child = spawn(binary, [...target.args, ...args], {
      env: { ...baseEnv(), ...target.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const json: unknown[] = [];
    let output = '';
    const keep = (text: string) => {
      // restic redraws its progress line with terminal escapes (ESC[2K): not for a log line.
      output += text.replace(ANSI_ESCAPE, '');
      if (output.length > TAIL_BYTES * 2) output = output.slice(-TAIL_BYTES);
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
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => keep(chunk));

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      killTimer.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new ResticError(`failed to start ${binary}: ${err.message}`, null, '', { cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ exitCode, signal, json, output: redact(output.slice(-TAIL_BYTES), target.secrets), aborted });
    });
  });
}

/** restic refused because another process holds the repository lock. */
export function isLocked(outcome: ResticOutcome): boolean {
  return outcome.exitCode !== 0 && /repository is already locked/i.test(outcome.output);
}

/** restic found no repository at the location (not yet initialised). */
export function isMissingRepository(outcome: ResticOutcome): boolean {
  return (
    outcome.exitCode !== 0 &&
    /Is there a repository at the following location\?|unable to open config file|repository does not exist|config: no such file or directory/i.test(
      outcome.output,
    )
  );
}

/** The last lines of restic's output, for an error message. */
export function outputTail(outcome: ResticOutcome, lines = 5): string {
  return outcome.output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}
