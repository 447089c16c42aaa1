/**
 * Newest-first lists read a page at a time ("Show more"). Entries are only ever added at the top
 * (events, audit entries, transitions), so the loaded entries stay a contiguous newest prefix.
 */

/** Older entries appended after the loaded ones; duplicates (shifted by new entries at the top) dropped. */
export function appendOlder<T>(loaded: readonly T[], older: readonly T[], keyOf: (item: T) => string): T[] {
  const seen = new Set(loaded.map(keyOf));
  return [...loaded, ...older.filter((item) => !seen.has(keyOf(item)))];
}

/**
 * The freshly read first page merged with what was loaded before: when the fresh page reaches
 * into the loaded entries, the older loaded ones stay (the operator keeps what they expanded);
 * when it does not (more new entries than a page, or nothing loaded), only the fresh page is kept
 * so that no gap is ever shown.
 */
export function mergeNewest<T>(loaded: readonly T[], fresh: readonly T[], keyOf: (item: T) => string): T[] {
  const freshKeys = new Set(fresh.map(keyOf));
  if (!loaded.some((item) => freshKeys.has(keyOf(item)))) return [...fresh];
  return [...fresh, ...loaded.filter((item) => !freshKeys.has(keyOf(item)))];
}
