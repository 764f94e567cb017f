/**
 * Failures stay in their lane, in local mode: hostile spec folders. Each bad file is reported
 * with its path and touches only its own spec; the other specs run.
 *
 * Each case was seen failing first: a symbolic link loop or one huge file in `specs/` failed
 * every spec.
 */
import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localSpec, workspace, type Workspace } from './helpers';

const PASSWORD = 'lanes-password-5e1f07c2a9';

/** A workspace with specs `t` (the one a fault hits) and `u` (the bystander), both due every minute. */
async function twoSpecs(prefix: string): Promise<Workspace> {
  const ws = await workspace(prefix);
  await writeFile(join(ws.data, 'file.txt'), 'backed up\n');
  for (const name of ['t', 'u']) {
    await ws.writeSpec(`${name}.yaml`, localSpec(ws, name));
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
  }
  return ws;
}

/** The next scheduled run: without the watermark each `@every 1m` spec is due once. */
async function nextTick(ws: Workspace) {
  await rm(join(ws.state, 'scheduler.json'), { force: true });
  return ws.stash(['run', '--once']);
}

describe('hostile spec folders', () => {
  it('a symbolic link loop, a 600 MB file and links that lead nowhere: each bad file named once, t and u load and run', async () => {
    const ws = await twoSpecs('stash-lanes-specs-');
    try {
      const at = (f: string) => join(ws.specs, f);
      await symlink('.', at('again'));
      await mkdir(at('team'));
      await symlink('..', at('team/up'));
      // Sparse: 600 MB long, hardly any disk.
      await writeFile(at('huge.yaml'), '');
      await truncate(at('huge.yaml'), 600 * 1024 * 1024);
      await symlink('missing.yaml', at('gone.yaml'));
      await symlink('self.yaml', at('self.yaml'));
      const problems = [
        `${at('gone.yaml')}: cannot read: ENOENT: no such file or directory, stat '${at('gone.yaml')}'`,
        `${at('huge.yaml')}: file is larger than 1048576 bytes; a spec is a few hundred`,
        `${at('self.yaml')}: cannot read: ELOOP: too many symbolic links encountered, stat '${at('self.yaml')}'`,
      ];

      const validate = await ws.stash(['validate', ws.specs]);
      expect(validate.io.err).toEqual(problems);
      expect(validate.io.out).toEqual([`ok ${at('t.yaml')}: t`, `ok ${at('u.yaml')}: u`, '2 valid, 3 invalid, 0 warning(s)']);
      expect(validate.code).toBe(1);

      const tick = await nextTick(ws);
      expect(tick.io.err).toEqual(problems.map((p) => `skipped: ${p}`));
      expect(tick.io.text()).toContain('t: run finished (kind=backup outcome=succeeded');
      expect(tick.io.text()).toContain('u: run finished (kind=backup outcome=succeeded');
      expect(tick.code).toBe(0);
    } finally {
      await ws.cleanup();
    }
  });
});
