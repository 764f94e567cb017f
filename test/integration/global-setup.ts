import { execFileSync } from 'node:child_process';

/** The integration tier needs the real restic binary; say so plainly when it is missing. */
export default function setup(): void {
  try {
    execFileSync('restic', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('restic is not installed: run `apt-get install -y restic` (bash .ci/run does)');
  }
}
