import { describe, expect, it } from 'vitest';
import { compareNames } from '../../core/names';

describe('compareNames', () => {
  it('orders DNS-1123 names as localeCompare does', () => {
    const alphabet = 'abz019-';
    const names = new Set<string>(['a', 'a-b', 'a0', 'aa', 'a-', 'z', '0', '9-z', 'ab-c', 'ab0c', 'abc']);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    while (names.size < 400) {
      const length = 1 + Math.floor(next() * 6);
      let name = '';
      for (let i = 0; i < length; i++) name += alphabet[Math.floor(next() * alphabet.length)];
      names.add(name);
    }
    const list = [...names];
    expect([...list].sort(compareNames)).toEqual([...list].sort((a, b) => a.localeCompare(b)));
  });
});
