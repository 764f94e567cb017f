/**
 * Orders spec names. Names are DNS-1123 labels (a-z, 0-9, "-"), whose code-unit order is the
 * order `localeCompare` gives them, without its first call loading ICU's collation, which a
 * short `stash backup` would otherwise pay for.
 */
export const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The edit distance between two strings: insertions, deletions, substitutions and swaps of
 * two neighbours (`bd` for `db`), each one edit (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates close enough to `name` to be what was meant (a typo, another case, a suffix
 * such as `.txt`), closest first: one edit apart for names of up to 4 characters, else at most
 * a third of the name's length (and at least 2).
 *
 * @example similarNames('hom', ['home', 'db', 'homes']) // ['home', 'homes']
 */
export function similarNames(name: string, candidates: Iterable<string>): string[] {
  const limit = name.length <= 4 ? 1 : Math.max(2, Math.floor(name.length / 3));
  const scored: [string, number][] = [];
  for (const c of new Set(candidates)) {
    if (c === name) continue;
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= limit) scored.push([c, d]);
  }
  return scored.sort((x, y) => x[1] - y[1] || compareNames(x[0], y[0])).map(([c]) => c);
}
