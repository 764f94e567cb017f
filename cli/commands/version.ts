/** `stash --version` (`-V`): stash's own version and the restic that runs would use. */
import { execFile } from 'node:child_process';
import { version } from '../../package.json';
import type { Output } from '../output';

/** The restic binary's `restic version` line, or why there is none. */
export function resticVersion(binary = process.env.STASH_RESTIC_BINARY ?? 'restic'): Promise<{ line: string; found: boolean }> {
  return new Promise((resolve) => {
    execFile(binary, ['version'], { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout) => {
      const line = String(stdout).split('\n')[0].trim();
      if (!err && line) resolve({ line, found: true });
      else if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve({ line: `restic: ${binary} not found: install restic (apt-get install restic) or put it on PATH`, found: false });
      else resolve({ line: `restic: \`${binary} version\` failed: ${err ? err.message.split('\n')[0] : 'no output'}`, found: false });
    });
  });
}

/** Prints `stash VERSION (Node.js vX)` and restic's version line; exit 0 even without restic (the line says so). */
export async function printVersion(out: Output): Promise<number> {
  out.line(`stash ${version} (Node.js ${process.version})`);
  const restic = await resticVersion();
  if (restic.found) out.line(restic.line);
  else out.warn(restic.line);
  return 0;
}
