/**
 * The compiled specs: every spec document's YAML already read into plain values, and what
 * validating them gave, in one object beside the watermark (`state/compiled-specs.json`),
 * each under its key and ETag.
 *
 * A warm dispatcher re-reads only documents whose ETag changed (`S3SpecStore`) and re-parses
 * only those (`SpecCache`). A cold one (a new Lambda container, every hour or so) would GET
 * and parse every document again: for 10,000 specs, 10,000 requests and ~4 s in the YAML
 * parser, most of a tick. Instead it reads this one object and seeds both caches with it;
 * only documents whose ETag differs are fetched and parsed.
 *
 * The verdicts (which values are specs, their warnings and problems) are used only by the
 * release that wrote them: `release` identifies the running code (the dispatcher's bundle).
 * Any other release, the record function's included, validates every value again (schema,
 * schedules, volumes), so a new release judges old specs by its own rules.
 *
 * Left out: documents whose YAML had problems (parsed again each cold start, which reports
 * them again) and Recovery documents (read whole every tick). Any writer's object is correct
 * for the keys and ETags it names, so two ticks writing at once need no condition: the last
 * one wins, and a document it lacks is parsed once more.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from '../schemas/zod';
import type { Restic } from '../schemas/restic';
import { errorMessage, StashError } from '../core/errors';
import { isRecoveryText } from '../core/recovery';
import type { YamlValue } from '../core/ports';
import type { CachedParse, SpecCache, SpecLoadResult } from '../core/spec';
import { isNotFound, s3Uri } from './s3';
import type { S3SpecDocument, S3SpecStore } from './s3-spec-store';

/** Raised when the compiled specs cannot be read or written; a tick goes on without them. */
export class CompiledSpecsError extends StashError {}

/** The object's name under the state prefix. */
export const COMPILED_SPECS_NAME = 'compiled-specs.json';

/** Changes when the layout of the object changes; an object of another format is ignored. */
export const COMPILED_SPECS_FORMAT = 2;

const ProblemSchema = z.object({ source: z.string(), path: z.string(), message: z.string() });

const CompiledSpecsSchema = z.object({
  format: z.literal(COMPILED_SPECS_FORMAT),
  /** The code that judged the verdicts. */
  release: z.string(),
  documents: z.array(
    z.object({
      key: z.string(),
      etag: z.string(),
      versionId: z.optional(z.string()),
      modifiedAt: z.optional(z.string()),
      values: z.array(z.object({ source: z.string(), value: z.unknown() })),
      /** Which values are specs (by index, with their warnings), and the document's problems and warnings. */
      verdict: z.object({
        specs: z.array(z.object({ index: z.number(), warnings: z.array(z.string()) })),
        problems: z.array(ProblemSchema),
        warnings: z.array(ProblemSchema),
      }),
    }),
  ),
});
type CompiledSpecs = z.infer<typeof CompiledSpecsSchema>;
export type CompiledDocument = CompiledSpecs['documents'][number];

/** Where the object lives, the caches it fills, and who is reading. */
export interface S3CompiledSpecsOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** The object key, e.g. `state/compiled-specs.json`. */
  readonly key: string;
  readonly store: S3SpecStore;
  readonly cache: SpecCache;
  /** Identifies the running code: verdicts written by the same release are used as they are. */
  readonly release: string;
}

/** Reads the compiled specs into a spec store's ETag cache, and writes them back when documents changed. */
export class S3CompiledSpecs {
  /** The release and documents (key and ETag) of the object when last read or written. */
  private written?: string;

  constructor(private readonly options: S3CompiledSpecsOptions) {}

  /** The one read of this instance, shared by every call of {@link restore}. */
  private restored?: Promise<number>;

  /**
   * Seeds the spec store with the stored documents, and the spec cache with their verdicts
   * when this release wrote them; returns how many documents. Reads once per instance (a
   * container): later calls give the first one's answer. None when there is no object yet or
   * it is of another format. Throws {@link CompiledSpecsError} when it cannot be read or is
   * not what this code writes.
   */
  restore(): Promise<number> {
    this.restored ??= this.read();
    return this.restored;
  }

