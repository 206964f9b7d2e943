import { closeSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NameFilter } from '../shared/config/configTypes.js';
import { passesFilter } from '../shared/filter.js';
import { selectNamespaces, type Discovery, type KnownNamespaces, type ListedFile, type ListedFolder } from '../shared/discovery.js';
import { parseNamespaceMounts } from '../shared/parse/mountinfo.js';
import type { DiscoveryProblem } from '../shared/snapshot.js';
import { bindMountTableChanged, bindStatx, type FileIdentity } from './system/libc.js';

export interface DiscoveryOptions {
  netnsDirs: readonly string[];
  filter: NameFilter;
  /** Root of procfs (injectable for tests); `<procRoot>/self/ns/net` tells which device is nsfs. */
  procRoot: string;
  /** Namespace types learnt in earlier cycles; without it each call learns them afresh. */
  types?: NamespaceTypes;
  /** Empty files seen off nsfs in the cycle before; without it such a file is reported at once. */
  mounting?: MountsInProgress;
  /** The namespaces of the cycle before: those found again unchanged are the same objects. */
  known?: KnownNamespaces;
  /** What tells a folder unchanged since `known` listed it: its listing is then taken as it was. */
  stamps?: FolderStamps;
}

/**
 * Lists each folder and stat()s its entries (the I/O, like a node_exporter collector's), then
 * shared/discovery.ts selects the network namespaces among them.
 */
export async function discoverNamespaces(options: DiscoveryOptions): Promise<Discovery> {
  const { nsfsDevice, problem } = await nsfsDeviceOf(options.procRoot);
  const types = options.types ?? new NamespaceTypes(options.procRoot);
  types.beginCycle();
  options.mounting?.beginCycle();
  // A stamp describes the listing `known` keeps: without it there is none to stand.
  const stamps = options.known === undefined ? undefined : options.stamps;
  stamps?.beginCycle();
  const folders: ListedFolder[] = [];
  for (const dir of options.netnsDirs) {
    const before = options.known?.listedBefore(dir);
    const stamp = stamps?.stampOf(dir) ?? null;
    if (before !== undefined && stamp !== null && stamps!.unchanged(dir, stamp, options.filter)) {
      folders.push(before);
      continue;
    }
    const listing = await listFolder(dir, options.filter, nsfsDevice, types, options.mounting, before);
    if (stamp !== null) stamps!.record(dir, stamp, options.filter, listing.skippedMounting);
    folders.push(listing.folder);
  }
  const discovery = options.known?.select(folders, nsfsDevice) ?? selectNamespaces(folders, nsfsDevice);
  const failures = [problem, types.failure].filter((failure) => failure !== null);
  return { ...discovery, problems: [...failures, ...discovery.problems] };
}

/**
 * The folder as listed and stat()ed. `before`: the same folder's listing of the cycle before, given
 * back as it was (the same object) when every file is as it was, so that a steady cycle makes no
 * object per file here and selects nothing anew (KnownNamespaces.select).
 */
async function listFolder(
  dir: string, filter: NameFilter, nsfsDevice: number | null, types: NamespaceTypes, mounting?: MountsInProgress, before?: ListedFolder,
): Promise<{ folder: ListedFolder; skippedMounting: boolean }> {
  const listed = await readFolder(dir);
  if (!Array.isArray(listed)) return { folder: { dir, code: listed.code }, skippedMounting: false };
  let skippedMounting = false;
  const earlierFolder = before !== undefined && 'files' in before ? before : null;
  const earlier = earlierFolder?.files ?? null;
  /** The files as listed; while they are the earlier ones so far, null, and `same` counts them. */
  let files: ListedFile[] | null = earlier === null ? [] : null;
  let same = 0;
  const folderPath = path.join(dir, '/');
  for (let index = 0; index < listed.length; index++) {
    const entry = listed[index]!;
    const name = typeof entry === 'string' ? entry : entry.toString('utf8');
    // The name filter here, before the stat (the costly part on a node with thousands), and only here.
    if (!passesFilter(name, filter)) continue;
    // A name that is not UTF-8 shows U+FFFD in `name`: only its bytes open the file.
    const bytes = typeof entry === 'string' || isAscii(entry) || Buffer.from(name).equals(entry) ? null : entry;
    // A listed name holds no slash and is never . or ..: joined by hand, no normalising per file.
    const file = bytes === null ? folderPath + name : Buffer.concat([Buffer.from(folderPath), bytes]);
    // Synchronous on purpose: a namespace file is an nsfs bind mount on tmpfs, answered from
    // memory, where an await per file costs a thread-pool round trip.
    const info = statOrNull(file);
    if (info === null) continue; // removed between listing and stat: simply gone
    // Only a file on nsfs has a namespace type worth looking up; the others are skipped anyway.
    const onNsfs = nsfsDevice === null || info.dev === nsfsDevice;
    if (!onNsfs && mounting?.firstSeen(info) === true) {
      skippedMounting = true;
      continue;
    }
    const type = onNsfs ? types.typeOf(file, info.ino) : null;
    if (files === null) {
      const was = earlier![same];
      if (bytes === null && was !== undefined && sameFile(was, name, info, type)) {
        same += 1;
        continue;
      }
      files = earlier!.slice(0, same);
    }
    files.push(bytes === null ? { name, dev: info.dev, ino: info.ino, type } : { name, bytes, dev: info.dev, ino: info.ino, type });
  }
  if (files === null && same === earlier!.length && earlierFolder!.listedCount === listed.length) return { folder: earlierFolder!, skippedMounting };
  return { folder: { dir, listedCount: listed.length, files: files ?? earlier!.slice(0, same) }, skippedMounting };
}

