/** `stash backup NAME`: backs up one spec now, here or (`--remote`) as a task of the deployed stack. */
import type { Command } from 'commander';
import { examples, type CommandContext } from '../command';
import { withStores } from '../mode';
import { runSpecNow, type RunNowOptions } from './now';

/** `backup`'s options as commander gives them. */
export type BackupOptions = RunNowOptions;

/** Adds `backup` to the program. */
export function registerBackup(program: Command, ctx: CommandContext): void {
  withStores(program.command('backup'))
    .description('back up one spec now (on a terminal, a live line per fileGroup shows the progress)')
    .argument('<name>', 'the spec (metadata.name)')
    .option('--remote', 'launch the backup now as a Fargate task of the deployed stack (needs --specs s3://...)')
    .option('--init', 'create the repository if it is not there, even though this spec (or another sharing the repository) has backed up to it before')
    .option('--wait', 'with --remote: follow the task to its end and exit with its outcome')
    .option('--json', 'print the run result (with --remote: the launched run and task) as JSON')
    .addHelpText(
      'after',
      examples(
        ['back up the spec "home" now, on this machine', 'stash backup home'],
        ['the same from cron: no progress, only the outcome and errors', 'stash backup home --quiet'],
        ["on AWS, following the task to its end", 'stash backup home --remote --wait --specs s3://my-stash-config/specs'],
      ),
    )
    .action((name: string, o: BackupOptions) => runBackup(ctx, name, o));
}

/** Backs up the spec now and reports the outcome (or the launched task). */
export function runBackup(ctx: CommandContext, name: string, o: BackupOptions): Promise<void> {
  return runSpecNow(ctx, name, 'backup', o);
}