  private async read(): Promise<number> {
    const { client, bucket, key, store, cache, release } = this.options;
    let text: string;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = (await res.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw new CompiledSpecsError(`failed to read ${s3Uri(bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
    let read: CompiledRead | undefined;
    try {
      read = readCompiledSpecs(text, bucket);
    } catch (err) {
      throw new CompiledSpecsError(`${s3Uri(bucket, key)} is not compiled specs: ${errorMessage(err)}`, { cause: err });
    }
    if (!read) return 0;
    const docs = seedCache(read, cache, release);
    this.written = fingerprint(read.release, docs);
    return store.seed(docs);
  }

  /**
   * Writes the documents the store and cache hold now, unless they are the ones last read or
   * written; returns whether it wrote.
   */
  async save(): Promise<boolean> {
    const { client, bucket, key, store, cache, release } = this.options;
    // Which documents first (cheap, every tick); what they hold only when that changed.
    const entries = compilable(store.known(), cache);
    const print = fingerprint(release, entries.map((e) => e.doc));
    if (print === this.written) return false;
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: compiledSpecsText(release, entries.map(compiledDocument)), ContentType: 'application/json' }));
    } catch (err) {
      throw new CompiledSpecsError(`failed to write ${s3Uri(bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
    this.written = print;
    return true;
  }
}

/** What a compiled specs object holds: who wrote it, and each document with its parse. */
export interface CompiledRead {
  readonly release: string;
  readonly documents: readonly { readonly doc: S3SpecDocument; readonly parse: CachedParse }[];
}

/**
 * A compiled specs object read back: each document as the store would have read it (with
 * its values instead of its text) and its parse; undefined when it is of another format.
 * Throws when it is not JSON or not what {@link compiledDocuments} writes.
 */
export function readCompiledSpecs(text: string, bucket: string): CompiledRead | undefined {
  const json: unknown = JSON.parse(text);
  // Another format: ignored, and replaced at the next write.
  if ((json as { format?: unknown } | null)?.format !== COMPILED_SPECS_FORMAT) return undefined;
  const parsed = CompiledSpecsSchema.parse(json);
  return {
    release: parsed.release,
    documents: parsed.documents.map((d) => {
      const version = d.versionId ?? d.etag;
      const doc: S3SpecDocument = {
        source: s3Uri(bucket, d.key),
        key: d.key,
        etag: d.etag,
        ...(d.versionId ? { versionId: d.versionId } : {}),
        version,
        text: '',
        values: d.values,
        ...(d.modifiedAt ? { modifiedAt: new Date(d.modifiedAt) } : {}),
      };
      const specs = d.verdict.specs.map(({ index, warnings }) => {
        const value = d.values[index];
        if (!value) throw new Error(`${d.key}: verdict names value ${index} of ${d.values.length}`);
        return { spec: value.value as Restic, source: value.source, version, warnings };
      });
      const result: SpecLoadResult = { specs, problems: d.verdict.problems, warnings: d.verdict.warnings };
      return { doc, parse: { values: d.values, result } };
    }),
  };
}

/**
 * The verdicts of a compiled specs object in the spec cache, when `release` wrote them (any
 * other release validates the values again); returns the documents, for the spec store.
 */
export function seedCache(read: CompiledRead, cache: SpecCache, release: string): S3SpecDocument[] {
  if (read.release === release) for (const { doc, parse } of read.documents) cache.seed(doc.source, doc.version!, parse);
  return read.documents.map((d) => d.doc);
}

/** A document the cache holds at its version, with the values its YAML gave. */
interface Compilable {
  readonly doc: S3SpecDocument;
  readonly parse: CachedParse & { readonly values: readonly YamlValue[] };
}

/**
 * The documents a compiled specs object holds, sorted by key: those cached at their version
 * with values. Recovery documents, documents whose YAML had problems and documents not cached
 * at their version are left out.
 */
function compilable(docs: readonly S3SpecDocument[], cache: SpecCache): Compilable[] {
  const entries: Compilable[] = [];
  for (const doc of docs) {
    if (!doc.values && isRecoveryText(doc.text)) continue;
    const parse = cache.get(doc.source, doc.version ?? doc.etag);
    if (parse?.values) entries.push({ doc, parse: { ...parse, values: parse.values } });
  }
  return entries.sort((a, b) => byKey(a.doc, b.doc));
}

/** One document as the object holds it: its values, and its verdict with each spec named by the index of its value. */
function compiledDocument({ doc, parse }: Compilable): CompiledDocument {
  const values = [...parse.values];
  // Each spec is its value as validated: the Restic schema neither transforms nor adds defaults (a test holds it to that).
  const specs = parse.result.specs.map((s) => ({ index: values.findIndex((v) => v.source === s.source), warnings: [...s.warnings] }));
  return {
    key: doc.key,
    etag: doc.etag,
    ...(doc.versionId ? { versionId: doc.versionId } : {}),
    ...(doc.modifiedAt ? { modifiedAt: doc.modifiedAt.toISOString() } : {}),
    values,
    verdict: { specs, problems: [...parse.result.problems], warnings: [...parse.result.warnings] },
  };
}

/** What a compiled specs object holds for these documents, sorted by key (see {@link compilable}). */
export function compiledDocuments(docs: readonly S3SpecDocument[], cache: SpecCache): CompiledDocument[] {
  return compilable(docs, cache).map(compiledDocument);
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The object's text for these documents, written by `release`. */
export const compiledSpecsText = (release: string, documents: readonly CompiledDocument[]): string =>
  JSON.stringify({ format: COMPILED_SPECS_FORMAT, release, documents: [...documents] } satisfies CompiledSpecs);

/** Which release judged which documents, at which ETag: equal fingerprints hold the same values and verdicts. */
const fingerprint = (release: string, docs: readonly Pick<CompiledDocument, 'key' | 'etag'>[]) => [release, ...docs.map((d) => `${d.key}\0${d.etag}`)].join('\n');
