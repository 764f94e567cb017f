/** Self-signed certificates for test servers on 127.0.0.1. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServerError } from './process';

const run = promisify(execFile);

/** A key pair written to disk; the certificate is its own CA. */
export interface SelfSignedCert {
  readonly keyFile: string;
  readonly certFile: string;
  readonly certPem: string;
}

/**
 * Writes `key.pem` and `cert.pem` into `dir`: a fresh P-256 key and a self-signed
 * certificate for `IP:127.0.0.1` and `DNS:localhost`, valid for two days. Trust it with
 * restic's `--cacert cert.pem`, or with `ca: certPem` in Node.
 */
export async function selfSignedCert(dir: string): Promise<SelfSignedCert> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    await run('openssl', [
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyFile, '-out', certFile, '-days', '2',
      '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new ServerError(`failed to create a self-signed certificate with openssl: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }
  return { keyFile, certFile, certPem: await readFile(certFile, 'utf8') };
}
