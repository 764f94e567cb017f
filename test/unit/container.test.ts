import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUNNER_USER, SCRATCH } from '../../infra/runner-task-definition';
import { MIN_RESTIC_VERSION } from '../../runner/version';
import { imageResticMinor } from '../support/restic-version';

const root = join(__dirname, '../..');
const dockerfile = readFileSync(join(root, 'container/Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('container/Dockerfile', () => {
  it('copies only files that exist after npm run build', () => {
    const copies = instructions.filter((l) => /^COPY\s/i.test(l)).map((l) => l.split(/\s+/).slice(1, -1));
    expect(copies.length).toBeGreaterThan(0);
    for (const sources of copies) for (const src of sources) expect(existsSync(join(root, 'container', src)), `${src} exists`).toBe(true);
  });

  it('starts from a pinned Node.js 24 LTS image on Debian trixie', () => {
    const from = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(from).toHaveLength(1);
    expect(from[0]).toMatch(/^FROM public\.ecr\.aws\/docker\/library\/node:24\.\d+\.\d+-trixie-slim$/);
  });

  it("installs restic from trixie's package, pinned to a minor version the runner supports", () => {
    const install = instructions.find((l) => /apt-get install /.test(l)) ?? '';
    expect(install).toMatch(/apt-get install -y --no-install-recommends 'restic=0\.18\.\*' ca-certificates/);
    expect(imageResticMinor(dockerfile)).toBe('0.18');
    const [major, minor] = imageResticMinor(dockerfile).split('.').map(Number);
    expect(major > MIN_RESTIC_VERSION[0] || (major === MIN_RESTIC_VERSION[0] && minor >= MIN_RESTIC_VERSION[1])).toBe(true);
  });

  it('runs as the user the task definition names, with its one writable path the volume the task definition mounts', () => {
    const user = instructions.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toBe(`USER ${RUNNER_USER}`);
    expect(instructions.some((l) => l.includes(`useradd --system --uid ${RUNNER_USER.split(':')[0]} --gid stash`))).toBe(true);
    expect(instructions).toContain(`VOLUME ["${SCRATCH.path}"]`);
    expect(instructions).toContain(`ENV HOME=/home/stash NODE_ENV=production TMPDIR=${SCRATCH.path} RESTIC_CACHE_DIR=${SCRATCH.path}/restic-cache`);
  });

  it('lets the build context contain only the runner bundle', () => {
    expect(readFileSync(join(root, 'container/.dockerignore'), 'utf8').split('\n')).toEqual(['*', '!dist/runner.mjs', '']);
  });
});
