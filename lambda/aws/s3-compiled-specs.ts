/**
 * The compiled specs: every spec document's YAML already read into plain values, in one
 * object beside the watermark (`state/compiled-specs.json`), each under its key and ETag.
 *
 * A warm dispatcher re-reads only documents whose ETag changed (`S3SpecStore`) and re-parses
 * only those (`SpecCache`). A cold one (a new Lambda container, every hour or so) would GET
 * and parse every document again: for 10,000 specs, 10,000 requests and ~4 s in the YAML
 * parser, most of a tick. Instead it reads this one object and seeds both caches with it;
 * only documents whose ETag differs are fetched and parsed. What is cached is the parser's
 * output only, never a verdict: every value is validated again (schema, schedules, volumes)
 * by the code that is running, so a new release judges old specs by its own rules.
 *
 * Left out: documents whose YAML had problems (parsed again each cold start, which reports
 * them again) and Recovery documents (read whole every tick). Any writer's object is correct
 * for the keys and ETags it names, so two ticks writing at once need no condition: the last
 * one wins, and a document it lacks is parsed once more.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from '../../schemas/zod';
import { errorMessage, StashError } from '../core/errors';
import { isRecoveryText } from '../core/recovery';
import type { SpecCache } from '../core/spec';
import { isNotFound, s3Uri } from './s3';
import type { S3SpecDocument, S3SpecStore } from './s3-spec-store';

/** Raised when the compiled specs cannot be read or written; a tick goes on without them. */
export class CompiledSpecsError extends StashError {}

/** The object's name under the state prefix. */
export const COMPILED_SPECS_NAME = 'compiled-specs.json';

/** Changes when the layout of the object changes; an object of another format is ignored. */
export const COMPILED_SPECS_FORMAT = 1;

const CompiledSpecsSchema = z.object({
  format: z.literal(COMPILED_SPECS_FORMAT),
  documents: z.array(
    z.object({
      key: z.string(),
      etag: z.string(),
      versionId: z.optional(z.string()),
      modifiedAt: z.optional(z.string()),
      values: z.array(z.object({ source: z.string(), value: z.unknown() })),
    }),
  ),
});
type CompiledSpecs = z.infer<typeof CompiledSpecsSchema>;
type CompiledDocument = CompiledSpecs['documents'][number];

/** Where the object lives and the caches it fills. */
export interface S3CompiledSpecsOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** The object key, e.g. `state/compiled-specs.json`. */
  readonly key: string;
  readonly store: S3SpecStore;
  readonly cache: SpecCache;
}

/** Reads the compiled specs into a spec store's ETag cache, and writes them back when documents changed. */
export class S3CompiledSpecs {
  /** The documents (key and ETag) the object held when last read or written. */
  private written?: string;

  constructor(private readonly options: S3CompiledSpecsOptions) {}

  /**
   * Seeds the spec store with the stored documents; returns how many. None when there is no
   * object yet or it is of another format. Throws {@link CompiledSpecsError} when it cannot
   * be read or is not what this code writes.
   */
  async restore(): Promise<number> {
    const { client, bucket, key, store } = this.options;
    let text: string;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      text = (await res.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw new CompiledSpecsError(`failed to read ${s3Uri(bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
    let parsed: CompiledSpecs;
    try {
      const json: unknown = JSON.parse(text);
      // Another release's layout: ignored, and replaced at the next write.
      if ((json as { format?: unknown } | null)?.format !== COMPILED_SPECS_FORMAT) return 0;
      parsed = CompiledSpecsSchema.parse(json);
    } catch (err) {
      throw new CompiledSpecsError(`${s3Uri(bucket, key)} is not compiled specs: ${errorMessage(err)}`, { cause: err });
    }
    const docs = parsed.documents.map((d): S3SpecDocument => ({
      source: s3Uri(bucket, d.key),
      key: d.key,
      etag: d.etag,
      ...(d.versionId ? { versionId: d.versionId } : {}),
      version: d.versionId ?? d.etag,
      text: '',
      values: d.values,
      ...(d.modifiedAt ? { modifiedAt: new Date(d.modifiedAt) } : {}),
    }));
    this.written = fingerprint(parsed.documents);
    return store.seed(docs);
  }

  /**
   * Writes the documents the store and cache hold now, unless they are the ones last read or
   * written; returns whether it wrote.
   */
  async save(): Promise<boolean> {
    const { client, bucket, key, store, cache } = this.options;
    const documents: CompiledDocument[] = [];
    for (const doc of store.known()) {
      const values = doc.values ?? (isRecoveryText(doc.text) ? undefined : cache.values(doc.source, doc.version ?? doc.etag));
      if (!values) continue;
      documents.push({
        key: doc.key,
        etag: doc.etag,
        ...(doc.versionId ? { versionId: doc.versionId } : {}),
        ...(doc.modifiedAt ? { modifiedAt: doc.modifiedAt.toISOString() } : {}),
        values: [...values],
      });
    }
    documents.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const print = fingerprint(documents);
    if (print === this.written) return false;
    const body: CompiledSpecs = { format: COMPILED_SPECS_FORMAT, documents };
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }));
    } catch (err) {
      throw new CompiledSpecsError(`failed to write ${s3Uri(bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
    this.written = print;
    return true;
  }
}

/** Which documents, at which ETag: equal fingerprints hold the same values. */
const fingerprint = (docs: readonly Pick<CompiledDocument, 'key' | 'etag'>[]) => docs.map((d) => `${d.key}\0${d.etag}`).join('\n');
