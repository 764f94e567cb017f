/**
 * azurite's blob service on 127.0.0.1:10000, for restic's `azure:` backend.
 *
 * The address is fixed: restic 0.14 reaches the emulator only for the account
 * `devstoreaccount1`, which its SDK sends to `http://127.0.0.1:10000/devstoreaccount1`
 * (any other account name goes to `*.blob.core.windows.net`). So only one azurite runs at a
 * time on a machine; give each test its own container instead.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { httpStatus, isPortOpen, makeTempDir, removeDir, ServerError, startOrClean, startProcess, waitFor, type ServerProcess } from './process';

/** A running azurite blob service. */
export interface AzuriteServer {
  /** `http://127.0.0.1:10000/devstoreaccount1`: the blob endpoint of the emulator account. */
  endpoint: string;
  port: 10000;
  /** `devstoreaccount1`, the only account restic can use with the emulator. */
  accountName: 'devstoreaccount1';
  /** The emulator's well-known key (restic's SDK does not check it, but it must be non-empty). */
  accountKey: string;
  /** The server's temp folder (its database and blobs); removed by stop(). */
  dir: string;
  /** Stops the server, waits for it to exit and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** azurite's fixed blob port. */
export const AZURITE_PORT = 10000 as const;

/** The published development key of `devstoreaccount1`. */
const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const require = createRequire(import.meta.url);

function azuriteBlobBin(): string {
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
}

/**
 * azurite-blob on 127.0.0.1:10000 with a fresh temp workspace. Fails at once, naming the
 * port, when something already listens there (another azurite, or a test that did not stop
 * its server).
 */
export async function startAzurite(): Promise<AzuriteServer> {
  if (await isPortOpen(AZURITE_PORT)) {
    throw new ServerError(`cannot start azurite: 127.0.0.1:${AZURITE_PORT} is already in use (only one azurite can run at a time)`);
  }
  const dir = await makeTempDir('azurite');
  let server: ServerProcess | undefined;
  const stop = async () => {
    await server?.stop();
    await removeDir(dir);
  };
  return startOrClean(async () => {
    const proc = startProcess(
      'azurite-blob',
      process.execPath,
      [azuriteBlobBin(), '--blobHost', '127.0.0.1', '--blobPort', String(AZURITE_PORT), '--location', dir, '--disableTelemetry'],
      { cwd: dir },
    );
    server = proc;
    const endpoint = `http://127.0.0.1:${AZURITE_PORT}/devstoreaccount1`;
    // An unauthenticated "list containers" gets 403 once the service is up.
    await waitFor(`azurite at ${endpoint}`, () => httpStatus(`${endpoint}?comp=list`), { processes: [proc], timeoutMs: 30_000 });
    return { endpoint, port: AZURITE_PORT, accountName: 'devstoreaccount1' as const, accountKey: DEV_ACCOUNT_KEY, dir, stop };
  }, stop);
}
