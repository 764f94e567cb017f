import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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

  it('starts from a pinned base image', () => {
    const from = instructions.find((l) => /^FROM\s/i.test(l)) ?? '';
    expect(from).toMatch(/^FROM \S+:\d+\.\d+\.\d+-\S+$/);
    expect(from).not.toMatch(/:latest\b/);
  });

  it('installs restic from a package and runs as a non-root user', () => {
    expect(instructions.some((l) => /apt-get install .*\brestic\b/.test(l))).toBe(true);
    const user = instructions.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
  });

  it('lets the build context contain only the runner bundle', () => {
    expect(readFileSync(join(root, 'container/.dockerignore'), 'utf8').split('\n')).toEqual(['*', '!dist/runner.mjs', '']);
  });
});
