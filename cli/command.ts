/**
 * What every command of `stash` gets: where it writes, how it sets the exit code, the signal
 * that stops it, and the one kind of error that means "used wrongly" (exit code 2).
 */
import { CommanderError } from 'commander';
import type { createLogUpdate as CreateLogUpdate } from 'log-update';
import { StashError } from '../core/errors';
import { colorEnabled, type Io, type Output } from './output';

export type { Io } from './output';

let theProcessIo: Io | undefined;

/**
 * The process's own stdout and stderr. A reader that goes away (`stash status | head -1`)
 * is not an error: what is left to print is dropped and {@link Io.closed} says so.
 */
export function processIo(): Io {
  if (theProcessIo) return theProcessIo;
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
  const out = (t: string) => {
    if (!closed) process.stdout.write(t);
  };
  const liveOk = process.stderr.isTTY === true && process.env.TERM !== 'dumb';
  // showCursor: a process killed mid-line never leaves the terminal without its cursor. A
  // terminal that reports no size (0 x 0: some CI and `script` pseudo-terminals) gets 80 x 24,
  // where log-update would otherwise draw nothing at all.
  const stderr = process.stderr;
  const sized = {
    isTTY: true,
    get columns() {
      return stderr.columns || 80;
    },
    get rows() {
      return stderr.rows || 24;
    },
    write: (chunk: string) => stderr.write(chunk),
  } as unknown as NodeJS.WriteStream;
  // Loaded only for a terminal: log-update's string width compiles Unicode property regexes and
  // an Intl.Segmenter when it loads, a third of the CLI's start-up, which a pipe, a service
  // or a scheduled run never uses. The bundle keeps it and runs it on this require.
  const live = liveOk ? (require('log-update') as { createLogUpdate: typeof CreateLogUpdate }).createLogUpdate(sized, { showCursor: true }) : undefined;
  theProcessIo = {
    line: (t) => out(`${t}\n`),
    write: out,
    error: (t) => {
      if (!closed) process.stderr.write(`${t}\n`);
    },
    color: { stdout: colorEnabled(process.stdout), stderr: colorEnabled(process.stderr) },
    live: live && { render: (text) => live(text), clear: () => live.clear() },
    get closed() {
      return closed;
    },
  };
  return theProcessIo;
}

/** What a command's action is given besides its arguments and options. */
export interface CommandContext {
  readonly io: Output;
  /** Sets the exit code of this invocation (0 when never called). */
  setExit(code: number): void;
  /**
   * Aborted on Ctrl-C or SIGTERM, with an {@link InterruptedError} as its reason: running
   * restic is stopped cleanly, and reading stops at the next file.
   */
  readonly signal?: AbortSignal;
}

/** Why a command stopped early: the signal that asked it to (exit 1, the message printed). */
export class InterruptedError extends StashError {
  constructor(signal: NodeJS.Signals) {
    super(`stash: interrupted by ${signal}`);
  }
}

/** The code of {@link usageError}: `main` prints its message and exits with 2. */
export const USAGE_ERROR = 'stash.usage';

/** A usage error: the arguments or options do not go together. */
export function usageError(message: string): CommanderError {
  return new CommanderError(2, USAGE_ERROR, message);
}

/**
 * The `Examples:` section of a command's `--help`: each example a comment and a command line.
 *
 * @example command.addHelpText('after', examples(['back up now', 'stash backup home']))
 */
export function examples(...items: readonly (readonly [what: string, line: string])[]): string {
  return `\nExamples:\n${items.map(([what, line]) => `  # ${what}\n  $ ${line}`).join('\n')}\n`;
}
