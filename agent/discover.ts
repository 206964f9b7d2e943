import { statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NameFilter } from '../shared/config/types.js';
import { passesFilter } from '../shared/filter.js';
import type { Namespace } from '../shared/types.js';

export interface DiscoveryOptions {
  netnsDirs: readonly string[];
  filter: NameFilter;
  /** Root of procfs (injectable for tests); `<procRoot>/self/ns/net` tells which device is nsfs. */
  procRoot: string;
}

export interface Discovery {
  namespaces: Namespace[];
  /** Every file listed in the folders, before filters and de-duplication. */
  listedCount: number;
  /** Problems worth a warning: an unreadable folder, a stale file that is no namespace. */
  problems: string[];
}

/**
 * Lists namespace files in each folder, keeps those that are real namespaces (on nsfs: a file left
 * behind by a failed `ip netns add` is not), de-duplicates by inode (one namespace may be bound under
 * several names or folders) and applies the name filter. A missing folder is simply empty.
 */
export async function discoverNamespaces(options: DiscoveryOptions): Promise<Discovery> {
  const nsfsDevice = await nsfsDeviceOf(options.procRoot);
  const problems: string[] = [];
  const byInode = new Map<string, Namespace>();
  const names = new Set<string>();
  let listedCount = 0;
  for (const dir of options.netnsDirs) {
    const listed = await listFolder(dir, problems);
    listedCount += listed.length;
    // The name filter first: a stat per file is the costly part on a node with thousands.
    for (const name of listed.filter((entry) => passesFilter(entry, options.filter))) {
      const file = path.join(dir, name);
      // Synchronous on purpose: a namespace file is an nsfs bind mount on tmpfs, answered from memory in
      // a few µs, where an await per file costs a thread-pool round trip (75 ms at 1,000 namespaces).
      const info = statOrNull(file);
      if (info === null) continue; // removed between listing and stat: simply gone
      if (nsfsDevice !== null && info.dev !== nsfsDevice) {
        problems.push(`${file} is not a network namespace (not on nsfs); skipped`);
        continue;
      }
      const key = `${info.dev}:${info.ino}`;
      if (byInode.has(key)) continue;
      if (names.has(name)) {
        problems.push(`${file}: a namespace named ${JSON.stringify(name)} was already found in another folder; skipped`);
        continue;
      }
      names.add(name);
      byInode.set(key, { name, path: file, inode: info.ino });
    }
  }
  const namespaces = [...byInode.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { namespaces, listedCount, problems };
}

async function listFolder(dir: string, problems: string[]): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`cannot list ${dir}: ${code ?? (error as Error).message}`);
    return [];
  }
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

async function nsfsDeviceOf(procRoot: string): Promise<number | null> {
  const info = await stat(path.join(procRoot, 'self/ns/net')).catch(() => null);
  return info?.dev ?? null;
}