function sameFile(was: ListedFile, name: string, info: Readonly<FileIdentity>, type: string | null): boolean {
  return was.bytes === undefined && was.name === name && was.dev === info.dev && was.ino === info.ino && was.type === type;
}

/** A folder's identity and times (ns), as stat() shows them. */
interface FolderTimes {
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A folder's times when it was last listed, the name filter that listing applied, and whether it can stand. */
interface FolderStamp {
  times: FolderTimes;
  /** Another config's filter lists anew. */
  filter: NameFilter;
  /** The listing may stand while nothing changes (see FolderStamps.record). */
  settled: boolean;
}

/**
 * Whether a folder is as it was when last listed, so that its listing (and a stat of each of its
 * files, 3 ms a cycle at 1,000 namespaces) can be skipped: a file added, removed or renamed changes
 * the folder's mtime, and a namespace bound, unbound or bound anew onto a file is a change of the
 * mount table, which poll(2) on /proc/self/mountinfo reports. Only a listing known to be whole
 * stands: none while a file waits for its mount (MountsInProgress), and none whose folder changed
 * within the second before it was listed (a file system's clock may not tick between two changes,
 * so a second change in the same tick would leave the mtime as the first one set it).
 */
export class FolderStamps {
  readonly #procRoot: string;
  readonly #stamps = new Map<string, FolderStamp>();
  #mountTable: { fd: number; changed: (fd: number) => boolean } | null | undefined;
  #mountsChanged = true;

  constructor(procRoot: string) {
    this.#procRoot = procRoot;
  }

