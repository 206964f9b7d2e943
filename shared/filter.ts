import type { NameFilter } from './config/configTypes.js';

/** The original's rule: a name must match the whitelist (when set) and not the blacklist, which wins. */
export function passesFilter(name: string, filter: NameFilter): boolean {
  if (filter.blacklist !== null && filter.blacklist.test(name)) return false;
  if (filter.whitelist !== null && !filter.whitelist.test(name)) return false;
  return true;
}
