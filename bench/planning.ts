/**
 * Benchmark 2, planning: one dispatcher tick's pure work for 1k, 10k and 100k specs from a
 * generator: read and validate every document (`SpecCache.load`, as the dispatcher does),
 * plan the minute's backups and checks (`plan`, `planChecks`) and decide launches
 * (`decideTick`).
 *
 * - Cold (a new Lambda container): the documents come from the compiled specs the
 *   dispatcher wrote (`readCompiledSpecs`: JSON.parse and its schema), so no YAML is parsed,
 *   and their verdicts are used as they are (same release).
 * - Cold, another release (the first cold start after a deploy): the same, but every value is
 *   validated again (schema, schedules, volumes).
 * - Warm (the usual minute): every document unchanged in the cache.
 * - Every document changed (a fresh cache, YAML parsed for all): the first tick ever, or
 *   every spec uploaded again at once. Its first run is also shown on its own, since the
 *   schedule parser memoises expressions across ticks.
 *
 * In-process, medians. The cold tick must plan exactly what the YAML tick planned.
 */
import { stringify } from 'yaml';
import type { SpecDocument } from '../core/ports';
import { plan, planChecks } from '../core/plan';
import { SpecCache } from '../core/spec';
import { compiledDocuments, compiledSpecsText, readCompiledSpecs, seedCache } from '../aws/s3-compiled-specs';
import type { S3SpecDocument } from '../aws/s3-spec-store';
import { decideTick } from '../core/tick';
import { measure, median, ms, table, type BenchResult } from './lib';

/** A deterministic pseudo-random sequence (mulberry32), so every run plans the same specs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BUCKET = 'stash-config';

/** `count` spec documents as users write them, as the S3 spec store reads them: mixed backends, schedules and retention policies. */
export function generateSpecs(count: number, seed = 1): S3SpecDocument[] {
  return generateSpecObjects(count, seed).map((spec, i) => {
    const key = `specs/${spec.metadata.name}.yaml`;
    const etag = `"${i.toString(16).padStart(32, '0')}"`;
    return { source: `s3://${BUCKET}/${key}`, key, etag, version: etag, text: stringify(spec) };
  });
}

/** The specs of {@link generateSpecs} as objects. */
export function generateSpecObjects(count: number, seed = 1): { metadata: { name: string } }[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const int = (n: number) => Math.floor(r() * n);
  const schedules = [
    () => `${int(60)} ${int(24)} * * *`,
    () => `${int(60)} */${1 + int(6)} * * *`,
    () => `TZ=${pick(['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC'])} ${int(60)} ${int(24)} * * ${pick(['*', '1-5', '0,6'])}`,
    () => pick(['@hourly', '@daily', '@weekly', '@every 1m', '@every 5m', '@every 15m', '@every 6h', '@every 1h30m']),
    () => `*/${pick([5, 10, 15, 30])} * * * *`,
  ];
  const specs: { metadata: { name: string } }[] = [];
  for (let i = 0; i < count; i++) {
    const name = `spec-${i}`;
    const backend = pick([
      () => ({ s3: { endpoint: 's3.amazonaws.com', bucket: `stash-team-${int(50)}`, prefix: name }, storageSecretName: `s3-secret-${int(20)}` }),
      () => ({ local: { path: '/repo', volumeSource: { efs: { fileSystemId: `fs-${(0x1000_0000 + int(0xfff_ffff)).toString(16)}` } } }, storageSecretName: 'efs-secret' }),
      () => ({ rest: { url: `https://rest-${int(5)}.example.com/${name}/` }, storageSecretName: 'rest-secret' }),
    ])();
    const groups = Array.from({ length: 1 + int(3) }, (_, g) => ({
      path: `/source/data-${g}`,
      ...(r() < 0.7 ? { retentionPolicy: { keepLast: 1 + int(10), keepDaily: 7, prune: r() < 0.5 } } : {}),
    }));
    const spec = {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name, namespace: 'default', labels: { team: `team-${int(50)}` } },
      spec: {
        fileGroups: groups,
        backend,
        schedule: pick(schedules)(),
        volumeMounts: groups.map((g, k) => ({ mountPath: g.path, name: `data-${k}` })),
        volumes: groups.map((_, k) => ({ name: `data-${k}`, efs: { fileSystemId: `fs-${(0x2000_0000 + k).toString(16)}` } })),
        ...(r() < 0.1 ? { paused: true } : {}),
      },
    };
    specs.push(spec);
  }
  return specs;
}

interface Tick {
  load: number;
  plan: number;
  decide: number;
  total: number;
  specs: number;
  launches: number;
}

const RELEASE = 'this release';

/** What a cold container does with the compiled specs: the documents to load, and verdicts in the cache when the release is the writer's. */
const restore = (text: string, cache: SpecCache, release: string): SpecDocument[] => seedCache(readCompiledSpecs(text, BUCKET)!, cache, release);

