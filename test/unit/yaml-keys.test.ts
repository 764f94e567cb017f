/**
 * Duplicate keys in a spec file: refused with the parser's own words and position, found in
 * one pass per mapping. The parser's `uniqueKeys: true` compared every key with every earlier
 * one (a 752 KB spec of 80,000 labels took 21 s to load); the figure is in BENCHMARKS.md
 * (`npm run bench -- yaml`), and here the proof is structural: the parser is asked not to
 * compare, and our check refuses exactly what the parser's did.
 */
import { describe, expect, it, vi } from 'vitest';
import * as yaml from 'yaml';
import { firstDuplicateKey, parseSpecDocument, YAML_OPTIONS } from '../../core/spec';
import { formatProblem } from '../../core/errors';

vi.mock('yaml', async (importOriginal) => {
  const original = await importOriginal<typeof import('yaml')>();
  return { ...original, parseAllDocuments: vi.fn(original.parseAllDocuments) };
});

/** What the parser's own check said about a text: each document's first error, its first line. */
function parserVerdict(text: string): (string | undefined)[] {
  return yaml.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, strict: true }).map((d) => d.errors[0]?.message.split('\n')[0].replace(/:$/, ''));
}

/** What the spec loader says: each document's YAML problem, if it has one. */
function loaderVerdict(text: string): (string | undefined)[] {
  const parsed = yaml.parseAllDocuments(text, YAML_OPTIONS);
  const { problems } = parseSpecDocument({ source: 'f.yaml', text });
  return parsed.map((_d, i) => {
    const mine = problems.find((p) => p.source === (parsed.length > 1 ? `f.yaml#${i}` : 'f.yaml') && p.message.startsWith('not YAML: '));
    return mine?.message.slice('not YAML: '.length);
  });
}

describe('duplicate keys', () => {
  it.each([
    ['a block mapping', 'a: 1\nb: 2\na: 3\n'],
    ['a nested block mapping', 'a:\n  x: 1\n  y: 2\n  x: 3\nb: 1\n'],
    ['a flow mapping', 'a: {x: 1, y: 2, x: 3}\n'],
    ['a flow mapping whose repeated key holds a duplicate of its own', '{a: 1, a: {x: 1, x: 2}}\n'],
    ['a block mapping whose repeated key holds a duplicate of its own', 'a: 1\na:\n  x: 1\n  x: 2\n'],
    ['equal values written differently', 'a: 1\n1: x\n0x1: y\n'],
    ['null keys', '~: a\nnull: b\n'],
    ['quoted and plain', 'a: 1\n"a": 2\n'],
    ['a string and a number', '"1": a\n1: b\n'],
    ['an explicit key', '? a\n: 1\n? a\n: 2\n'],
    ['a key with an anchor', 'a: 1\n&k a: 2\n'],
    ['a key with a tag', 'a: 1\n!!str a: 2\n'],
    ['mappings in a sequence', '- a: 1\n  a: 2\n- b: 1\n  b: 2\n'],
    ['a flow sequence of pairs', '[a: 1, a: 2]\n'],
    ['NaN keys, never equal', '.nan: 1\n.NaN: 2\n'],
    ['no duplicate at all', 'a: 1\nb: {c: 1, d: [e, {f: 1}]}\n'],
    ['a duplicate after a syntax error', 'a: [1\nb: 1\nb: 2\n'],
    ['a duplicate before a syntax error', 'b: 1\nb: 2\nc: "x\n'],
    ['several documents', 'a: 1\n---\na: 1\na: 2\n---\nb: 1\n'],
  ])('refuses %s as the parser did, at the same line and column', (_what, text) => {
    expect(loaderVerdict(text)).toEqual(parserVerdict(text));
  });

  it('names the file, the line and the column', () => {
    const text = 'apiVersion: x\nkind: Restic\nmetadata:\n  name: a\n  labels:\n    x: "1"\n    x: "2"\n';
    expect(parseSpecDocument({ source: 'specs/a.yaml', text }).problems.map(formatProblem)).toEqual([
      'specs/a.yaml: not YAML: Map keys must be unique at line 7, column 5',
    ]);
  });

  it('does not ask the parser to compare keys, and checks each key once', () => {
    const parse = vi.mocked(yaml.parseAllDocuments);
    parse.mockClear();
    const labels = Array.from({ length: 2000 }, (_, i) => `    l${i}: v`).join('\n');
    const text = `metadata:\n  labels:\n${labels}\n    l7: again\n`;
    const [doc] = yaml.parseAllDocuments(text, YAML_OPTIONS);
    // The first duplicate: the last line's key, found in a pass that looked each key up once.
    const has = vi.spyOn(Set.prototype, 'has');
    expect(firstDuplicateKey(doc)).toBe(text.lastIndexOf('l7: again'));
    expect(has.mock.calls.length).toBe(2 + 2001);
    has.mockRestore();
    parse.mockClear();
    parseSpecDocument({ source: 'f.yaml', text });
    expect(parse).toHaveBeenCalledTimes(1);
    expect(parse.mock.calls[0][1]).toMatchObject({ uniqueKeys: false });
  });
});
