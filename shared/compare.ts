/**
 * Strings in code-unit order, as Prometheus orders label names and as a `sort()` without a
 * comparator would: the same on every host, whatever its locale (localeCompare is not).
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Two lists of the same items (===) in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}
