/**
 * s3rver over TLS on 127.0.0.1, for restic's `s3:` backend and the AWS SDK.
 *
 * Only TLS: over plain HTTP restic (minio-go) uploads aws-chunked bodies that s3rver stores
 * with the framing in them, and the repository is silently corrupt.
 *
 * From Node, either pass {@link s3ClientConfig} to `new S3Client(...)` or start the process
 * with `NODE_EXTRA_CA_CERTS=<caCertFile>`. Stream bodies need
 * `requestChecksumCalculation: 'WHEN_REQUIRED'` (set by {@link s3ClientConfig}), or s3rver
 * stores them aws-chunked too.
 *
 * @example
 * const s3 = await startS3({ buckets: ['config'] });
 * try {
 *   const client = new S3Client(s3ClientConfig(s3));
 *   // restic: RESTIC_REPOSITORY=s3:${s3.endpoint}/bucket/prefix, --cacert ${s3.caCertFile}
 * } finally {
 *   await s3.stop();
 * }
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { httpStatus, makeTempDir, removeDir, startOrClean, startProcess, waitFor, type ServerProcess } from './process';
import { selfSignedCert } from './tls';

/** A running s3rver. */
export interface S3Server {
  /** `https://127.0.0.1:PORT`, no trailing slash. */
  endpoint: string;
  port: number;
  /** The server's self-signed certificate (its own CA), PEM. */
  caCertPem: string;
  /** The same certificate on disk, for restic's `--cacert` or `NODE_EXTRA_CA_CERTS`. */
  caCertFile: string;
  /** s3rver's fixed credentials (it also accepts anonymous requests). */
  accessKeyId: string;
  secretAccessKey: string;
  region: 'us-east-1';
  /** The server's temp folder (data, key, certificate); removed by stop(). */
  dir: string;
  /** Stops the server, waits for it to exit and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

function s3rverBin(): string {
  return join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
}

/**
 * s3rver over TLS with a fresh self-signed cert (openssl, SAN IP:127.0.0.1 + DNS:localhost),
 * random free port, temp dir. `buckets` are created before it starts listening; restic
 * creates a missing bucket itself.
 */
export async function startS3(options: { buckets?: string[] } = {}): Promise<S3Server> {
  const dir = await makeTempDir('s3rver');
  let server: ServerProcess | undefined;
  const stop = async () => {
    await server?.stop();
    await removeDir(dir);
  };
  return startOrClean(async () => {
    const cert = await selfSignedCert(dir);
    const data = join(dir, 'data');
    await mkdir(data);
    const buckets = (options.buckets ?? []).flatMap((b) => ['--configure-bucket', b]);
    const proc = startProcess(
      's3rver',
      process.execPath,
      // s3rver 3.7.1 makes ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3
      // offers only with the legacy provider; without it every second page of a listing is a 500.
      ['--openssl-legacy-provider', s3rverBin(), '-d', data, '-a', '127.0.0.1', '-p', '0', '--key', cert.keyFile, '--cert', cert.certFile, ...buckets],
      { cwd: dir },
    );
    server = proc;
    // Port 0: the kernel picks a free port and s3rver prints it.
    const port = await waitFor(
      's3rver to print its port',
      () => {
        const match = /S3rver listening on [^\s:]+:(\d+)/.exec(proc.output());
        return match ? Number(match[1]) : undefined;
      },
      { processes: [proc], timeoutMs: 20_000 },
    );
    const endpoint = `https://127.0.0.1:${port}`;
    await waitFor(`s3rver at ${endpoint}`, () => httpStatus(`${endpoint}/`, { ca: cert.certPem }), { processes: [proc], timeoutMs: 20_000 });
    return {
      endpoint,
      port,
      caCertPem: cert.certPem,
      caCertFile: cert.certFile,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      region: 'us-east-1' as const,
      dir,
      stop,
    };
  }, stop);
}

/**
 * Client configuration for `new S3Client(...)` against `server`: path-style addressing, its
 * credentials, an HTTPS agent that trusts its certificate, and checksums only when required
 * (so stream bodies are not stored aws-chunked).
 */
export function s3ClientConfig(server: S3Server): S3ClientConfig {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpsAgent: { ca: server.caCertPem } },
  };
}
