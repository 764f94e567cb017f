/**
 * `stash`: validate, plan, back up, check, list snapshots, restore, show status and run the
 * local scheduler. Thin: parses arguments, calls the engine or core, maps errors to exit
 * codes in one place (0 ok, 1 failed or invalid, 2 usage).
 */
import { Command, CommanderError } from 'commander';
import { formatProblem, StashError, errorMessage } from '../core/errors';
import { plan } from '../core/plan';
import { validateDocuments } from '../core/validate';
import { FolderSpecStore } from './local/stores';
import { isRemote } from './uri';
import { fileRunLog, LocalEngine, type EngineOutput } from './local/engine';

/** Where the CLI writes; tests capture it. */
export interface Io extends EngineOutput {
  /** Raw output (JSON), no newline added. */
  write(text: string): void;
}

export const processIo: Io = {
  line: (t) => process.stdout.write(`${t}\n`),
  error: (t) => process.stderr.write(`${t}\n`),
  write: (t) => process.stdout.write(t),
};

/** An error already reported to the user; only its exit code matters. */
class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

interface CommonOptions {
  specs: string;
  secrets: string;
  state: string;
}

function isoDate(value: string, flag: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new CommanderError(2, 'stash.usage', `${flag}: not an ISO 8601 date: "${value}"`);
  return d;
}

