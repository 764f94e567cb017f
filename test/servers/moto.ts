/**
 * moto_server: AWS's S3, Secrets Manager and more as a local server, for the AWS adapters and
 * the Lambda handlers. S3 answers conditional writes (`If-Match`, `If-None-Match: *`) with
 * 412 as AWS does. Not for ECS: RunTask with FARGATE fails inside moto 5.2.1.
 *
 * @example
 * const moto = await startMoto();
 * const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
 */
import { freePort, httpStatus, startOrClean, startProcess, waitFor, type ServerProcess } from './process';

/** A running moto_server. */
export interface MotoServer {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  /** What an SDK v3 client needs to talk to it (any key is accepted). */
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Stops the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** moto_server on a free port of 127.0.0.1, with an empty state. */
export async function startMoto(): Promise<MotoServer> {
  let server: ServerProcess | undefined;
  const stop = async () => {
    await server?.stop();
  };
  return startOrClean(async () => {
    const port = await freePort();
    const proc = startProcess('moto_server', 'moto_server', ['-H', '127.0.0.1', '-p', String(port)]);
    server = proc;
    const endpoint = `http://127.0.0.1:${port}`;
    await waitFor(`moto_server at ${endpoint}`, () => httpStatus(`${endpoint}/moto-api/`), { processes: [proc], timeoutMs: 30_000 });
    return {
      endpoint,
      port,
      clientConfig: { endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
      stop,
    };
  }, stop);
}
