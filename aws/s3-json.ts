/**
 * JSON objects under one S3 prefix, one per name, written with S3 conditional writes:
 * `If-Match: <etag>` replaces exactly the version that was read, `If-None-Match: *` creates
 * only what does not exist. Read-modify-write loops on a lost condition, so two writers
 * never silently overwrite each other.
 *
 * ```
 * writer A: GET (etag 1) ---- PUT If-Match 1 -> 200 (etag 2)
 * writer B: GET (etag 1) ------------------------- PUT If-Match 1 -> 412, GET (etag 2), PUT If-Match 2 -> 200
 * ```
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as z from '../schemas/zod';
import { errorMessage, StashError } from '../core/errors';
import { mapLimit } from '../core/concurrency';
import { isConditionLost, isNotFound, s3Uri } from './s3';

/** Raised when a JSON object cannot be read, parsed or written. */
export class JsonStoreError extends StashError {}

/** A value and the ETag it was read at. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

/** What a conditional put requires of the stored object. */
export type WriteCondition = { readonly ifMatch: string } | { readonly ifNoneMatch: '*' } | undefined;

/**
 * `<prefix><name>.json` objects validated by a zod schema. Listing is one LIST per 1,000
 * names with an ETag cache, so only objects that changed are fetched again.
 */
export class S3JsonObjects<S extends z.ZodType> {
  private readonly cache = new Map<string, Versioned<z.output<S>>>();

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    /** Ends in "/". */
    readonly prefix: string,
    private readonly schema: S,
  ) {}

  /** The object key of a name. */
  key(name: string): string {
    return `${this.prefix}${name}.json`;
  }

  /** The value and its ETag, or undefined when there is none. */
  async read(name: string): Promise<Versioned<z.output<S>> | undefined> {
    const key = this.key(name);
    let text: string;
    let etag: string;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await res.Body?.transformToString('utf8')) ?? '';
      etag = res.ETag ?? '';
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new JsonStoreError(`failed to read ${s3Uri(this.bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new JsonStoreError(`${s3Uri(this.bucket, key)} is not JSON: ${errorMessage(err)}`, { cause: err });
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      throw new JsonStoreError(`${s3Uri(this.bucket, key)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return { value: parsed.data, etag };
  }

  /** Writes the value if the condition holds; returns the new ETag, or undefined when it did not. */
  async write(name: string, value: z.output<S>, condition: WriteCondition): Promise<string | undefined> {
    const key = this.key(name);
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(value, null, 2)}\n`,
          ContentType: 'application/json',
          ...(condition && 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : {}),
          ...(condition && 'ifNoneMatch' in condition ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return res.ETag ?? '';
    } catch (err) {
      // If-Match on an object deleted since it was read answers 404: the condition is lost too.
      if (isConditionLost(err) || (condition && 'ifMatch' in condition && isNotFound(err))) return undefined;
      throw new JsonStoreError(`failed to write ${s3Uri(this.bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Read-modify-write: `change` gets the current value (undefined when none) and returns the
   * new one; a lost condition re-reads and applies `change` again.
   */
  async update(name: string, change: (current: z.output<S> | undefined) => z.output<S>, attempts = 10): Promise<z.output<S>> {
    for (let i = 0; i < attempts; i++) {
      const current = await this.read(name);
      const next = change(current?.value);
      if (current && JSON.stringify(next) === JSON.stringify(current.value)) return next;
      const written = await this.write(name, next, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      if (written !== undefined) return next;
    }
    throw new JsonStoreError(`failed to update ${s3Uri(this.bucket, this.key(name))}: ${attempts} conflicting writes in a row`);
  }

  /** Every name directly under the prefix (not in sub-folders). */
  async names(): Promise<{ name: string; etag: string; lastModified?: Date }[]> {
    const out: { name: string; etag: string; lastModified?: Date }[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, Delimiter: '/', MaxKeys: 1000, ContinuationToken: token }));
      } catch (err) {
        throw new JsonStoreError(`failed to list ${s3Uri(this.bucket, this.prefix)}: ${errorMessage(err)}`, { cause: err });
      }
      for (const o of page.Contents ?? []) {
        if (o.Key?.endsWith('.json')) out.push({ name: o.Key.slice(this.prefix.length, -'.json'.length), etag: o.ETag ?? '', lastModified: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Objects the last {@link list} skipped because they could not be read or parsed, with why. */
  unreadable: string[] = [];

  /**
   * Every value under the prefix; only objects whose ETag changed since the last call are
   * fetched. An object that cannot be read or parsed is skipped (see {@link unreadable}),
   * so one corrupt status never hides the others.
   */
  async list(): Promise<z.output<S>[]> {
    const names = await this.names();
    const stale = names.filter((n) => this.cache.get(n.name)?.etag !== n.etag);
    const unreadable: string[] = [];
    const fetched = await mapLimit(stale, 16, (n) =>
      this.read(n.name).catch((err: unknown) => {
        unreadable.push(errorMessage(err));
        return undefined;
      }),
    );
    this.unreadable = unreadable;
    const seen = new Set(names.map((n) => n.name));
    for (const name of this.cache.keys()) if (!seen.has(name)) this.cache.delete(name);
    stale.forEach((n, i) => {
      const got = fetched[i];
      if (got) this.cache.set(n.name, got);
      else this.cache.delete(n.name);
    });
    return names.map((n) => this.cache.get(n.name)?.value).filter((v): v is z.output<S> => v !== undefined);
  }
}
