/** `stash backup NAME`: backs up one spec now, here or (`--remote`) as a task of the deployed stack. */
import type { Command } from 'commander';
import type { CommandContext } from '../command';
import { withStores } from '../mode';
import { runSpecNow, type RunNowOptions } from './now';

/** `backup`'s options as commander gives them. */
export type BackupOptions = RunNowOptions;

/** Adds `backup` to the program. */
export function registerBackup(program: Command, ctx: CommandContext): void {
  withStores(program.command('backup'))
    .description('back up one spec now')
    .argument('<name>', 'the spec (metadata.name)')
    .option('--remote', 'launch the backup now as a Fargate task of the deployed stack (needs --specs s3://...)')
    .option('--init', 'create the repository if it is not there, even though this spec (or another sharing the repository) has backed up to it before')
    .action((name: string, o: BackupOptions) => runBackup(ctx, name, o));
}

/** Backs up the spec now and reports the outcome (or the launched task). */
export function runBackup(ctx: CommandContext, name: string, o: BackupOptions): Promise<void> {
  return runSpecNow(ctx, name, 'backup', o);
}