  /** Asks the mount table once a cycle, before any folder is looked at. */
  beginCycle(): void {
    if (this.#mountTable === undefined) this.#mountTable = this.#openMountTable();
    this.#mountsChanged = this.#mountTable === null || this.#mountTable.changed(this.#mountTable.fd);
  }

  /** The folder as it is now (stat before listing), null when it cannot be stat()ed (then it is listed). */
  stampOf(dir: string): FolderTimes | null {
    try {
      const info = statSync(dir, { bigint: true, throwIfNoEntry: false });
      if (info === undefined || !info.isDirectory()) return null;
      return { dev: info.dev, ino: info.ino, mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs };
    } catch {
      return null;
    }
  }

  /** True when the folder, now `now`, is as when its settled listing was made under the same filter and mount table. */
  unchanged(dir: string, now: FolderTimes, filter: NameFilter): boolean {
    const was = this.#stamps.get(dir);
    if (this.#mountsChanged || was === undefined || !was.settled || was.filter !== filter) return false;
    const { times } = was;
    return times.dev === now.dev && times.ino === now.ino && times.mtimeNs === now.mtimeNs && times.ctimeNs === now.ctimeNs;
  }

  /** The folder was listed just now, as `times` showed it before the listing. */
  record(dir: string, times: FolderTimes, filter: NameFilter, skippedMounting: boolean): void {
    const newest = times.mtimeNs > times.ctimeNs ? times.mtimeNs : times.ctimeNs;
    const settled = !skippedMounting && BigInt(Date.now()) * 1_000_000n - newest > SETTLED_AFTER_NS;
    this.#stamps.set(dir, { times, filter, settled });
  }

  /** Closes the mount table; from now on every folder is listed. */
  close(): void {
    if (this.#mountTable) closeSync(this.#mountTable.fd);
    this.#mountTable = null;
    this.#mountsChanged = true;
  }

  #openMountTable(): { fd: number; changed: (fd: number) => boolean } | null {
    const changed = bindMountTableChanged();
    if (changed === null) return null;
    try {
      return { fd: openSync(path.join(this.#procRoot, 'self/mountinfo'), 'r'), changed };
    } catch {
      return null;
    }
  }
}

/** A folder changed within this long before its listing is listed again the next cycle. */
const SETTLED_AFTER_NS = 1_000_000_000n;

/**
 * `ip netns add` (and runtimes alike) creates an empty file, then bind-mounts the namespace onto it:
 * in between the file is on tmpfs, not nsfs. Such a file is left out of its first cycle without a
 * word; still there and unmounted a cycle later, it is reported like any file that is no namespace.
 */
export class MountsInProgress {
  #previous = new Set<string>();
  #current = new Set<string>();

  beginCycle(): void {
    this.#previous = this.#current;
    this.#current = new Set();
  }

  /** True for an empty regular file off nsfs not seen in the cycle before: a mount to come. */
  firstSeen(info: Readonly<FileIdentity>): boolean {
    if (!info.isFile || info.size !== 0) return false;
    const key = `${info.dev}:${info.ino}`;
    this.#current.add(key);
    return !this.#previous.has(key);
  }
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
  #failure: DiscoveryProblem | null = null;

  constructor(procRoot: string) {
    this.#procRoot = procRoot;
  }

  beginCycle(): void {
    this.#readThisCycle = false;
    this.#failure = null;
  }

  /** Why the mount table could not be read this cycle, if it could not. */
  get failure(): DiscoveryProblem | null {
    return this.#failure;
  }

  /** The type, or null when neither the mount table nor the file says (the read will tell). */
  typeOf(file: string | Buffer, inode: number): string | null {
    if (!this.#byInode.has(inode) && !this.#readThisCycle) {
      this.#readThisCycle = true;
      const mountinfo = path.join(this.#procRoot, 'self/mountinfo');
      try {
        this.#byInode = parseNamespaceMounts(readFileSync(mountinfo, 'utf8'));
      } catch (error) {
        // Types stay unknown: a pid or mount namespace bound into a folder is then found by its read.
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        this.#failure = { key: 'mount-table', reason: 'mount_table', message: `cannot read ${mountinfo} (${code}): namespace types are unknown this cycle` };
      }
    }
    return this.#byInode.get(inode) ?? linkType(file);
  }
}

/** `/proc/<pid>/ns/net` is a link to "net:[4026531840]"; a bound file is no link and says nothing. */
function linkType(file: string | Buffer): string | null {
  try {
    return /^([a-z_]+):\[\d+\]$/.exec(readlinkSync(file))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * The folder's names, as text; as bytes when one of them shows U+FFFD, which a name that is not
 * valid UTF-8 comes back with, and which would open nothing. Text first: bytes cost a Buffer per
 * name, every cycle, for every file in the folder, selected or not.
 */
async function readFolder(dir: string): Promise<string[] | Buffer[] | { code: string }> {
  try {
    const names = await readdir(dir);
    return names.some((name) => name.includes('\uFFFD')) ? await readdir(dir, { encoding: 'buffer' }) : names;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    return { code: code ?? (error as Error).message };
  }
}

/** statx where it binds (agent/system/libc.ts: no Stats and four Dates per file per cycle), else fs.statSync. */
let statx: ReturnType<typeof bindStatx> | undefined;
const identity: FileIdentity = { dev: 0, ino: 0, isFile: false, size: 0 };

/** The file's identity, in one object reused from call to call; null when it cannot be stat()ed (gone). */
function statOrNull(file: string | Buffer): Readonly<FileIdentity> | null {
  // A name that is not UTF-8 goes by its bytes, which only fs.statSync takes (rare).
  statx ??= bindStatx();
  if (statx !== null && typeof file === 'string') return statx(file, identity) ? identity : null;
  try {
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined) return null;
    identity.dev = info.dev;
    identity.ino = info.ino;
    identity.isFile = info.isFile();
    identity.size = info.size;
    return identity;
  } catch {
    return null;
  }
}

/** Bytes that are all ASCII read the same as UTF-8: no second encoding to compare (nearly every name). */
function isAscii(bytes: Buffer): boolean {
  for (let index = 0; index < bytes.length; index++) if (bytes[index]! > 0x7f) return false;
  return true;
}

/** The device of nsfs, which every namespace file is on; null, with the problem, when it cannot be told. */
async function nsfsDeviceOf(procRoot: string): Promise<{ nsfsDevice: number | null; problem: DiscoveryProblem | null }> {
  const own = path.join(procRoot, 'self/ns/net');
  try {
    return { nsfsDevice: (await stat(own)).dev, problem: null };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { nsfsDevice: null, problem: { key: 'nsfs-check', reason: 'nsfs_check', message: `cannot stat ${own} (${code}): files are not checked for being namespaces this cycle` } };
  }
}
