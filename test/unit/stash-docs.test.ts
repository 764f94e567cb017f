/**
 * Real documents (test/fixtures/stash-docs): every Restic, Recovery and Repository that Stash's
 * documentation showed from 0.5.0 to 0.8.3 (and the master drafts between), the pre-0.5 and
 * 0.9-and-later ones a user might still hold, and specs from public repositories and issues.
 * `index.json` names where each came from (repository, tag or commit, path) and the verdict
 * `stash validate` must give it: the names it accepts, or the problems naming file and field,
 * and the warnings.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main, type Io } from '../../cli/main';
import { ResticSchema } from '../../schemas/restic';
import { RecoverySchema } from '../../schemas/recovery';

interface Entry {
  file: string;
  repo: string;
  tag_or_commit: string;
  path: string;
  kind: string;
  release_line: string;
  expected: { valid: string[]; problems: string[]; warnings: string[] };
}

const DIR = fileURLToPath(new URL('../fixtures/stash-docs', import.meta.url));
/** How index.json writes sources: as `stash validate` prints them when run from the repository root. */
const AS_WRITTEN = 'test/fixtures/stash-docs';
const index: Entry[] = JSON.parse(await readFile(join(DIR, 'index.json'), 'utf8'));

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, line: (t) => out.push(t), error: (t) => err.push(t), write: (t) => out.push(t) };
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.yaml')).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** The objects of a document that the schemas would take (a `kind: List` read as its items). */
async function objects(file: string): Promise<Record<string, unknown>[]> {
  const values = parseAllDocuments(await readFile(join(DIR, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  return values.flatMap((v) => (v?.kind === 'List' ? (v.items as Record<string, unknown>[]) : [v]));
}

describe("Stash's own documents", () => {
  it('name where each came from, and cover every file of the folder', async () => {
    expect(index.map((e) => e.file).sort()).toEqual((await files(DIR)).sort());
    for (const e of index) {
      expect(e.repo, e.file).toMatch(/\//);
      expect(e.tag_or_commit, e.file).not.toBe('');
      expect(e.path, e.file).not.toBe('');
    }
  });

  it('hold a document of every release line from 0.5 to 0.8, Restic and Recovery, and of the later API', () => {
    const lines = (kind: string) => new Set(index.filter((e) => e.kind === kind && e.expected.valid.length).map((e) => e.release_line));
    expect([...lines('Restic')]).toEqual(expect.arrayContaining(['0.5', '0.6', '0.7', '0.8']));
    expect([...lines('Recovery')]).toEqual(expect.arrayContaining(['0.6', '0.7', '0.8']));
    expect(index.filter((e) => e.release_line === '0.9').length).toBeGreaterThan(10);
  });

  it.each(index.map((e) => [e.file, e.expected.valid.length ? `accepted as ${e.expected.valid.join(', ')}` : 'refused', e] as const))(
    '%s: %s',
    async (_file, _verdict, { file, expected }) => {
      const source = join(relative(process.cwd(), DIR), file);
      const at = (line: string) => line.split(`${AS_WRITTEN}/`).join(`${relative(process.cwd(), DIR)}/`);
      const io = capture();
      const code = await main(['validate', source], io);
      const invalid = new Set(expected.problems.map((p) => p.slice(0, p.indexOf(': ')))).size;
      expect(io.err).toEqual([...expected.warnings.map((w) => `warning: ${at(w)}`), ...expected.problems.map(at)]);
      expect(io.out).toEqual([
        ...expected.valid.map((name) => `ok ${source}: ${name}`),
        `${expected.valid.length} valid, ${invalid} invalid, ${expected.warnings.length} warning(s)`,
      ]);
      expect(code).toBe(expected.problems.length ? 1 : 0);
      // A refusal names a field, unless the text is not YAML at all.
      for (const p of expected.problems) expect(p, p).toMatch(/^[^:]+\.yaml(#\d+)?: ([\w.[\]]+: |not YAML: )/);
    },
  );

  it.each(index.filter((e) => e.expected.valid.length).map((e) => [e.file, e] as const))(
    '%s is held as written: the schemas neither transform nor add defaults',
    async (_file, { file }) => {
      for (const value of await objects(file)) {
        const schema = value.kind === 'Recovery' ? RecoverySchema : ResticSchema;
        expect(schema.parse(structuredClone(value))).toStrictEqual(value);
      }
    },
  );
});
