/**
 * rclone's restic REST server (`rclone serve restic`) on 127.0.0.1, for restic's `rest:`
 * backend. Each sub-path of the URL is a repository of its own.
 *
 * @example
 * const rest = await startRest({ user: 'backup', pass: 'p@ss:w/rd' });
 * try {
 *   // restic: RESTIC_REPOSITORY=rest:http://backup:p%40ss%3Aw%2Frd@127.0.0.1:PORT/repo/
 * } finally {
 *   await rest.stop();
 * }
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { httpStatus, makeTempDir, removeDir, startOrClean, startProcess, waitFor, type ServerProcess } from './process';

/** A running REST server. */
export interface RestServer {
  /** `http://127.0.0.1:PORT/`, without credentials. */
  url: string;
  port: number;
  /** Basic auth user and password; undefined when the server has no auth. */
  user?: string;
  pass?: string;
  /** The temp folder; the repositories are under `dir/data`. Removed by stop(). */
  dir: string;
  /** Stops the server, waits for it to exit and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `rclone serve restic` on a free port of 127.0.0.1 (rclone binds port 0 and prints the
 * port), serving a fresh temp folder, with HTTP basic auth when `user` and `pass` are given.
 * rclone runs with `--config /dev/null` and a private HOME, so it reads and writes nothing of
 * the user's.
 */
export async function startRest(options: { user?: string; pass?: string } = {}): Promise<RestServer> {
  const dir = await makeTempDir('rest');
  let server: ServerProcess | undefined;
  const stop = async () => {
    await server?.stop();
    await removeDir(dir);
  };
  return startOrClean(async () => {
    const data = join(dir, 'data');
    const home = join(dir, 'home');
    await Promise.all([mkdir(data), mkdir(home)]);
    const auth = options.user !== undefined && options.pass !== undefined ? ['--user', options.user, '--pass', options.pass] : [];
    const proc = startProcess('rclone serve restic', 'rclone', ['serve', 'restic', '--config', '/dev/null', '--addr', '127.0.0.1:0', ...auth, data], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: home },
    });
    server = proc;
    const port = await waitFor(
      'rclone to print its address',
      () => {
        const match = /Serving restic REST API on http:\/\/127\.0\.0\.1:(\d+)\//.exec(proc.output());
        return match ? Number(match[1]) : undefined;
      },
      { processes: [proc], timeoutMs: 20_000 },
    );
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(`rclone at ${url}`, () => httpStatus(url), { processes: [proc], timeoutMs: 20_000 });
    return { url, port, user: options.user, pass: options.pass, dir, stop };
  }, stop);
}
