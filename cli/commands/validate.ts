/**
 * `stash validate PATH...`: checks spec files, folders or `s3://bucket/prefix` stores, printing
 * each valid spec and Recovery and each problem with its file and field; exit 1 when any is
 * invalid or there is nothing to check.
 */
import type { Command } from 'commander';
import { formatProblem } from '../../core/errors';
import type { SpecDocument } from '../../core/ports';
import { validateDocuments } from '../../core/validate';
import { examples, type CommandContext } from '../command';
import { openStash, STORE_DEFAULTS } from '../mode';

/** Adds `validate` to the program. */
export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('check Restic specs and Recoveries (files or folders of .yaml, .yml, .json; multi-document YAML allowed)')
    .argument('<paths...>', 'spec files or folders, or s3://bucket/prefix')
    .option('--json', 'print {"valid": [...], "problems": [...], "warnings": [...]} (problems and warnings as {source, path, message})')
    .addHelpText(
      'after',
      examples(
        ['the specs you wrote for Kubernetes', 'stash validate specs/'],
        ['what kubectl prints, as JSON', 'kubectl get restic -A -o yaml > all.yaml && stash validate all.yaml --json'],
        ["a deployed stack's config bucket", 'stash validate s3://my-stash-config/specs'],
      ),
    )
    .action((paths: string[], o: { json?: boolean }) => runValidate(ctx, paths, o));
}

/** Validates every document under `paths` together, as one store would hold them. */
export async function runValidate({ io, setExit, signal }: CommandContext, paths: readonly string[], o: { json?: boolean } = {}): Promise<void> {
  const docs: SpecDocument[] = [];
  for (const path of paths) docs.push(...(await (await openStash({ ...STORE_DEFAULTS, specs: path }, io)).specStore.documents(signal)));
  signal?.throwIfAborted();
  const result = validateDocuments(docs);
  setExit(result.problems.length || docs.length === 0 ? 1 : 0);
  if (o.json) {
    const valid = [
      ...result.specs.map((s) => ({ kind: s.spec.kind, name: s.spec.metadata.name, source: s.source })),
      ...result.recoveries.map((r) => ({ kind: r.recovery.kind, name: r.recovery.metadata.name, source: r.source })),
    ];
    io.write(`${JSON.stringify({ valid, problems: result.problems, warnings: result.warnings, checked: docs.length }, null, 2)}\n`);
    return;
  }
  for (const w of result.warnings) io.warn(formatProblem(w));
  for (const p of result.problems) io.error(formatProblem(p));
  for (const s of result.specs) io.line(`ok ${s.source}: ${s.spec.metadata.name}`);
  for (const r of result.recoveries) io.line(`ok ${r.source}: ${r.recovery.metadata.name}`);
  if (docs.length === 0) io.error(`no .yaml, .yml or .json files in ${paths.join(', ')}`);
  io.line(`${result.specs.length + result.recoveries.length} valid, ${new Set(result.problems.map((p) => p.source)).size} invalid, ${result.warnings.length} warning(s)`);
}
