/**
 * What every command of `stash` gets: where it writes, how it sets the exit code, the signal
 * that stops it, and the one kind of error that means "used wrongly" (exit code 2).
 */
import { CommanderError } from 'commander';
import { StashError } from '../core/errors';
import type { EngineOutput } from './local/engine';

/** Where the CLI writes; tests capture it. */
export interface Io extends EngineOutput {
  /** Raw output (JSON), no newline added. */
  write(text: string): void;
}

/** The process's own stdout and stderr. */
export const processIo: Io = {
  line: (t) => process.stdout.write(`${t}\n`),
  error: (t) => process.stderr.write(`${t}\n`),
  write: (t) => process.stdout.write(t),
};

/** What a command's action is given besides its arguments and options. */
export interface CommandContext {
  readonly io: Io;
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
