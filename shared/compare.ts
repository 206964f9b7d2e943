/**
 * Strings in code-unit order, as Prometheus orders label names and as a `sort()` without a
 * comparator would: the same on every host, whatever its locale (localeCompare is not).
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
