/**
 * One restic for the image, CI and the tests: container/Dockerfile pins the package to a minor
 * version (`restic=0.18.*`), .ci/install.sh installs that package from the same Debian release,
 * and the integration tier checks that the restic it runs has that minor version.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResticVersion } from '../../runner/version';

const DOCKERFILE = join(__dirname, '../../container/Dockerfile');

/** The restic minor version the image installs (`0.18`), from the Dockerfile's `restic=0.18.*`. */
export function imageResticMinor(dockerfile = readFileSync(DOCKERFILE, 'utf8')): string {
  const instructions = dockerfile
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const pins = [...instructions.matchAll(/\brestic=(\d+\.\d+)\.\*/g)].map((m) => m[1]);
  if (pins.length !== 1) throw new Error(`container/Dockerfile must pin restic once as restic=MAJOR.MINOR.*, found ${pins.length}`);
  return pins[0];
}

/** The version of the restic on PATH (`0.18.0`), which the integration tier runs. */
export function pathResticVersion(): string {
  const text = execFileSync('restic', ['version'], { encoding: 'utf8' });
  const version = parseResticVersion(text);
  if (!version) throw new Error(`cannot read the version in \`restic version\`: ${text.trim()}`);
  return version.join('.');
}
