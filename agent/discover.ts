import { readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NameFilter } from '../shared/config/types.js';
import { passesFilter } from '../shared/filter.js';
import { parseNamespaceMounts } from '../shared/parse/mountinfo.js';
import type { DiscoveryProblem, Namespace } from '../shared/types.js';

export interface DiscoveryOptions {
  netnsDirs: readonly string[];
  filter: NameFilter;
  /** Root of procfs (injectable for tests); `<procRoot>/self/ns/net` tells which device is nsfs. */
  procRoot: string;
  /** Namespace types learnt in earlier cycles; without it each call learns them afresh. */
  types?: NamespaceTypes;
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
 * Lists namespace files in each folder, keeps those that are network namespaces (on nsfs, and of
 * type net: a file left behind by a failed `ip netns add`, or a pid namespace bound into the folder,
 * is not), de-duplicates by inode (one namespace may be bound under several names or folders) and
 * applies the name filter.
 */
export async function discoverNamespaces(options: DiscoveryOptions): Promise<Discovery> {
  const nsfsDevice = await nsfsDeviceOf(options.procRoot);
  const types = options.types ?? new NamespaceTypes(options.procRoot);
  types.beginCycle();
  const problems: DiscoveryProblem[] = [];
  const unlisted: Discovery['unlisted'] = [];
  const byInode = new Map<string, Namespace>();
  const names = new Set<string>();
  let listedCount = 0;
  for (const dir of options.netnsDirs) {
    const listed = await listFolder(dir);
    if (!Array.isArray(listed)) {
      unlisted.push({ dir, code: listed.code });
      continue;
    }
    listedCount += listed.length;
    const notOnNsfs: string[] = [];
    // The name filter first: a stat per file is the costly part on a node with thousands.
    for (const name of listed.filter((entry) => passesFilter(entry, options.filter))) {
      const file = path.join(dir, name);
      // Synchronous on purpose: a namespace file is an nsfs bind mount on tmpfs, answered from memory in
      // a few µs, where an await per file costs a thread-pool round trip (75 ms at 1,000 namespaces).
      const info = statOrNull(file);
      if (info === null) continue; // removed between listing and stat: simply gone
      if (nsfsDevice !== null && info.dev !== nsfsDevice) {
        notOnNsfs.push(name);
        continue;
      }
      const type = types.typeOf(file, info.ino);
      if (type !== null && type !== 'net') {
        problems.push({ key: `not-net:${file}:${info.ino}`, message: `${file} is a ${type} namespace, not a network namespace; skipped` });
        continue;
      }
      const key = `${info.dev}:${info.ino}`;
      if (byInode.has(key)) continue;
      if (names.has(name)) {
        problems.push({ key: `duplicate:${file}`, message: `${file}: a namespace named ${JSON.stringify(name)} was already found in another folder; skipped` });
        continue;
      }
      names.add(name);
      byInode.set(key, { name, path: file, inode: info.ino });
    }
    // One problem per folder: `netns_dirs: [/proc]` would otherwise be one line per process.
    if (notOnNsfs.length > 0) {
      const examples = notOnNsfs.slice(0, 3).map((name) => path.join(dir, name)).join(', ');
      problems.push({ key: `not-nsfs:${dir}`, message: `${dir}: ${notOnNsfs.length} ${notOnNsfs.length === 1 ? 'entry is' : 'entries are'} not network namespaces (not on nsfs), e.g. ${examples}; skipped` });
    }
  }
  const namespaces = [...byInode.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { namespaces, listedCount, problems, unlisted };
}

/**
 * The type (net, pid, mnt, ...) of namespace files by inode. stat() cannot tell (every type is on
 * nsfs with the same mode) and NS_GET_NSTYPE needs an ioctl; the mount table can: a bound namespace
 * file is an nsfs mount whose root names it, `pid:[4026531836]`. It is read again only when a file
 * shows an inode it does not hold, at most once a cycle; a /proc/<pid>/ns link says it itself.
 */
export class NamespaceTypes {
  readonly #procRoot: string;
  #byInode = new Map<number, string>();
  #readThisCycle = false;

  constructor(procRoot: string) {
    this.#procRoot = procRoot;
  }

  beginCycle(): void {
    this.#readThisCycle = false;
  }

  /** The type, or null when neither the mount table nor the file says (the read will tell). */
  typeOf(file: string, inode: number): string | null {
    if (!this.#byInode.has(inode) && !this.#readThisCycle) {
      this.#readThisCycle = true;
      try {
        this.#byInode = parseNamespaceMounts(readFileSync(path.join(this.#procRoot, 'self/mountinfo'), 'utf8'));
      } catch {
        // no mount table (an unusual procfs): types stay unknown, as before this check existed
      }
    }
    return this.#byInode.get(inode) ?? linkType(file);
  }
}

/** `/proc/<pid>/ns/net` is a link to "net:[4026531840]"; a bound file is no link and says nothing. */
function linkType(file: string): string | null {
  try {
    return /^([a-z_]+):\[\d+\]$/.exec(readlinkSync(file))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function listFolder(dir: string): Promise<string[] | { code: string }> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    return { code: code ?? (error as Error).message };
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
