/**
 * OpenStack Swift (Debian's swift 2.x) on 127.0.0.1 for restic's `swift:` backend: a proxy
 * with tempauth, one account, container and object server each (`workers = 0`, one process
 * per service) and the memcached tempauth needs. Every config, ring and device lives in a
 * temp folder; only the hash settings come from `/etc/swift/swift.conf`, which the servers
 * always read (the `swift` package ships it; `.ci/install.sh` installs it).
 *
 * @example
 * const swift = await startSwift();
 * try {
 *   // restic: RESTIC_REPOSITORY=swift:restic:/prefix with swift.env in the environment
 * } finally {
 *   await swift.stop();
 * }
 */
import { execFile } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpStatus, makeTempDir, removeDir, ServerError, startOrClean, startProcess, waitFor, type ServerProcess } from './process';

const run = promisify(execFile);

/** Debian's interpreter, which has the `swift` module (a python3 earlier on PATH may not). */
const PYTHON = '/usr/bin/python3';
const SWIFT_CONF = '/etc/swift/swift.conf';

/** A running Swift cluster of one node. */
export interface SwiftServer {
  /** tempauth's v1 auth URL, `http://127.0.0.1:PORT/auth/v1.0`. */
  authUrl: string;
  /** The proxy's port. */
  port: number;
  /** Every port the cluster listens on (proxy, account, container, object, memcached). */
  ports: readonly number[];
  /** `test:tester`. */
  user: string;
  /** `testing`. */
  key: string;
  /** The secret keys restic needs: `ST_AUTH`, `ST_USER`, `ST_KEY`. */
  env: { ST_AUTH: string; ST_USER: string; ST_KEY: string };
  /** The temp folder (configs, rings, the device); removed by stop(). */
  dir: string;
  /** Stops every process, waits for them to exit and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const USER = 'test:tester';
/** tempauth's key for the user, unless the caller gives one. */
const DEFAULT_KEY = 'testing';

const STORAGE_SERVICES = ['account', 'container', 'object'] as const;
type StorageService = (typeof STORAGE_SERVICES)[number];

function proxyConf(dir: string, port: number, memcachedPort: number, key: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}/etc

[pipeline:main]
pipeline = catch_errors proxy-logging cache tempauth proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${key} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:proxy-logging]
use = egg:swift#proxy_logging
`;
}

function storageConf(dir: string, service: StorageService, port: number): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
devices = ${dir}/node
mount_check = false
swift_dir = ${dir}/etc

[pipeline:main]
pipeline = ${service}-server

[app:${service}-server]
use = egg:swift#${service}
`;
}

// One interpreter for all three rings: swift-ring-builder takes seconds per call.
// Part power 4 (16 partitions) is plenty for one device.
const BUILD_RINGS = `
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(sys.argv[2::2], sys.argv[3::2]):
    builder = RingBuilder(4, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save("%s/%s.ring.gz" % (etc, name))
`;

async function buildRings(etc: string, ports: Record<StorageService, number>): Promise<void> {
  try {
    await run(PYTHON, ['-E', '-c', BUILD_RINGS, etc, ...STORAGE_SERVICES.flatMap((s) => [s, String(ports[s])])]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new ServerError(`failed to build the Swift rings (is the swift package installed?): ${stderr.trim() || (err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * A one-node Swift with tempauth (`test:tester`, key `testing` or `options.key`) and
 * memcached, on free ports of 127.0.0.1. Resolves once tempauth hands out a token, which needs
 * memcached, the proxy and the rings; the storage servers are polled too.
 */
export async function startSwift(options: { key?: string } = {}): Promise<SwiftServer> {
  const key = options.key ?? DEFAULT_KEY;
  try {
    await access(SWIFT_CONF);
  } catch (err) {
    throw new ServerError(`cannot start Swift: ${SWIFT_CONF} is missing (install the Debian swift packages: bash .ci/install.sh)`, { cause: err });
  }
  const dir = await makeTempDir('swift');
  const processes: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await removeDir(dir);
  };
  return startOrClean(async () => {
    const etc = join(dir, 'etc');
    await mkdir(etc);
    await mkdir(join(dir, 'node', 'd1'), { recursive: true });
    const ports = { proxy: 0, memcached: 0, account: 0, container: 0, object: 0 };
    const taken = new Set<number>();
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      ports[name] = port;
    }
    await Promise.all([
      writeFile(join(etc, 'proxy-server.conf'), proxyConf(dir, ports.proxy, ports.memcached, key)),
      ...STORAGE_SERVICES.map((s) => writeFile(join(etc, `${s}-server.conf`), storageConf(dir, s, ports[s]))),
      buildRings(etc, ports),
    ]);

    // A clean environment: a Python on PATH or PYTHONPATH from elsewhere must not leak in.
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, LANG: 'C.UTF-8' };
    // memcached refuses to run as root unless told which user to be.
    const asRoot = process.getuid?.() === 0 ? ['-u', userInfo().username] : [];
    processes.push(startProcess('memcached', 'memcached', ['-l', '127.0.0.1', '-p', String(ports.memcached), '-U', '0', ...asRoot], { cwd: dir, env }));
    for (const s of STORAGE_SERVICES) {
      processes.push(startProcess(`swift-${s}-server`, `/usr/bin/swift-${s}-server`, [join(etc, `${s}-server.conf`), '-v'], { cwd: dir, env }));
    }
    processes.push(startProcess('swift-proxy-server', '/usr/bin/swift-proxy-server', [join(etc, 'proxy-server.conf'), '-v'], { cwd: dir, env }));

    const authUrl = `http://127.0.0.1:${ports.proxy}/auth/v1.0`;
    await Promise.all(
      STORAGE_SERVICES.map((s) =>
        waitFor(`swift-${s}-server on 127.0.0.1:${ports[s]}`, () => httpStatus(`http://127.0.0.1:${ports[s]}/`), { processes, timeoutMs: 60_000 }),
      ),
    );
    await waitFor(
      `a token from ${authUrl}`,
      async () => ((await httpStatus(authUrl, { headers: { 'X-Auth-User': USER, 'X-Auth-Key': key } })) === 200 ? true : undefined),
      { processes, timeoutMs: 60_000 },
    );
    return {
      authUrl,
      port: ports.proxy,
      ports: Object.values(ports),
      user: USER,
      key,
      env: { ST_AUTH: authUrl, ST_USER: USER, ST_KEY: key },
      dir,
      stop,
    };
  }, stop);
}
