/**
 * `stash describe NAME`: one spec as an operator wants to see it before touching it: where it
 * is, its schedule and next runs, its fileGroups and retention, its repository and restic host,
 * its status, its recent runs, and its snapshots (read by restic; snapshots of hosts no spec
 * claims are a warning).
 */
import type { Command } from 'commander';
import { errorMessage } from '../../core/errors';
import { RESTIC_HOST_ANNOTATION, resticHost } from '../../core/host';
import { plan, planChecks } from '../../core/plan';
import { rowProblem } from '../../core/status';
import { backendKind, retentionPolicyOf } from '../../schemas/restic';
import { forgetArgs } from '../../runner/run';
import { examples, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';
import { unclaimedWarning } from '../stash';
import { columns, historyRow } from './history';

/** `describe`'s options as commander gives them. */
export interface DescribeOptions extends StoreOptions {
  readonly json?: boolean;
  /** Leave out the snapshots (no restic, no secret needed). */
  readonly snapshots: boolean;
}

/** How many runs and next slots describe shows. */
const SHOWN = 5;

/** Adds `describe` to the program. */
export function registerDescribe(program: Command, ctx: CommandContext): void {
  withStores(program.command('describe'))
    .description('show one spec: schedule and next runs, fileGroups, repository, status, recent runs and snapshot count')
    .argument('<name>', 'the spec (metadata.name)')
    .option('--no-snapshots', 'do not run restic to count the snapshots')
    .option('--json', 'print it as JSON')
    .addHelpText('after', examples(['everything about home', 'stash describe home'], ['without reaching the repository', 'stash describe home --no-snapshots']))
    .action((name: string, o: DescribeOptions) => runDescribe(ctx, name, o));
}

/** Prints the spec's description; a snapshot listing that fails is reported in it, not fatal. */
export async function runDescribe({ io, signal }: CommandContext, name: string, o: DescribeOptions): Promise<void> {
  const stash = await openStash(o, io);
  const loaded = await stash.spec(name);
  const { spec } = loaded;
  const now = new Date();
  const week = new Date(now.getTime() + 7 * 24 * 3600_000);
  const nextBackups = plan([spec], now, week).slice(0, SHOWN).map((r) => r.at.toISOString());
  const nextChecks = planChecks([spec], now, week).slice(0, 1).map((r) => r.at.toISOString());
  const [rows, runs] = await Promise.all([stash.status(signal), stash.history(name, SHOWN)]);
  const row = rows.find((r) => r.name === name);
  let snapshots: { count: number; newest?: string } | { error: string } | undefined;
  let warnings: string[] = [];
  if (o.snapshots) {
    try {
      const found = await stash.repositorySnapshots(name, signal);
      snapshots = { count: found.snapshots.length, newest: found.snapshots.at(-1)?.time };
      warnings = found.unclaimed.map((u) => unclaimedWarning(name, u));
    } catch (err) {
      snapshots = { error: errorMessage(err) };
    }
  }
  const host = resticHost(spec);
  const description = {
    name,
    source: loaded.source,
    paused: spec.spec.paused ?? false,
    schedule: spec.spec.schedule,
    nextBackups,
    check: { schedule: spec.spec.check?.schedule, paused: spec.spec.check?.paused ?? false, next: nextChecks[0] },
    fileGroups: spec.spec.fileGroups.map((g) => ({ path: g.path, tags: g.tags ?? [], retention: forgetArgs(retentionPolicyOf(spec.spec, g)).join(' ') || undefined })),
    backend: backendKind(spec.spec.backend),
    repository: stash.repositoryOf(spec),
    storageSecretName: spec.spec.backend.storageSecretName,
    resticHost: host,
    status: row?.status,
    problem: row ? rowProblem(row) : undefined,
    runs,
    snapshots,
    warnings: [...loaded.warnings, ...warnings],
  };
  if (o.json) {
    io.write(`${JSON.stringify(description, null, 2)}\n`);
    return;
  }
  for (const w of warnings) io.warn(w);
  io.line(`${name}  (${loaded.source})${description.paused ? '  paused' : ''}`);
  io.line(`  schedule:    ${spec.spec.schedule}; next: ${nextBackups.join(', ') || 'none in the next 7 days'}`);
  io.line(`  check:       ${spec.spec.check?.paused ? 'paused' : `next ${nextChecks[0] ?? 'none in the next 7 days'}`}`);
  for (const g of description.fileGroups) io.line(`  fileGroup:   ${g.path}${g.tags.length ? `  [${g.tags.join(', ')}]` : ''}${g.retention ? `  retention: ${g.retention}` : '  no retention policy'}`);
  io.line(`  repository:  ${description.repository} (${description.backend}), secret "${description.storageSecretName}"`);
  io.line(`  restic host: ${host}${host === name ? '' : ` (annotation ${RESTIC_HOST_ANNOTATION})`}`);
  const s = row?.status;
  io.line(`  status:      ${s ? `${s.backupCount} backups, last ${s.lastBackupTime ?? 'never'} (${s.lastOutcome ?? '-'}), last successful ${s.lastSuccessfulBackupTime ?? 'never'}, last check ${s.lastCheckTime ?? 'never'}${s.lastCheckOutcome ? ` (${s.lastCheckOutcome})` : ''}` : 'never run'}`);
  if (description.problem) io.line(`  attention:   ${io.bad(description.problem)}`);
  if (snapshots) io.line(`  snapshots:   ${'error' in snapshots ? `cannot list: ${snapshots.error}` : `${snapshots.count}${snapshots.newest ? `, newest ${snapshots.newest}` : ''}`}`);
  for (const w of loaded.warnings) io.line(`  warning:     ${w}`);
  if (!runs.length) {
    io.line('  runs:        none yet');
    return;
  }
  io.line(`  recent runs (stash history ${name} lists all):`);
  for (const line of columns(runs.map(historyRow))) io.line(`    ${line}`);
}
