/**
 * `@cloud-copilot/iam-simulate` is AGPL-3.0: the tests may load it, nothing we ship may. It is
 * a devDependency (never in `dependencies`, so never installed with the package), no source
 * outside test/ imports it, and neither the runner bundle (all the image gets) nor the CLI
 * bundle holds any of it. The Lambda bundles are checked where they are built (test/infra/stack.test.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const AGPL = '@cloud-copilot/iam-simulate';
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every .ts file under `dir`, relative to the root. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe(`${AGPL} (AGPL-3.0)`, () => {
  it('is a devDependency only, and the lock file installs it for development only', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.devDependencies[AGPL]).toBeDefined();
    expect(pkg.dependencies[AGPL]).toBeUndefined();
    const lock = JSON.parse(read('package-lock.json'));
    expect(lock.packages[`node_modules/${AGPL}`]).toMatchObject({ dev: true, license: 'AGPL-3.0-or-later' });
  });

  it('is imported by tests only', () => {
    const shipped = ['aws', 'bin', 'cli', 'container', 'core', 'infra', 'lambda', 'runner', 'schemas', 'scripts'].flatMap((dir) => sources(dir));
    expect(shipped.length).toBeGreaterThan(50);
    expect(shipped.filter((file) => read(file).includes('@cloud-copilot/')).map((f) => relative(ROOT, join(ROOT, f)))).toEqual([]);
  });

  it('is in none of the bundles: the runner and every file of the stash command', () => {
    const bundles = ['container/dist/runner.mjs', ...readdirSync(join(ROOT, 'dist')).map((f) => `dist/${f}`)];
    expect(bundles).toContain('dist/cli.mjs');
    for (const bundle of bundles) {
      const code = read(bundle);
      expect(code.length, bundle).toBeGreaterThan(1_000);
      expect(code, bundle).not.toContain('cloud-copilot');
      expect(code, bundle).not.toContain('iam-simulate');
    }
  });

  it('cannot reach the image: the Dockerfile copies the runner bundle alone', () => {
    const copies = read('container/Dockerfile').split('\n').filter((line) => /^\s*(COPY|ADD)\b/i.test(line));
    expect(copies).toEqual(['COPY dist/runner.mjs /app/runner.mjs']);
  });
});
