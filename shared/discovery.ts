import path from 'node:path';
import { byCodeUnits } from './compare.js';
import type { NameFilter } from './config/configTypes.js';
import { passesFilter } from './filter.js';
import type { DiscoveryProblem, Namespace } from './snapshot.js';

/** A netns_dirs folder as listed and stat()ed (agent/discover.ts does the I/O). */
export type ListedFolder =
  | {
      dir: string;
      /** How many entries the folder held, before any filter. */
      listedCount: number;
      /** The entries that passed the name filter and could be stat()ed, in listing order. */
      files: ListedFile[];
    }
  /** The folder exists but could not be listed (ELOOP, EACCES, EMFILE, EIO). */
  | { dir: string; code: string };

export interface ListedFile {
  name: string;
  dev: number;
  ino: number;
  /** The namespace type (net, pid, mnt…) when the mount table or the file says; null when unknown. */
  type: string | null;
}

export interface Discovery {
  namespaces: Namespace[];
  /** Every file listed in the folders, before filters and de-duplication. */
  listedCount: number;
  /** Files skipped: not namespaces, namespaces of another type, a name already taken. */
  problems: DiscoveryProblem[];
  /**
   * Folders that exist but could not be listed (ELOOP, EACCES, EMFILE, EIO): not "no namespaces",
   * "unknown". A missing folder (ENOENT) is simply empty and is not listed here.
   */
  unlisted: { dir: string; code: string }[];
}

/**
 * The listed names to stat: those the name filter lets through. Applied before the stat, which is
 * the costly part on a node with thousands of names, and nowhere else.
 */
export function namesToStat(names: readonly string[], filter: NameFilter): string[] {
  return names.filter((name) => passesFilter(name, filter));
}

/**
 * Which listed files are network namespaces to read: on nsfs (`nsfsDevice`, null when unknown),
 * of type net (a pid namespace bound into the folder is not), each namespace once however many
 * names or folders it is bound under, each name once (the first folder wins). Sorted by name. The
 * files passed the name filter when listed (namesToStat).
 */
export function selectNamespaces(folders: readonly ListedFolder[], nsfsDevice: number | null): Discovery {
  const problems: DiscoveryProblem[] = [];
  const unlisted: Discovery['unlisted'] = [];
  const byInode = new Map<string, Namespace>();
  const names = new Set<string>();
  let listedCount = 0;
  for (const folder of folders) {
    if ('code' in folder) {
      unlisted.push({ dir: folder.dir, code: folder.code });
      continue;
    }
    listedCount += folder.listedCount;
    const notOnNsfs: string[] = [];
    for (const { name, dev, ino, type } of folder.files) {
      const file = path.join(folder.dir, name);
      if (nsfsDevice !== null && dev !== nsfsDevice) {
        notOnNsfs.push(name);
        continue;
      }
      if (type !== null && type !== 'net') {
        problems.push({ key: `not-net:${file}:${ino}`, message: `${file} is a ${type} namespace, not a network namespace; skipped` });
        continue;
      }
      const key = `${dev}:${ino}`;
      if (byInode.has(key)) continue;
      if (names.has(name)) {
        problems.push({ key: `duplicate:${file}`, message: `${file}: a namespace named ${JSON.stringify(name)} was already found in another folder; skipped` });
        continue;
      }
      names.add(name);
      byInode.set(key, { name, path: file, inode: ino });
    }
    // One problem per folder: `netns_dirs: [/proc]` would otherwise be one line per process.
    if (notOnNsfs.length > 0) {
      const examples = notOnNsfs.slice(0, 3).map((name) => path.join(folder.dir, name)).join(', ');
      problems.push({ key: `not-nsfs:${folder.dir}`, message: `${folder.dir}: ${notOnNsfs.length} ${notOnNsfs.length === 1 ? 'entry is' : 'entries are'} not network namespaces (not on nsfs), e.g. ${examples}; skipped` });
    }
  }
  const namespaces = [...byInode.values()].sort((a, b) => byCodeUnits(a.name, b.name));
  return { namespaces, listedCount, problems, unlisted };
}
