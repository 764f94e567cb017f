import { imageResticMinor, pathResticVersion } from '../support/restic-version';

/**
 * The integration tier needs the real restic binary, and the one the image ships: say so
 * plainly when it is missing or another version.
 */
export default function setup(): void {
  let version: string;
  try {
    version = pathResticVersion();
  } catch (err) {
    throw new Error(`restic is not installed or does not answer \`restic version\`: run \`bash .ci/install.sh\` (${(err as Error).message})`);
  }
  const image = imageResticMinor();
  if (!version.startsWith(`${image}.`)) {
    throw new Error(`the tests would run restic ${version}, the image ships restic ${image} (container/Dockerfile): run \`bash .ci/install.sh\`, or put that restic first on PATH`);
  }
}
