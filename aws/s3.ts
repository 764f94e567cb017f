/**
 * Small S3 helpers the adapters share: telling "not there" and "someone else wrote first"
 * apart from real failures, and `s3://bucket/prefix` locations.
 */
import { ConfigError } from '../core/errors';

interface AwsErrorLike {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const status = (err: unknown) => (err as AwsErrorLike | undefined)?.$metadata?.httpStatusCode;
const named = (err: unknown, ...names: string[]) => {
  const e = err as AwsErrorLike | undefined;
  return names.includes(e?.name ?? '') || names.includes(e?.Code ?? '');
};

/** The object (or secret, or task definition) does not exist. */
export function isNotFound(err: unknown): boolean {
  return named(err, 'NoSuchKey', 'NotFound', 'NoSuchVersion') || status(err) === 404;
}

/**
 * A conditional write lost: `If-Match` no longer matches (412 PreconditionFailed), the
 * object exists for `If-None-Match: *` (412), or another conditional write to the same key
 * was in flight (409 ConditionalRequestConflict).
 */
export function isConditionLost(err: unknown): boolean {
  return named(err, 'PreconditionFailed', 'ConditionalRequestConflict') || status(err) === 412 || status(err) === 409;
}

/** An `s3://bucket/prefix` location. */
export interface S3Location {
  readonly bucket: string;
  /** Empty, or ending in "/". */
  readonly prefix: string;
}

/**
 * Parses `s3://bucket/prefix`; the prefix gets a trailing "/" (a folder).
 *
 * @example parseS3Uri('s3://stash-config/specs') // { bucket: 'stash-config', prefix: 'specs/' }
 */
export function parseS3Uri(uri: string, what = 'location'): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match || !match[1]) throw new ConfigError(`${what} "${uri}" must look like s3://bucket/prefix`);
  return { bucket: match[1], prefix: normalisePrefix(match[2]) };
}

/** "" stays "", anything else ends in exactly one "/" and has no leading "/". */
export function normalisePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return p ? `${p}/` : '';
}

/** `s3://bucket/key`, the `source` of a stored document. */
export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/**
 * The bucket and key of a document's `source` (`s3://bucket/key`, with `#n` for the n-th
 * YAML document of a multi-document file dropped).
 */
export function objectOfSource(source: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+?)(#\d+)?$/.exec(source);
  if (!match) throw new ConfigError(`"${source}" is not an S3 object (s3://bucket/key)`);
  return { bucket: match[1], key: match[2] };
}

/**
 * A document version as the S3 stores give it: the VersionId in a versioned bucket, else the
 * ETag (quoted, as S3 returns it). This tells which one it is.
 */
export function versionIdOf(version: string | undefined): string | undefined {
  return version && !version.startsWith('"') && version !== 'null' ? version : undefined;
}
