/**
 * AWS's own S3 host names, answered on this machine by moto_server, for restic alone: a spec
 * names `http://s3.amazonaws.com` (an AWS endpoint, so its secret may hold no keys), and
 * restic, started through {@link AwsS3Names.resticBinary}, runs in a mount namespace of its
 * own (`unshare --mount`, as root) whose /etc/hosts sends those names to a recording proxy on
 * a loopback address of its own, port 80 (minio-go drops any other port from an AWS host),
 * in front of moto. Nothing else on the machine sees the names.
 *
 * ```
 * restic ──▶ stash-keyless.s3.amazonaws.com:80 ══(its /etc/hosts)══▶ 127.a.b.c:80 proxy ──▶ moto_server
 * ```
 */
import { chmod, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { RecordingProxy, type CallRecorder, type Component } from '../support/aws-calls';

/** AWS's S3 names answered here. */
export interface AwsS3Names {
  /** The spec's endpoint. */
  readonly endpoint: 'http://s3.amazonaws.com';
  /** The loopback address the names stand for. */
  readonly address: string;
  /** The proxy in front of moto: every request restic made, with its headers. */
  readonly proxy: RecordingProxy;
  /** A restic that sees the names: give it as STASH_RESTIC_BINARY. */
  readonly resticBinary: string;
  stop(): Promise<void>;
}

/** Answers the S3 names of `buckets` in `region` with moto (at `upstream`); files go into `dir`. */
export async function startAwsS3Names(options: {
  readonly upstream: string;
  readonly dir: string;
  readonly buckets: readonly string[];
  readonly region: string;
  readonly recorded?: { component: Component; recorder: CallRecorder };
}): Promise<AwsS3Names> {
  let proxy: RecordingProxy | undefined;
  let address = '';
  for (let attempt = 0; !proxy; attempt++) {
    address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    try {
      proxy = await RecordingProxy.start(options.upstream, options.recorded, { host: address, port: 80 });
    } catch (err) {
      if (attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`cannot listen on ${address}:80 (root is needed): ${(err as Error).message}`);
    }
  }
  const hosts = ['s3.amazonaws.com', `s3.${options.region}.amazonaws.com`, `s3.dualstack.${options.region}.amazonaws.com`];
  const names = [...hosts, ...options.buckets.flatMap((b) => hosts.map((h) => `${b}.${h}`))];
  const hostsFile = join(options.dir, 'hosts');
  await writeFile(hostsFile, `127.0.0.1 localhost\n${address} ${names.join(' ')}\n`);
  const resticBinary = join(options.dir, 'restic-aws-names.sh');
  await writeFile(resticBinary, `#!/bin/sh\nexec unshare --mount sh -c 'mount --bind "$0" /etc/hosts && exec restic "$@"' '${hostsFile}' "$@"\n`);
  await chmod(resticBinary, 0o755);
  return { endpoint: 'http://s3.amazonaws.com', address, proxy, resticBinary, stop: () => proxy!.stop() };
}
