/** `stash check NAME`: runs restic check on the spec's repository now, here or (`--remote`) as a task of the deployed stack. */
import type { Command } from 'commander';
import { readDataSubsetProblem } from '../../schemas/restic';
import { examples, usageError, type CommandContext } from '../command';
import { withStores } from '../mode';
import { runSpecNow, type RunNowOptions } from './now';

/** `check`'s options as commander gives them. */
export interface CheckOptions extends RunNowOptions {
  /** restic's `--read-data-subset`; default the spec's `check.readDataSubset`. Ignored with `--remote`. */
  readonly readDataSubset?: string;
}

/** Adds `check` to the program. */
export function registerCheck(program: Command, ctx: CommandContext): void {
  withStores(program.command('check'))
    .description("run restic check on the spec's repository")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--read-data-subset <subset>', 'also read this part of the data: n/t, a percentage or a size')
    .option('--remote', 'launch the check now as a Fargate task of the deployed stack (needs --specs s3://...)')
    .option('--wait', 'with --remote: follow the task to its end and exit with its outcome')
    .option('--json', 'print the run result (with --remote: the launched run and task) as JSON')
    .addHelpText(
      'after',
      examples(
        ["check the structure of home's repository", 'stash check home'],
        ['and read a tenth of its data back', 'stash check home --read-data-subset 10%'],
      ),
    )
    .action((name: string, o: CheckOptions) => runCheck(ctx, name, o));
}

/** Checks the spec's repository now and reports the outcome (or the launched task). */
export function runCheck(ctx: CommandContext, name: string, o: CheckOptions): Promise<void> {
  const problem = o.readDataSubset === undefined ? undefined : readDataSubsetProblem(o.readDataSubset);
  if (problem) throw usageError(`--read-data-subset: ${problem}`);
  return runSpecNow(ctx, name, 'check', o, o.readDataSubset);
}
