/**
 * The restic the runner supports. restic 0.17 is the first to give each way a command can end
 * its own exit code (10 no repository, 11 locked, 12 wrong password, 3 some files unreadable),
 * and the runner decides on those codes; an older restic exits 1 for all of them. The image
 * and the test suite run Debian's restic 0.18.
 */
import { execFile } from 'node:child_process';
import { ConfigError, ResticError } from '../core/errors';

/** The oldest restic the runner accepts, as `[major, minor, patch]`. */
export const MIN_RESTIC_VERSION = [0, 17, 0] as const;

/** How long `restic version` may take before the check gives up. */
const VERSION_TIMEOUT_MS = 30_000;

/**
 * The version in `restic version`'s output (`restic 0.18.0 compiled with go1.24.4 on linux/amd64`),
 * or undefined when the text holds none.
 */
export function parseResticVersion(text: string): [number, number, number] | undefined {
  const match = /\brestic (\d+)\.(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** `a` is older than `b`. */
function older(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

const checked = new Map<string, Promise<string>>();

/**
 * Runs `<binary> version` once per process and binary, and refuses a restic older than
 * {@link MIN_RESTIC_VERSION} with a {@link ConfigError} that says which version it found and
 * which it needs. Resolves to the version found (`0.18.0`). A failed check is not kept: the
 * next call runs it again (restic may have been installed meanwhile).
 */
export function requireResticVersion(binary: string): Promise<string> {
  let check = checked.get(binary);
  if (!check) {
    check = readVersion(binary);
    checked.set(binary, check);
    check.catch(() => checked.delete(binary));
  }
  return check;
}

function readVersion(binary: string): Promise<string> {
  const needed = MIN_RESTIC_VERSION.join('.');
  return new Promise((resolve, reject) => {
    execFile(binary, ['version'], { timeout: VERSION_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new ResticError(`failed to start ${binary}: ${err.message}; restic ${needed} or newer is needed`, null, '', { cause: err }));
        return;
      }
      const found = parseResticVersion(String(stdout));
      if (!found) {
        const why = err ? err.message.split('\n')[0] : `it printed ${JSON.stringify(String(stdout).trim().slice(0, 80))}`;
        reject(new ConfigError(`cannot tell which restic ${binary} is (\`${binary} version\`: ${why}); restic ${needed} or newer is needed`, { cause: err }));
        return;
      }
      const version = found.join('.');
      if (older(found, MIN_RESTIC_VERSION)) {
        const which = binary === 'restic' ? 'the restic on PATH' : binary;
        reject(new ConfigError(`${which} is restic ${version}; restic ${needed} or newer is needed`));
        return;
      }
      resolve(version);
    });
  });
}
