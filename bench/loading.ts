/**
 * Benchmark 5, loading one large spec: a valid spec with 10,000 to 80,000 labels (the 80,000
 * one is about 990 KB, under the 1 MiB a document may have), read and validated as every command
 * does (`parseSpecDocument`), beside the parser's own duplicate-key check (`uniqueKeys:
 * true`, what the loader used before), which compares each key with every earlier key of its
 * mapping. Both sides in one run, in process; medians, the parser's check once per size (it
 * is the slow one).
 */
import { parseAllDocuments, stringify } from 'yaml';
import { parseSpecDocument, yamlValues, YAML_OPTIONS } from '../core/spec';
import { DEMO_SPEC } from '../test/support/specs';
import { measure, median, ms, table, type BenchResult } from './lib';

/** The demo spec with `labels` labels `lN: v` (N in base 36) under metadata, as YAML. */
export function labelledSpec(labels: number): string {
  const metadata = { name: 'labelled', labels: Object.fromEntries(Array.from({ length: labels }, (_, i) => [`l${i.toString(36)}`, 'v'])) };
  return stringify({ ...DEMO_SPEC, metadata });
}

export async function loading(options: { sizes?: readonly number[]; runs?: number } = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [10_000, 20_000, 40_000, 80_000];
  const runs = options.runs ?? 5;
  const source = 'specs/labelled.yaml';
  const texts = sizes.map(labelledSpec);
  const now: number[][] = sizes.map(() => []);
  const read: number[][] = sizes.map(() => []);
  // Sizes interleaved round by round, so a change in the machine's load shifts them all alike.
  for (let k = 0; k < runs; k++) {
    for (const [i, text] of texts.entries()) {
      const loaded = await measure(() => parseSpecDocument({ source, text }));
      if (loaded.value.problems.length || loaded.value.specs.length !== 1) throw new Error(`the labelled spec is invalid: ${loaded.value.problems[0]?.message}`);
      now[i].push(loaded.ms);
      read[i].push((await measure(() => yamlValues({ source, text }))).ms);
    }
  }
  const rows: string[][] = [];
  for (const [i, text] of texts.entries()) {
    const before = await measure(() => parseAllDocuments(text, { ...YAML_OPTIONS, uniqueKeys: true }));
    const docs = Array.isArray(before.value) ? before.value : [before.value];
    if (docs.some((d) => d.errors.length)) throw new Error('the parser refused the labelled spec');
    process.stderr.write(`loading: ${sizes[i]} labels: ${ms(median(now[i]))} (the parser's check alone ${ms(before.ms)})\n`);
    rows.push([
      sizes[i].toLocaleString('en'),
      `${Math.round(Buffer.byteLength(text) / 1000)} KB`,
      ms(median(now[i])),
      ms(median(read[i])),
      `${(median(now[i]) / median(now[0])).toFixed(1)}×`,
      ms(before.ms),
      `${(before.ms / median(now[i])).toFixed(0)}×`,
    ]);
  }
  const markdown = [
    `One valid spec with many labels, loaded as every command loads a spec (\`parseSpecDocument\`: YAML, duplicate keys, schema, schedules), median of ${runs}, the sizes interleaved; ` +
      "the YAML part alone (`yamlValues`); and, in the same run, parsing the same text with the parser's own duplicate-key check (`uniqueKeys: true`), as the loader did before, once per size.",
    '',
    table(['labels', 'size', 'load (now)', 'of which YAML', 'load / first size', "parse with the parser's check (before)", 'before / now'], rows),
  ].join('\n');
  return { name: 'loading', markdown };
}
