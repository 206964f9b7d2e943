import path from 'node:path';
import { byCodeUnits, sameItems } from './compare.js';
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
  /** As UTF-8, U+FFFD for bytes that are not. */
  name: string;
  /** The name's bytes, when they are not valid UTF-8. */
  bytes?: Buffer;
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
 * Which listed files are network namespaces to read: on nsfs (`nsfsDevice`, null when unknown),
 * of type net (a pid namespace bound into the folder is not), each namespace once however many
 * names or folders it is bound under, each name once (the first folder wins). Sorted by name. Two
 * names that read the same once their bytes that are not UTF-8 become U+FFFD get labels apart: the
 * later one (by bytes) takes `~2`, with a problem to warn about. The files passed the name filter
 * when they were listed (agent/discover.ts), before the stat.
 */
export function selectNamespaces(folders: readonly ListedFolder[], nsfsDevice: number | null): Discovery {
  const problems: DiscoveryProblem[] = [];
  const unlisted: Discovery['unlisted'] = [];
  // By inode alone where every file is on the one nsfs device; by device and inode where that is unknown.
  const byInode = new Map<number | string, Namespace>();
  const names = new Set<string>();
  /** Each label taken, with the file that took it (for the message when another file would). */
  const labels = new Map<string, Accepted>();
  let listedCount = 0;
  for (const folder of folders) {
    if ('code' in folder) {
      unlisted.push({ dir: folder.dir, code: folder.code });
      continue;
    }
    listedCount += folder.listedCount;
    // A listed name holds no slash and is never . or ..: joined by hand, no normalising per file.
    const folderPath = path.join(folder.dir, '/');
    const notOnNsfs: string[] = [];
    const accepted: Accepted[] = [];
    for (const listed of folder.files) {
      const { name, bytes, dev, ino, type } = listed;
      const file = folderPath + name;
      if (nsfsDevice !== null && dev !== nsfsDevice) {
        notOnNsfs.push(name);
        continue;
      }
      if (type !== null && type !== 'net') {
        problems.push({ key: `not-net:${file}:${ino}`, message: `${file} is a ${type} namespace, not a network namespace; skipped` });
        continue;
      }
      const key = nsfsDevice !== null ? ino : `${dev}:${ino}`;
      if (byInode.has(key)) continue;
      const shown = bytes === undefined ? name : escapeBytes(bytes);
      if (names.has(shown)) {
        problems.push({ key: `duplicate:${file}`, message: `${file}: a namespace named ${JSON.stringify(name)} was already found in another folder; skipped` });
        continue;
      }
      names.add(shown);
      const ns: Namespace = bytes === undefined ? { name, path: file, inode: ino } : { name, path: file, inode: ino, file: Buffer.concat([Buffer.from(folderPath), bytes]) };
      byInode.set(key, ns);
      accepted.push({ listed, dir: folder.dir, shown, ns });
    }
    // Labels by bytes, not by the file system's listing order: the same name keeps its label.
    for (const entry of accepted.sort((a, b) => byNameBytes(a.listed, b.listed))) {
      const { shown, ns } = entry;
      const label = freeLabel(ns.name, labels);
      if (label !== ns.name) {
        const holder = labels.get(ns.name)!;
        problems.push({
          key: `same-label:${folder.dir}/${shown}`,
          message: `${folder.dir}/${shown} gets the same label as ${holder.dir}/${holder.shown} (${JSON.stringify(ns.name)}: bytes that are not UTF-8 read as U+FFFD); labelled ${JSON.stringify(label)}`,
        });
        ns.name = label;
      }
      labels.set(label, entry);
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

/**
 * What discovery found the cycle before. The namespaces by inode: one found again as it was (same
 * inode, label and file) is the same object as before, not a fresh one. A cycle's namespaces live
 * from its discovery to the next one's, long enough to be promoted out of the young generation:
 * fresh objects each cycle were old-generation garbage (about 140 bytes a namespace a cycle,
 * strings included) that only a full collection frees. And the folders as listed with the
 * selection made from them: when every folder is listed as it was (agent/discover.ts gives its
 * earlier listing back), the selection is the one made then, not made again (a fifth of what a
 * steady cycle allocated on the main thread). Pure bookkeeping: objects are never changed once
 * returned.
 */
export class KnownNamespaces {
  #byInode = new Map<number, Namespace>();
  #last: { folders: readonly ListedFolder[]; nsfsDevice: number | null; discovery: Discovery } | null = null;

  /** The folder `dir` as listed the cycle before, if it was. */
  listedBefore(dir: string): ListedFolder | undefined {
    return this.#last?.folders.find((folder) => folder.dir === dir);
  }

  /**
   * selectNamespaces(folders, nsfsDevice) with the namespaces settled; the selection of the cycle
   * before (fresh arrays, the same objects) when the folders are the very objects it was made from.
   */
  select(folders: readonly ListedFolder[], nsfsDevice: number | null): Discovery {
    const last = this.#last;
    if (last !== null && last.nsfsDevice === nsfsDevice && sameItems(last.folders, folders)) {
      const { discovery } = last;
      return { namespaces: [...discovery.namespaces], listedCount: discovery.listedCount, problems: [...discovery.problems], unlisted: [...discovery.unlisted] };
    }
    const discovery = selectNamespaces(folders, nsfsDevice);
    this.settle(discovery.namespaces);
    this.#last = { folders, nsfsDevice, discovery: { ...discovery, namespaces: [...discovery.namespaces] } };
    return discovery;
  }

  /** `found`, in place, with each namespace unchanged since the cycle before replaced by its earlier object. */
  settle(found: Namespace[]): Namespace[] {
    for (let index = 0; index < found.length; index++) {
      const ns = found[index]!;
      const known = this.#byInode.get(ns.inode);
      if (known !== undefined && sameNamespace(known, ns)) found[index] = known;
      else this.#byInode.set(ns.inode, ns);
    }
    // Gone (or two files on one inode, when nsfs is unknown): the table is rebuilt, not left to grow.
    if (this.#byInode.size !== found.length) this.#byInode = new Map(found.map((ns) => [ns.inode, ns]));
    return found;
  }
}

function sameNamespace(a: Namespace, b: Namespace): boolean {
  if (a.name !== b.name || a.path !== b.path || a.inode !== b.inode) return false;
  return a.file === undefined ? b.file === undefined : b.file !== undefined && a.file.equals(b.file);
}

/** A file taken as a namespace: its listing, its folder, its name as messages show it. */
interface Accepted {
  listed: ListedFile;
  dir: string;
  shown: string;
  ns: Namespace;
}

/** Listing order is the file system's: by bytes, the same name takes the same label every cycle. */
function byNameBytes(a: ListedFile, b: ListedFile): number {
  // Valid UTF-8 sorts by bytes as its text sorts by code points: no Buffer per comparison.
  if (a.bytes === undefined && b.bytes === undefined) return byCodePoints(a.name, b.name);
  return Buffer.compare(a.bytes ?? Buffer.from(a.name), b.bytes ?? Buffer.from(b.name));
}

function byCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j) === 0 ? 0 : i < a.length ? 1 : -1;
}

/** `name`, or `name~2`, `name~3`... when another file holds it. */
function freeLabel(name: string, taken: ReadonlyMap<string, unknown>): string {
  if (!taken.has(name)) return name;
  let suffix = 2;
  while (taken.has(`${name}~${suffix}`)) suffix += 1;
  return `${name}~${suffix}`;
}

/** A name for messages: bytes that are not UTF-8 as \xNN, the rest as it is. */
function escapeBytes(bytes: Buffer): string {
  let text = '';
  let start = 0;
  while (start < bytes.length) {
    const length = utf8SequenceLength(bytes, start);
    text += length === 0 ? `\\x${bytes[start]!.toString(16).padStart(2, '0')}` : bytes.toString('utf8', start, start + length);
    start += Math.max(length, 1);
  }
  return text;
}

/** The length of the valid UTF-8 sequence at `start`, or 0 when the byte there starts none. */
function utf8SequenceLength(bytes: Buffer, start: number): number {
  for (let length = 1; length <= 4 && start + length <= bytes.length; length += 1) {
    const piece = bytes.subarray(start, start + length);
    const decoded = piece.toString('utf8');
    if (!decoded.includes('\uFFFD') && Buffer.from(decoded).equals(piece)) return length;
  }
  return 0;
}
