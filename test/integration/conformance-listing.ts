/**
 * What a backend's server holds under a repository prefix, read from the server itself (not
 * through restic): object names relative to the prefix, such as `config`, `keys/<id>` and
 * `snapshots/<id>`. The conformance suite uses them to prove that the repository landed
 * where the spec says and that `forget --prune` removed what it should on the server.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHmac } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { s3ClientConfig, type AzuriteServer, type S3Server, type SwiftServer } from '../servers';

/** Names relative to `prefix` of the keys that start with `prefix/`. */
function under(prefix: string, keys: readonly string[]): string[] {
  const start = `${prefix}/`;
  return keys
    .filter((k) => k.startsWith(start))
    .map((k) => k.slice(start.length))
    .sort();
}

/** Every file below `dir`, as paths relative to it. */
export async function listFolder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  }
  return out.sort();
}

/** The objects of `bucket` under `prefix`, listed with the AWS SDK over TLS. */
export async function listS3(server: S3Server, bucket: string, prefix: string): Promise<string[]> {
  const client = new S3Client(s3ClientConfig(server));
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return under(prefix, keys);
  } finally {
    client.destroy();
  }
}

/** The objects of `container` under `prefix`, listed through tempauth and the Swift API. */
export async function listSwift(server: SwiftServer, container: string, prefix: string): Promise<string[]> {
  const auth = await fetch(server.authUrl, { headers: { 'X-Auth-User': server.user, 'X-Auth-Key': server.key } });
  if (auth.status !== 200) throw new Error(`Swift auth at ${server.authUrl} answered ${auth.status}`);
  const storageUrl = auth.headers.get('x-storage-url');
  const token = auth.headers.get('x-auth-token') ?? '';
  const listing = await fetch(`${storageUrl}/${encodeURIComponent(container)}?prefix=${encodeURIComponent(`${prefix}/`)}`, {
    headers: { 'X-Auth-Token': token },
  });
  if (listing.status !== 200) throw new Error(`Swift listing of ${container} answered ${listing.status}`);
  return under(prefix, (await listing.text()).split('\n').filter(Boolean));
}

/**
 * The blobs of `container` under `prefix`, listed with a Shared Key request as the Blob
 * service defines it (azurite checks the signature, so a wrong key is refused).
 */
export async function listAzure(server: AzuriteServer, container: string, prefix: string): Promise<string[]> {
  const version = '2019-12-12';
  const date = new Date().toUTCString();
  const query: Record<string, string> = { comp: 'list', maxresults: '5000', prefix: `${prefix}/`, restype: 'container' };
  const path = `/${server.accountName}/${container}`;
  // VERB, eleven standard headers (all empty for a GET), the x-ms- headers, the resource.
  const stringToSign = [
    'GET',
    ...Array<string>(11).fill(''),
    `x-ms-date:${date}`,
    `x-ms-version:${version}`,
    `/${server.accountName}${path}`,
    ...Object.keys(query)
      .sort()
      .map((k) => `${k}:${query[k]}`),
  ].join('\n');
  const signature = createHmac('sha256', Buffer.from(server.accountKey, 'base64')).update(stringToSign, 'utf8').digest('base64');
  const url = `http://127.0.0.1:${server.port}${path}?${new URLSearchParams(query).toString()}`;
  const response = await fetch(url, {
    headers: { 'x-ms-date': date, 'x-ms-version': version, Authorization: `SharedKey ${server.accountName}:${signature}` },
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`azurite listing of ${container} answered ${response.status}: ${body.slice(0, 300)}`);
  if (/<NextMarker>[^<]+<\/NextMarker>/.test(body)) throw new Error(`azurite listing of ${container} has more than one page`);
  return under(
    prefix,
    [...body.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]),
  );
}
