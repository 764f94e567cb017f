/**
 * `stash`: validate, plan, back up, check, list snapshots, restore, show status and run the
 * local scheduler. Each command is a module of `cli/commands/`; this one wires them and maps
 * errors to exit codes in one place (0 ok, 1 failed or invalid, 2 usage).
 */
import { Command, CommanderError } from 'commander';
import { StashError, errorMessage } from '../core/errors';
import { processIo, USAGE_ERROR, type CommandContext, type Io } from './command';
import { registerBackup } from './commands/backup';
import { registerCheck } from './commands/check';
import { registerPlan } from './commands/plan';
import { registerRestore } from './commands/restore';
import { registerRun } from './commands/run';
import { registerSnapshots } from './commands/snapshots';
import { registerStatus } from './commands/status';
import { registerValidate } from './commands/validate';

export { processIo, type Io } from './command';

/** The commands, in the order `stash --help` lists them. */
const COMMANDS = [registerValidate, registerPlan, registerBackup, registerCheck, registerSnapshots, registerRestore, registerStatus, registerRun];

/** Builds the command tree bound to an output and an exit-code sink. */
export function buildProgram(io: Io, setExit: (code: number) => void, signal?: AbortSignal): Command {
  const program = new Command('stash')
    .description("Scheduled, encrypted restic backups from Stash's Restic specs, on AWS or on this machine")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.write(t), writeErr: (t) => io.error(t.replace(/\n$/, '')) });
  const ctx: CommandContext = { io, setExit, signal };
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code.
 * Errors are printed once, as `FILE: field.path: message` where they concern a spec.
 */
export async function main(argv: readonly string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c), signal);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      if (err.code === USAGE_ERROR) io.error(err.message);
      return 2;
    }
    if (err instanceof StashError) {
      io.error(err.message);
      return 1;
    }
    io.error(`stash: ${errorMessage(err)}`);
    return 1;
  }
}
