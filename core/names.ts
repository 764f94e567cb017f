/**
 * Orders spec names. Names are DNS-1123 labels (a-z, 0-9, "-"), whose code-unit order is the
 * order `localeCompare` gives them, without its first call loading ICU's collation, which a
 * short `stash backup` would otherwise pay for.
 */
export const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
