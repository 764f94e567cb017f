/**
 * `stash run`: the local scheduler. Every minute it runs what is due; Ctrl-C stops it, and it
 * waits for the running backups (which stop cleanly) before it exits. `--once` is one tick:
 * it waits for that tick's runs and exits 1 unless all succeeded. A tick that fails (the spec
 * folder gone, say) is reported and the next minute tries again: only a signal stops it.
 */
import type { Command } from 'commander';
import { errorMessage } from '../../core/errors';
import { examples, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';

/** `run`'s options as commander gives them. */
export interface RunOptions extends StoreOptions {
  readonly once?: boolean;
  /** With `--once`: the tick's run results as JSON. */
  readonly json?: boolean;
}

/** Adds `run` to the program. */
export function registerRun(program: Command, ctx: CommandContext): void {
  withStores(program.command('run'))
    .description('the local scheduler: every minute, run what is due (Ctrl-C stops it cleanly)')
    .option('--once', 'one tick, then wait for its runs and exit')
    .option('--json', "with --once: print the tick's run results as JSON")
    .addHelpText(
      'after',
      examples(
        ['schedule the specs in ./specs until Ctrl-C', 'stash run'],
        ['one tick from cron, every minute', '* * * * * cd /srv/stash && stash run --once --quiet'],
        ['as a systemd service instead', 'stash service install --specs /srv/stash/specs --secrets /srv/stash/secrets --state /var/lib/stash'],
      ),
    )
    .action((o: RunOptions) => runScheduler(ctx, o));
}

/** The scheduler: ticks once, or every minute until the signal aborts. */
export async function runScheduler({ io, setExit, signal }: CommandContext, o: RunOptions): Promise<void> {
  const engine = await openStash(o, io, 'local');
  if (o.once) {
    const { decision, done } = await engine.tick(signal);
    if (!decision.launch.length && !o.json) io.info('nothing due');
    const results = await done;
    if (o.json) io.write(`${JSON.stringify(results, null, 2)}\n`);
    setExit(results.every((r) => r.outcome === 'succeeded') ? 0 : 1);
    return;
  }
  io.info(`stash: scheduling specs from ${o.specs} every minute; Ctrl-C to stop`);
  const running = new Set<Promise<unknown>>();
  while (!signal?.aborted) {
    try {
      const { done } = await engine.tick(signal);
      running.add(done);
      void done.finally(() => running.delete(done));
    } catch (err) {
      if (!signal?.aborted) io.error(`stash: this tick failed, the next one tries again: ${errorMessage(err)}`);
    }
    const wait = 60_000 - (Date.now() % 60_000) + 500;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  io.info('stash: stopping; waiting for running backups to stop');
  await Promise.allSettled(running);
}
