import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_YAML_NESTING, nestingDepth, parseSpecDocument } from '../../core/spec';
import { formatProblem } from '../../core/errors';

const fixtures = join(__dirname, '../fixtures/specs');

describe('nestingDepth', () => {
  it.each([
    ['a scalar', 'x\n', 1],
    ['a mapping in a mapping', 'a:\n  b: 1\n', 2],
    ['three compact sequences and their scalar', '- - - x\n', 4],
    ['flow in block', 'a:\n  b: [1, {c: 2}]\n', 4],
    ['brackets inside quotes do not count', 'a: "[[[[["\nb: \'{{{{\'\n', 1],
    ['brackets inside comments do not count', 'a: 1 # [[[[[[\n', 1],
    ['an escaped quote inside double quotes', 'a: "say \\"[\\""\n', 1],
  ])('measures %s', (_what, text, depth) => {
    expect(nestingDepth(text)).toBe(depth);
  });

  it('keeps every example spec far below the limit', () => {
    for (const f of readdirSync(fixtures)) expect(nestingDepth(readFileSync(join(fixtures, f), 'utf8'))).toBeLessThan(12);
  });

  it.each([
    ['flow', `${'['.repeat(2000)}${']'.repeat(2000)}\n`],
    ['block', `${'- '.repeat(2000)}x\n`],
    ['indentation', Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
  ])('refuses %s nesting beyond the limit before parsing', (_what, text) => {
    const result = parseSpecDocument({ source: 'specs/deep.yaml', text });
    expect(result.problems.map(formatProblem)).toEqual([`specs/deep.yaml: not YAML: nested deeper than ${MAX_YAML_NESTING} levels`]);
  });
});
