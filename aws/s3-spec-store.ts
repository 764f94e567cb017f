/**
 * Spec documents in the S3 config bucket. A warm dispatcher lists the prefix every minute
 * (one LIST per 1,000 keys) and fetches only objects whose ETag changed since it last saw
 * them; each document carries the VersionId it was read at, so the task later reads exactly
 * the version that was validated and planned.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { errorMessage, StashError } from '../core/errors';
import type { SpecDocument, SpecStore } from '../core/ports';
import { MAX_DOCUMENT_BYTES } from '../core/spec';
import { isNotFound, s3Uri } from './s3';
import { mapLimit } from '../core/concurrency';

/** A spec document read from S3. */
export interface S3SpecDocument extends SpecDocument {
  readonly key: string;
  readonly etag: string;
  /** Absent in a bucket without versioning. */
  readonly versionId?: string;
}

/** Raised when the spec prefix cannot be listed or an object cannot be read. */
export class SpecStoreError extends StashError {}

/** Where and how the store reads. */
export interface S3SpecStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** The spec folder, e.g. `specs/`. */
  readonly prefix: string;
  /** Objects fetched at once. @default 16 */
  readonly concurrency?: number;
  /** Keys per LIST request; S3 gives at most 1,000. @default 1000 */
  readonly pageSize?: number;
}

const SPEC_FILE = /\.(ya?ml|json)$/i;

/** Whether a key is a spec document (`.yaml`, `.yml` or `.json`); anything else under the prefix is ignored. */
export const isSpecKey = (key: string) => SPEC_FILE.test(key) && !key.endsWith('/');

/**
 * {@link SpecStore} on an S3 prefix, with an ETag cache that lives as long as the instance
 * (a Lambda's warm container). Keys not ending in `.yaml`, `.yml` or `.json` are ignored.
 */
export class S3SpecStore implements SpecStore {
  private readonly cache = new Map<string, S3SpecDocument>();
  /** Requests made, for tests and log lines. */
  readonly requests = { list: 0, get: 0 };

  constructor(private readonly options: S3SpecStoreOptions) {}

  /** Every spec document under the prefix, by key; unchanged ones come from the cache. */
  async documents(): Promise<S3SpecDocument[]> {
    const { client, bucket, prefix } = this.options;
    const listed: { key: string; etag: string; modifiedAt?: Date }[] = [];
    let token: string | undefined;
    do {
      this.requests.list++;
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: this.options.pageSize ?? 1000, ContinuationToken: token }));
      } catch (err) {
        throw new SpecStoreError(`failed to list ${s3Uri(bucket, prefix)}: ${errorMessage(err)}`, { cause: err });
      }
      for (const o of page.Contents ?? []) {
        if (o.Key && o.ETag && isSpecKey(o.Key)) listed.push({ key: o.Key, etag: o.ETag, modifiedAt: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    const stale = listed.filter((o) => this.cache.get(o.key)?.etag !== o.etag);
    const fetched = await mapLimit(stale, this.options.concurrency ?? 16, (o) => this.read(o.key));
    const keys = new Set(listed.map((o) => o.key));
    for (const key of this.cache.keys()) if (!keys.has(key)) this.cache.delete(key);
    fetched.forEach((doc, i) => {
      if (doc) this.cache.set(doc.key, doc);
      else this.cache.delete(stale[i].key); // deleted between LIST and GET
    });
    return listed
      .map((o) => this.cache.get(o.key))
      .filter((d): d is S3SpecDocument => d !== undefined)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * One object as it is now (or at `versionId`), undefined when it does not exist. Reads at
   * most {@link MAX_DOCUMENT_BYTES} + 1 bytes, enough for validation to refuse a huge file.
   */
  async read(key: string, versionId?: string): Promise<S3SpecDocument | undefined> {
    const { client, bucket } = this.options;
    this.requests.get++;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, Range: `bytes=0-${MAX_DOCUMENT_BYTES}` }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      const version = res.VersionId && res.VersionId !== 'null' ? res.VersionId : undefined;
      const etag = res.ETag ?? '';
      return { source: s3Uri(bucket, key), key, etag, versionId: version, version: version ?? etag, text, modifiedAt: res.LastModified };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new SpecStoreError(`failed to read ${s3Uri(bucket, key)}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The documents the ETag cache holds: what was read (or seeded) at the last listing. */
  known(): S3SpecDocument[] {
    return [...this.cache.values()];
  }

  /**
   * Fills the ETag cache with documents known from elsewhere (the compiled specs), so the
   * next listing fetches only objects whose ETag differs. Keys already cached are left alone.
   */
  seed(docs: readonly S3SpecDocument[]): number {
    let added = 0;
    for (const doc of docs) {
      if (this.cache.has(doc.key)) continue;
      this.cache.set(doc.key, doc);
      added++;
    }
    return added;
  }

  /** Documents cached, for tests. */
  get cached(): number {
    return this.cache.size;
  }
}