/** Builds the command tree bound to an output and an exit-code sink. */
export function buildProgram(io: Io, setExit: (code: number) => void, signal?: AbortSignal): Command {
  const program = new Command('stash')
    .description("Scheduled, encrypted restic backups from Stash's Restic specs, on AWS or on this machine")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.write(t), writeErr: (t) => io.error(t.replace(/\n$/, '')) });

  const common = (cmd: Command) =>
    cmd
      .option('--specs <path>', 'folder or file of Restic specs', 'specs')
      .option('--secrets <dir>', 'folder of secrets: <name>/<KEY> files or <name>.json', 'secrets')
      .option('--state <dir>', 'folder for status, logs and the scheduler state', '.stash');
  const engine = (o: CommonOptions) => new LocalEngine({ specs: [o.specs], secrets: o.secrets, state: o.state }, io);
  /** The stores of a deployed stack when `--specs` is s3:// (loaded only then: it brings the AWS SDK). */
  const remote = async (o: CommonOptions) => {
    if (!isRemote(o.specs)) {
      if (isRemote(o.secrets) || isRemote(o.state)) throw new CommanderError(2, 'stash.usage', '--secrets sm:// and --state s3:// go with --specs s3://bucket/prefix');
      return undefined;
    }
    const { RemoteStash } = await import('./remote');
    return new RemoteStash({ specs: o.specs, secrets: isRemote(o.secrets) ? o.secrets : undefined, state: isRemote(o.state) ? o.state : undefined });
  };
  /** Local mode or the stack's stores, for the commands that work on both. */
  const stash = async (o: CommonOptions) => {
    const r = await remote(o);
    if (!r) return engine(o);
    return {
      load: () => r.load(),
      status: () => r.status(),
      snapshots: (name: string) => r.snapshots(name),
      restore: (name: string, target: string, snapshot?: string) => r.restore(name, target, snapshot, fileRunLog(o.state, name, io)),
    };
  };

  const requireRemote = async (o: CommonOptions) => {
    const r = await remote(o);
    if (!r) throw new CommanderError(2, 'stash.usage', '--remote needs --specs s3://bucket/prefix (the deployed stack\'s config bucket)');
    return r;
  };
  const localOnly = (o: CommonOptions) => {
    if (isRemote(o.specs)) throw new CommanderError(2, 'stash.usage', 'with --specs s3://... this command runs on AWS: add --remote');
    return engine(o);
  };

  program
    .command('validate')
    .description('check Restic specs and Recoveries (files or folders of .yaml, .yml, .json; multi-document YAML allowed)')
    .argument('<paths...>', 'spec files or folders, or s3://bucket/prefix')
    .action(async (paths: string[]) => {
      const docs = [];
      for (const path of paths) {
        const r = await remote({ specs: path, secrets: '', state: '' });
        docs.push(...(r ? await r.specStore.documents() : await new FolderSpecStore([path]).documents()));
      }
      const result = validateDocuments(docs);
      for (const w of result.warnings) io.error(`warning: ${formatProblem(w)}`);
      for (const p of result.problems) io.error(formatProblem(p));
      for (const s of result.specs) io.line(`ok ${s.source}: ${s.spec.metadata.name}`);
      for (const r of result.recoveries) io.line(`ok ${r.source}: ${r.recovery.metadata.name}`);
      if (docs.length === 0) io.error(`no .yaml, .yml or .json files in ${paths.join(', ')}`);
      io.line(`${result.specs.length + result.recoveries.length} valid, ${new Set(result.problems.map((p) => p.source)).size} invalid, ${result.warnings.length} warning(s)`);
      setExit(result.problems.length || docs.length === 0 ? 1 : 0);
    });

  common(program.command('plan'))
    .description('list the scheduled backups in the window [from, until)')
    .requiredOption('--from <iso>', 'start of the window (included)')
    .requiredOption('--until <iso>', 'end of the window (excluded)')
    .option('--json', 'print a JSON array of {"spec", "at"}')
    .action(async (o: CommonOptions & { from: string; until: string; json?: boolean }) => {
      const from = isoDate(o.from, '--from');
      const until = isoDate(o.until, '--until');
      if (until < from) throw new CommanderError(2, 'stash.usage', '--until must not be before --from');
      const result = await (await stash(o)).load();
      for (const p of result.problems) io.error(formatProblem(p));
      const runs = plan(result.specs.map((s) => s.spec), from, until);
      if (o.json) io.write(`${JSON.stringify(runs.map((r) => ({ spec: r.spec, at: r.at.toISOString() })), null, 2)}\n`);
      else for (const r of runs) io.line(`${r.at.toISOString()}  ${r.spec}`);
      setExit(result.problems.length ? 1 : 0);
    });

  common(program.command('backup'))
    .description('back up one spec now')
    .argument('<name>', 'the spec (metadata.name)')
    .option('--remote', 'launch the backup now as a Fargate task of the deployed stack (needs --specs s3://...)')
    .action(async (name: string, o: CommonOptions & { remote?: boolean }) => {
      if (o.remote) {
        const started = await (await requireRemote(o)).backupNow(name);
        io.line(`${name}: backup launched: run ${started.run}, task ${started.taskArn}`);
        return;
      }
      const result = await localOnly(o).runNow(name, { signal });
      io.line(`${name}: backup ${result.outcome}${result.error ? `: ${result.error}` : ''}`);
      setExit(result.outcome === 'succeeded' ? 0 : 1);
    });

  common(program.command('check'))
    .description('run restic check on the spec\'s repository')
    .argument('<name>', 'the spec (metadata.name)')
    .option('--read-data-subset <subset>', 'also read this part of the data: n/t, a percentage or a size')
    .option('--remote', 'launch the check now as a Fargate task of the deployed stack (needs --specs s3://...)')
    .action(async (name: string, o: CommonOptions & { readDataSubset?: string; remote?: boolean }) => {
      if (o.remote) {
        const started = await (await requireRemote(o)).backupNow(name, 'check');
        io.line(`${name}: check launched: run ${started.run}, task ${started.taskArn}`);
        return;
      }
      const result = await localOnly(o).runNow(name, { kind: 'check', readDataSubset: o.readDataSubset, signal });
      io.line(`${name}: check ${result.outcome}${result.error ? `: ${result.error}` : ''}`);
      setExit(result.outcome === 'succeeded' ? 0 : 1);
    });

  common(program.command('snapshots'))
    .description("list the spec's snapshots")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--json', "print restic's snapshot objects")
    .action(async (name: string, o: CommonOptions & { json?: boolean }) => {
      const snapshots = await (await stash(o)).snapshots(name);
      if (o.json) {
        io.write(`${JSON.stringify(snapshots, null, 2)}\n`);
        return;
      }
      if (!snapshots.length) io.line(`${name}: no snapshots`);
      for (const s of snapshots) io.line(`${s.short_id}  ${s.time.slice(0, 19).replace('T', ' ')}  ${s.paths.join(', ')}${s.tags?.length ? `  [${s.tags.join(', ')}]` : ''}`);
    });

  common(program.command('restore'))
    .description("restore the spec's fileGroups under DIR: fileGroup /data lands in DIR/data")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--target <dir>', 'folder to restore into (on this machine)')
    .option('--snapshot <id>', 'a snapshot id, or latest', 'latest')
    .option('--remote', 'restore on AWS into EFS volumes (needs --specs s3://... and --volume)')
    .option('--volume <mount=source>', 'with --remote: MOUNTPATH=efs:fs-...[:/dir][@fsap-...], repeatable', (v: string, all: string[] = []) => [...all, v])
    .option('--name <name>', 'with --remote: the Recovery name (default <spec>-<time>)')
    .action(async (name: string, o: CommonOptions & { target?: string; snapshot: string; remote?: boolean; volume?: string[]; name?: string }) => {
      if (o.remote) {
        if (!o.volume?.length) throw new CommanderError(2, 'stash.usage', 'restore --remote needs at least one --volume MOUNTPATH=efs:fs-...');
        const { parseVolumeFlag } = await import('./remote');
        const started = await (await requireRemote(o)).restoreNow(name, { volumes: o.volume.map(parseVolumeFlag), snapshot: o.snapshot === 'latest' ? undefined : o.snapshot, name: o.name });
        io.line(`${name}: Recovery ${started.recovery} ${started.phase}${started.taskArn ? `: task ${started.taskArn}` : ''}${started.reason ? `: ${started.reason}` : ''}`);
        setExit(started.phase === 'Failed' ? 1 : 0);
        return;
      }
      if (!o.target) throw new CommanderError(2, 'stash.usage', "restore needs --target DIR (or --remote with --volume)");
      const restored = await (await stash(o)).restore(name, o.target, o.snapshot);
      for (const r of restored) io.line(`${name}: restored ${r.path} from ${r.snapshot} to ${r.restoredTo}`);
    });

  common(program.command('status'))
    .description('per spec: backups so far, the last error and the next run')
    .option('--json', 'print JSON')
    .action(async (o: CommonOptions & { json?: boolean }) => {
      const rows = await (await stash(o)).status();
      if (o.json) {
        io.write(`${JSON.stringify(rows.map((r) => ({ name: r.name, nextRun: r.nextRun, paused: r.paused ?? false, ...r.status })), null, 2)}\n`);
        return;
      }
      if (!rows.length) io.line('no specs');
      for (const r of rows) {
        const s = r.status;
        io.line(`${r.name}${r.paused ? ' (paused)' : ''}`);
        io.line(`  backups: ${s?.backupCount ?? 0}, last: ${s?.lastBackupTime ?? 'never'} (${s?.lastOutcome ?? '-'}${s?.lastBackupDuration ? `, ${s.lastBackupDuration}` : ''})`);
        io.line(`  first: ${s?.firstBackupTime ?? 'never'}, last successful: ${s?.lastSuccessfulBackupTime ?? 'never'}`);
        if (s?.running) io.line(`  running: ${s.running.run} since ${s.running.startedAt}`);
        if (s?.lastError) io.line(`  last error: ${s.lastError}`);
        if (s?.lastSkipped) io.line(`  last skipped: ${s.lastSkipped.slot}: ${s.lastSkipped.reason}`);
        io.line(`  next run: ${r.nextRun ?? (r.paused ? 'paused' : 'none')}`);
      }
    });

  common(program.command('run'))
    .description('the local scheduler: every minute, run what is due (Ctrl-C stops it cleanly)')
    .option('--once', 'one tick, then wait for its runs and exit')
    .action(async (o: CommonOptions & { once?: boolean }) => {
      const eng = localOnly(o);
      if (o.once) {
        const { decision, done } = await eng.tick(signal);
        if (!decision.launch.length) io.line('nothing due');
        const results = await done;
        setExit(results.every((r) => r.outcome === 'succeeded') ? 0 : 1);
        return;
      }
      io.line(`stash: scheduling specs from ${o.specs} every minute; Ctrl-C to stop`);
      const running = new Set<Promise<unknown>>();
      while (!signal?.aborted) {
        const { done } = await eng.tick(signal);
        running.add(done);
        void done.finally(() => running.delete(done));
        const wait = 60_000 - (Date.now() % 60_000) + 500;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
      io.line('stash: stopping; waiting for running backups to stop');
      await Promise.allSettled(running);
    });

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
      if (err.code === 'stash.usage') io.error(err.message);
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
