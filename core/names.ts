/**
 * Orders spec names. Names are DNS-1123 labels (a-z, 0-9, "-"), whose code-unit order is the
 * order `localeCompare` gives them, without its first call loading ICU's collation, which a
 * short `stash backup` would otherwise pay for.
 */
export const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The edit distance between two strings (insertions, deletions, substitutions: Levenshtein). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidates close enough to `name` to be what was meant (a typo, another case, a suffix
 * such as `.txt`), closest first: at most a third of the name's length apart, and at least 2.
 *
 * @example similarNames('hom', ['home', 'db', 'homes']) // ['home', 'homes']
 */
export function similarNames(name: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const scored: [string, number][] = [];
  for (const c of new Set(candidates)) {
    if (c === name) continue;
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= limit) scored.push([c, d]);
  }
  return scored.sort((x, y) => x[1] - y[1] || compareNames(x[0], y[0])).map(([c]) => c);
}
