/**
 * `stash`: validate, plan, back up, check, list snapshots, restore, show status, history and
 * logs, and run the local scheduler. Each command is a module of `cli/commands/`; this one
 * wires them, the global flags (`--quiet`, `--verbose`, `--version`) and maps errors to exit
 * codes in one place (0 ok, 1 failed or invalid, 2 usage).
 */
import { Command, CommanderError } from 'commander';
import { StashError, errorMessage } from '../core/errors';
import { processIo, USAGE_ERROR, type CommandContext, type Io } from './command';
import { awsHint } from './aws-hints';
import { registerBackup } from './commands/backup';
import { registerCheck } from './commands/check';
import { registerCompletion } from './commands/completion';
import { registerDescribe } from './commands/describe';
import { registerHistory } from './commands/history';
import { registerLogs } from './commands/logs';
import { registerPlan } from './commands/plan';
import { registerRestore } from './commands/restore';
import { registerRun } from './commands/run';
import { registerService } from './commands/service';
import { registerSnapshots } from './commands/snapshots';
import { registerStatus } from './commands/status';
import { registerValidate } from './commands/validate';
import { printVersion } from './commands/version';
import { Output } from './output';

export { processIo, type Io } from './command';

/** The commands, in the order `stash --help` lists them. */
const COMMANDS = [
  registerValidate,
  registerPlan,
  registerBackup,
  registerCheck,
  registerSnapshots,
  registerRestore,
  registerStatus,
  registerDescribe,
  registerHistory,
  registerLogs,
  registerRun,
  registerService,
  registerCompletion,
];

/** Builds the command tree bound to an output and an exit-code sink. */
export function buildProgram(io: Io, setExit: (code: number) => void, signal?: AbortSignal): Command {
  const out = io instanceof Output ? io : new Output(io);
  const program = new Command('stash')
    .description("Scheduled, encrypted restic backups from Stash's Restic specs, on AWS or on this machine")
    .option('-q, --quiet', 'print only results, warnings and errors: no progress, nothing of what happens')
    .option('-v, --verbose', 'print every line of the run log with its details')
    .option('-V, --version', "print stash's version and the restic it finds")
    .showHelpAfterError()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: (t) => out.error(t.replace(/\n$/, '')) })
    .hook('preAction', (_program, action) => {
      const o = action.optsWithGlobals<{ quiet?: boolean; verbose?: boolean; json?: boolean }>();
      if (o.quiet && o.verbose) throw new CommanderError(2, USAGE_ERROR, '--quiet and --verbose do not go together');
      out.configure({ quiet: o.quiet, verbose: o.verbose, json: o.json });
    });
  const ctx: CommandContext = { io: out, setExit, signal };
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** `-V`/`--version` before any command. */
function asksVersion(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '-V' || a === '--version') return true;
    if (!a.startsWith('-')) return false;
  }
  return false;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code.
 * Errors are printed once, as `FILE: field.path: message` where they concern a spec.
 */
export async function main(argv: readonly string[], io: Io = processIo(), signal?: AbortSignal): Promise<number> {
  let code = 0;
  const out = new Output(io);
  const program = buildProgram(out, (c) => (code = c), signal);
  try {
    if (asksVersion(argv)) return await printVersion(out);
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      if (err.code === USAGE_ERROR) out.error(err.message);
      return 2;
    }
    const hint = awsHint(err);
    if (hint) {
      out.error(hint);
      return 1;
    }
    if (err instanceof StashError) {
      out.error(err.message);
      return 1;
    }
    out.error(`stash: ${errorMessage(err)}`);
    return 1;
  } finally {
    out.stop();
  }
}