/** One tick; `read` is what comes before loading (reading the compiled specs), timed with the load. */
function oneTick(cache: SpecCache, read: (cache: SpecCache) => readonly SpecDocument[], now: Date): Tick {
  const from = new Date(now.getTime() - 60_000);
  const t0 = process.hrtime.bigint();
  const loaded = cache.load(read(cache));
  const t1 = process.hrtime.bigint();
  const specs = loaded.specs.map((s) => s.spec);
  const due = [...plan(specs, from, now), ...planChecks(specs, from, now)];
  const t2 = process.hrtime.bigint();
  const decision = decideTick({ specs, due, statuses: new Map(), now, isRunning: () => false });
  const t3 = process.hrtime.bigint();
  if (loaded.problems.length) throw new Error(`generated specs are invalid: ${loaded.problems[0].message}`);
  const msOf = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  return { load: msOf(t0, t1), plan: msOf(t1, t2), decide: msOf(t2, t3), total: msOf(t0, t3), specs: loaded.specs.length, launches: decision.launch.length };
}

export async function planning(options: { sizes?: readonly number[]; runs?: number } = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [1_000, 10_000, 100_000];
  const rows: string[][] = [];
  // Midnight of a check day (the 4th): hourly and daily schedules and the default checks fall due together, the busiest minute.
  const now = new Date('2026-03-04T00:00:30Z');
  for (const size of sizes) {
    const { ms: genMs, value: docs } = await measure(() => generateSpecs(size));
    const runs = options.runs ?? (size >= 100_000 ? 3 : 7);
    const cold: Tick[] = [];
    const warm: Tick[] = [];
    const compiled: Tick[] = [];
    const revalidated: Tick[] = [];
    const writes: number[] = [];
    let text = '';
    for (let k = 0; k < runs; k++) {
      const cache = new SpecCache();
      cold.push(oneTick(cache, () => docs, now));
      warm.push(oneTick(cache, () => docs, new Date(now.getTime() + 60_000)));
      // What the dispatcher writes after that tick, and what a cold container does with it.
      const t0 = process.hrtime.bigint();
      text = compiledSpecsText(RELEASE, compiledDocuments(docs, cache));
      writes.push(Number(process.hrtime.bigint() - t0) / 1e6);
      compiled.push(oneTick(new SpecCache(), (fresh) => restore(text, fresh, RELEASE), now));
      revalidated.push(oneTick(new SpecCache(), (fresh) => restore(text, fresh, 'a later release'), now));
    }
    const med = (ticks: Tick[], key: keyof Tick) => median(ticks.map((t) => t[key]));
    for (const t of [compiled[0], revalidated[0]]) {
      if (t.launches !== cold[0].launches || t.specs !== cold[0].specs) throw new Error('a tick from the compiled specs planned differently');
    }
    process.stderr.write(
      `planning: ${size} specs (generated in ${ms(genMs)}): cold ${ms(med(compiled, 'total'))} (another release ${ms(med(revalidated, 'total'))}), warm ${ms(med(warm, 'total'))}, every document changed ${ms(med(cold, 'total'))}\n`,
    );
    rows.push([
      size.toLocaleString('en'),
      ms(med(compiled, 'total')),
      `${ms(med(compiled, 'load'))} + ${ms(med(compiled, 'plan'))} + ${ms(med(compiled, 'decide'))}`,
      ms(med(revalidated, 'total')),
      ms(med(warm, 'total')),
      ms(cold[0].total),
      ms(med(cold, 'total')),
      `${ms(median(writes))}, ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MiB`,
      `${Math.round(size / (med(compiled, 'total') / 1000)).toLocaleString('en')}/s`,
      `${cold[0].launches.toLocaleString('en')}`,
    ]);
  }
  const markdown = [
    "One tick at 00:00:30 UTC on the 4th of a month (hourly and daily schedules due together, and every spec's default check, `0 0 */3 * *`), planning the minute before it. " +
      'Cold: a new container, which reads the compiled specs (`state/compiled-specs.json`: JSON.parse and its schema) instead of fetching and parsing every document, and uses their verdicts; ' +
      'another release: the same, validating every value again (the first cold start after a deploy); ' +
      'warm: every document unchanged since the last tick; every document changed: a fresh cache parsing all the YAML (the first tick ever, or every spec uploaded again at once). ' +
      'Writing the compiled specs happens after a tick in which documents changed.',
    '',
    table(
      ['specs', 'cold tick (compiled specs)', 'read + plan + decide', 'cold tick, another release', 'warm tick', 'every document changed: first', 'every document changed: median', 'writing the compiled specs, size', 'cold throughput', 'launches'],
      rows,
    ),
  ].join('\n');
  return { name: 'planning', markdown };
}
