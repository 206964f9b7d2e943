import { closeSync, fstatSync, openSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { collectorFiles, collectorSample, splitHostWide } from '../../shared/collectors/collectorList.js';
import { ParseError } from '../../shared/parse/error.js';
import { RTM_GETLINK, parseInterfaceDumpsInto } from '../../shared/parse/netlink.js';
import { INTERFACE_DUMPS } from '../../shared/collectors/interfaces.js';
import { parseProcValue } from '../../shared/collectors/procMetrics.js';
import { PackedInterfacesWriter } from '../../shared/packedInterfaces.js';
import { NameLists, packReadingInto } from '../../shared/packedSample.js';
import type { CollectorFileRead, CollectorFilesRaw, CollectorSample, ReadFailureReason } from '../../shared/snapshot.js';
import { NotRegularFileError, openRegularFile } from '../regularFile.js';
import { LibcError, loadLibc, type Libc } from './netnsLibc.js';
import { HostWideFiles, PROC_OPEN_FLAGS } from './procFile.js';
import { PLAIN_FIELDS, readCount, readInodeAt, readRequestAt, SAME_TEXT, sharedNow, threadProcPath, writePlainReply, type BatchRequest, type ReadOutcome, type ReadReply, type ReadRequest, type WorkerReply, type WorkerRequest, type WorkerSetup } from './setnsProtocol.js';

/**
 * The setns reader's worker thread. A namespace read for the first time is entered with setns(2)
 * on this thread; there its rtnetlink socket and its proc files are opened, and the thread goes
 * back. A socket or a /proc file opened inside a namespace stays bound to it: the next reads dump
 * and pread() them from home, without entering anything or looking up a path. The main thread says
 * when to close them (the namespace's file is gone); past the descriptor budget a namespace is
 * entered, read and left each time instead. Everything here is synchronous on purpose: an async fs
 * call would run on libuv's thread pool, in whatever namespace that thread is in.
 */

const THREAD_NS = '/proc/thread-self/ns/net';
/** At most 15 bytes (TASK_COMM_LEN). */
const THREAD_NAME = 'netns-reader';

/** A file opened in a namespace: its descriptor, null when it does not exist there, or why it cannot be read. */
type Opened = number | null | { error: string };

/** What the thread keeps open for one namespace. */
interface Handles {
  route: number;
  /** The per-namespace collector files, in the order of Files.collectorFiles. */
  collectorFiles: Opened[];
  /** The proc_metrics files, in config order. */
  procFiles: Opened[];
  /**
   * The namespace's last address dump (a copy), good while its socket hears of no address change:
   * null until a dump parsed, and after any change.
   */
  addresses: Uint8Array | null;
  /** The text of the last reading sent (null before the first): the main thread keeps it too. */
  text: string | null;
}

interface Files {
  collectorFiles: readonly string[];
  procFiles: readonly string[];
}

/** The descriptor table is full: the namespace is read without keeping anything open. */
class OutOfDescriptors extends Error {}

function run(): void {
  const port = parentPort;
  if (port === null) throw new Error('setnsWorker.js must run as a worker thread');
  const setup = workerData as WorkerSetup;
  let libc: Libc;
  let homeFd: number;
  let homeInode: number;
  nameThread();
  try {
    libc = loadLibc();
    homeFd = openSync(THREAD_NS, 'r');
    homeInode = fstatSync(homeFd).ino;
  } catch (error) {
    port.postMessage({ kind: 'init-failed', message: (error as Error).message } satisfies WorkerReply);
    return;
  }
  let poisoned = false;
  const { progress } = setup;
  const { perNamespace, hostWide } = splitHostWide(collectorFiles(setup.collectors));
  const files: Files = { collectorFiles: perNamespace.map((file) => file.procPath), procFiles: setup.procFiles };
  const hostWideFiles = new HostWideFiles(hostWide.map((file) => file.procPath), (file) => threadProcPath(setup.procRoot, file));
  const held = new Map<number, Handles>();
  const home: Home = { fd: homeFd, inode: homeInode };
  /** The read under way, rewritten for each read of a batch (nothing keeps it past its read). */
  const current: ReadRequest = { id: 0, path: '', inode: 0, hold: false };
  port.on('message', (request: WorkerRequest) => {
    if (request.kind === 'forget') {
      for (const inode of request.inodes) {
        const handles = held.get(inode);
        held.delete(inode);
        if (handles !== undefined) closeHandles(libc, handles);
      }
      port.postMessage({ kind: 'forgotten', inodes: request.inodes } satisfies WorkerReply);
      return;
    }
    // Here at home, before any setns of the batch: the same values serve every namespace.
    const hostWideRaw = hostWideFiles.current();
    readings.reset();
    batchTexts.length = 0;
    batchNames.reset();
    const changed = addressChanges(libc, request, held);
    const replies: ReadReply[] = [];
    const count = readCount(request);
    const plain = plainReplies.start(count);
    for (let index = 0; index < count; index++) {
      const read = readRequestAt(request, index, current);
      if (poisoned) {
        replies.push(failure(read.id, 'worker', 'worker refused the read: its namespace is in doubt', { poisoned: true }));
        continue;
      }
      const started = sharedNow();
      // The time first: the main thread reads the id, then the time.
      Atomics.store(progress, 1, BigInt(Math.floor(started)));
      Atomics.store(progress, 0, BigInt(read.id));
      const handles = held.get(read.inode);
      if (handles === undefined) {
        const reply = enterAndRead(libc, setup, read, files, hostWideRaw, home, held);
        reply.durationMs = finish(progress, read.id, started);
        poisoned = reply.poisoned;
        replies.push(reply);
        continue;
      }
      const outcome = readOutcome(() => readHandles(libc, setup, files, handles, hostWideRaw, changed));
      const durationMs = finish(progress, read.id, started);
      if (outcome.ok && outcome.errors === undefined) plain.add(read.id, durationMs, outcome.at, outcome.text);
      else replies.push({ ...base(read.id), durationMs, outcome });
    }
    // The batch's numbers as one array, and only the texts the main thread does not have yet.
    port.postMessage({ kind: 'batch', numbers: readings.numbersFrom(0), names: batchNames.lists, texts: batchTexts, replies, plain: plain.take() } satisfies WorkerReply);
  });
  port.postMessage({ kind: 'ready', homeInode } satisfies WorkerReply);
}

interface Home {
  fd: number;
  inode: number;
}

/** Says the read is finished (the main thread's timeouts watch `progress`); how long it took. */
function finish(progress: BigInt64Array, id: number, started: number): number {
  const finished = sharedNow();
  Atomics.store(progress, 1, BigInt(Math.floor(finished)));
  Atomics.store(progress, 0, BigInt(-id));
  return finished - started;
}

/** A batch's plain replies (setnsProtocol.ts), written into one array kept between batches. */
class PlainReplies {
  #numbers = new Float64Array(0);
  #length = 0;

  /** Empty, with room for `reads` replies. */
  start(reads: number): this {
    if (this.#numbers.length < reads * PLAIN_FIELDS) this.#numbers = new Float64Array(reads * PLAIN_FIELDS);
    this.#length = 0;
    return this;
  }

  add(id: number, durationMs: number, at: number, text: number): void {
    writePlainReply(this.#numbers, this.#length, id, durationMs, at, text);
    this.#length += PLAIN_FIELDS;
  }

  /** A copy of what was added, to send. */
  take(): Float64Array {
    return this.#numbers.slice(0, this.#length);
  }
}

const plainReplies = new PlainReplies();

/**
 * Every thread of a Node process is called "node": named, an operator's `top -H` or `ps -L` tells
 * the reading (this thread) from the main thread's push and the V8 and libuv helpers. The real
 * /proc, not the reader's proc root: this is the thread's own name, not data read. Best effort (a
 * kernel without /proc/thread-self, or one that refuses, leaves the name as it was).
 */
function nameThread(): void {
  try {
    writeFileSync('/proc/thread-self/comm', THREAD_NAME);
  } catch {
    // The name only helps an operator read top: reading goes on without it.
  }
}

/**
 * A namespace this thread holds nothing for: entered, read, left. With `hold`, its socket and files
 * are opened while inside and kept; the reply lists them.
 */
function enterAndRead(libc: Libc, setup: WorkerSetup, request: ReadRequest, files: Files, hostWideRaw: CollectorFilesRaw, home: Home, held: Map<number, Handles>): ReadReply {
  let fd: number;
  try {
    fd = openSync(typeof request.path === 'string' ? request.path : Buffer.from(request.path), 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failure(request.id, 'vanished', 'namespace file is gone');
    return failure(request.id, code === 'EACCES' || code === 'EPERM' ? 'permission' : 'worker', `cannot open ${Buffer.from(request.path).toString()}: ${code}`);
  }
  try {
    // The file may have been unmounted and reused since discovery: then it names another namespace.
    if (fstatSync(fd).ino !== request.inode) return failure(request.id, 'vanished', 'namespace file now names another namespace');
    try {
      libc.enterNetNamespace(fd);
    } catch (error) {
      const errno = error instanceof LibcError ? error.errno : 0;
      return failure(request.id, errno === 1 ? 'permission' : 'worker', (error as Error).message);
    }
    // Where the thread really is now, asked of the kernel: the main thread compares it with the request.
    const insideInode = threadNamespaceInode();
    let heldFds: number[] | null = null;
    let outcome: ReadOutcome;
    if (insideInode !== request.inode) {
      outcome = { ok: false, reason: 'worker', message: `setns led to namespace ${insideInode}, not ${request.inode}` };
    } else {
      const handles = request.hold ? openHandles(libc, setup, files) : null;
      if (handles !== null) {
        held.set(request.inode, handles);
        heldFds = handleFds(handles);
        outcome = readOutcome(() => readHandles(libc, setup, files, handles, hostWideRaw, null));
      } else {
        outcome = readOutcome(() => readEntered(libc, setup, files, hostWideRaw));
      }
    }
    const afterInode = goHome(libc, home.fd);
    const poisoned = afterInode !== home.inode;
    if (poisoned && outcome.ok) outcome = { ok: false, reason: 'worker', message: 'thread did not return to its own namespace' };
    return { id: request.id, durationMs: 0, entered: true, insideInode, afterInode, poisoned, heldFds, outcome };
  } finally {
    closeSync(fd);
  }
}

function readOutcome(read: () => ReadOutcome): ReadOutcome {
  try {
    return read();
  } catch (error) {
    return { ok: false, reason: error instanceof ParseError ? 'parse' : 'worker', message: (error as Error).message };
  }
}

/** Opens, inside the namespace, everything later reads need; null when the descriptor table is full. */
function openHandles(libc: Libc, setup: WorkerSetup, files: Files): Handles | null {
  const opened: number[] = [];
  const open = (file: string): Opened => {
    const result = openProcFile(threadProcPath(setup.procRoot, file));
    if (typeof result === 'number') opened.push(result);
    return result;
  };
  try {
    const collectorFds = files.collectorFiles.map(open);
    const procFds = files.procFiles.map(open);
    let route: number;
    try {
      route = libc.openRoute(setup.timeoutMs, true);
    } catch (error) {
      if (error instanceof LibcError && (error.errno === EMFILE || error.errno === ENFILE)) throw new OutOfDescriptors();
      throw error;
    }
    return { route, collectorFiles: collectorFds, procFiles: procFds, addresses: null, text: null };
  } catch (error) {
    for (const fd of opened) closeSync(fd);
    if (error instanceof OutOfDescriptors) return null;
    throw error;
  }
}

const EMFILE = 24;
const ENFILE = 23;

function handleFds(handles: Handles): number[] {
  const fds = [handles.route];
  for (const opened of [...handles.collectorFiles, ...handles.procFiles]) if (typeof opened === 'number') fds.push(opened);
  return fds;
}

function closeHandles(libc: Libc, handles: Handles): void {
  libc.close(handles.route);
  for (const opened of [...handles.collectorFiles, ...handles.procFiles]) if (typeof opened === 'number') closeSync(opened);
}

/** A /proc file opened as proc_metrics files are (procFile.ts); a full descriptor table throws OutOfDescriptors. */
function openProcFile(file: string): Opened {
  try {
    return openRegularFile(file, PROC_OPEN_FLAGS).fd;
  } catch (error) {
    if (error instanceof NotRegularFileError) return { error: error.message };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') throw new OutOfDescriptors();
    return code === 'ENOENT' ? null : { error: `cannot open: ${code}` };
  }
}

/**
 * The held sockets of a batch's namespaces whose addresses may have changed since their last
 * dump, asked once for the batch; null when that could not be told (then each dumps them again).
 */
function addressChanges(libc: Libc, batch: BatchRequest, held: ReadonlyMap<number, Handles>): Set<number> | null {
  const routes: number[] = [];
  for (let index = 0; index < readCount(batch); index++) {
    const handles = held.get(readInodeAt(batch, index));
    if (handles?.addresses != null) routes.push(handles.route);
  }
  try {
    return libc.addressesChangedAmong(routes);
  } catch {
    return null;
  }
}

/**
 * One read over held handles: pread() each file from its start, a link dump on the socket, and the
 * address dump too unless the last one is kept and its socket is not in `changed` (null: all are).
 */
function readHandles(libc: Libc, setup: WorkerSetup, files: Files, handles: Handles, hostWideRaw: CollectorFilesRaw, changed: ReadonlySet<number> | null): ReadOutcome {
  const raw: Record<string, CollectorFileRead> = { ...hostWideRaw };
  handles.collectorFiles.forEach((opened, index) => (raw[files.collectorFiles[index]!] = preadWhole(opened)));
  // The held socket is open while the files are read: it is the agent's, not the namespace's.
  const collectors = collectorSample(raw, setup.collectors, { ownSockets: 1 });
  // Asked before the batch's dumps: a change from then on is heard at the next batch.
  const kept = changed !== null && !changed.has(handles.route) ? handles.addresses : null;
  handles.addresses = null;
  // Links come last either way (INTERFACE_DUMPS asks for the addresses first).
  const dumps = libc.dumpRoute(handles.route, kept !== null ? LINK_DUMP : INTERFACE_DUMPS);
  const links = dumps[dumps.length - 1]!;
  const addresses = kept ?? dumps[0]!;
  const procValues = handles.procFiles.map(preadValue);
  const outcome = packReading(links, addresses, procValues, collectors, handles);
  handles.addresses = kept ?? addresses.slice();
  return outcome;
}

/**
 * The link dump alone. A namespace's addresses change seldom and its held socket is told when they
 * do (netnsLibc's addressesChanged), so its address dump is kept and asked for again only then.
 */
const LINK_DUMP = [RTM_GETLINK] as const;

/**
 * A namespace read without keeping anything (past the descriptor budget): the collector files before
 * the dumps, since a netlink socket lingers in the namespace's socket count for a moment after it
 * is closed. Parsed here, so only the small sample goes back.
 */
function readEntered(libc: Libc, setup: WorkerSetup, files: Files, hostWideRaw: CollectorFilesRaw): ReadOutcome {
  const raw: Record<string, CollectorFileRead> = { ...hostWideRaw };
  for (const file of files.collectorFiles) raw[file] = readOnce(threadProcPath(setup.procRoot, file), preadWhole);
  const collectors = collectorSample(raw, setup.collectors);
  const route = libc.openRoute(setup.timeoutMs);
  let dumps: Uint8Array[];
  try {
    // Addresses first: the kernel sizes a dump's first datagram by the largest recv the socket has
    // seen, so after the (small) address dump all the links come in one datagram instead of several.
    dumps = libc.dumpRoute(route, INTERFACE_DUMPS);
  } finally {
    libc.close(route);
  }
  const procValues = files.procFiles.map((file) => readOnce(threadProcPath(setup.procRoot, file), preadValue));
  return packReading(dumps[1]!, dumps[0]!, procValues, collectors, null);
}

/** The batch's readings, every namespace's numbers written into one buffer. */
const readings = new PackedInterfacesWriter();
/** The texts of the batch's readings that the main thread does not have yet. */
const batchTexts: string[] = [];
/** The collectors' field names of the batch's readings, each list once. */
const batchNames = new NameLists();

/**
 * One namespace's reading (its devices parsed from the dumps, its proc values and collectors'
 * figures) packed into the batch's numbers (shared/packedSample.ts), its text sent unless it is the
 * one its held `handles` last sent (names, states and addresses seldom change). Last in a read: a
 * read that fails after it would leave its numbers in the batch.
 */
function packReading(links: Uint8Array, addresses: Uint8Array, procValues: readonly (number | null)[], collectors: CollectorSample, handles: Handles | null): ReadOutcome {
  const at = readings.length;
  readings.takeText();
  const errors = packReadingInto(readings, () => parseInterfaceDumpsInto(links, addresses, readings), procValues, collectors, batchNames);
  const text = readings.takeText();
  let index = SAME_TEXT;
  if (handles === null || handles.text !== text) {
    index = batchTexts.push(text) - 1;
    if (handles !== null) handles.text = text;
  }
  const outcome: ReadOutcome = { ok: true, at, text: index };
  if (errors !== undefined) outcome.errors = errors;
  return outcome;
}

/** Opens `file`, reads it with `read` and closes it. */
function readOnce<T>(file: string, read: (opened: Opened) => T): T {
  let opened: Opened;
  try {
    opened = openProcFile(file);
  } catch {
    opened = { error: 'cannot open: EMFILE' };
  }
  try {
    return read(opened);
  } finally {
    if (typeof opened === 'number') closeSync(opened);
  }
}

/** Grows when a file does not fit (snmp6 and netstat are a few KiB). */
let fileBuffer = Buffer.allocUnsafe(16 * 1024);

/** A whole file from offset 0: seq_file and sysctl files start over at each pread from 0. */
function preadWhole(opened: Opened): CollectorFileRead {
  if (typeof opened !== 'number') return opened;
  try {
    let length = 0;
    for (;;) {
      if (length === fileBuffer.length) {
        const bigger = Buffer.allocUnsafe(fileBuffer.length * 2);
        fileBuffer.copy(bigger);
        fileBuffer = bigger;
      }
      const got = readSync(opened, fileBuffer, length, fileBuffer.length - length, length);
      if (got === 0) return fileBuffer.toString('utf8', 0, length);
      length += got;
    }
  } catch (error) {
    return { error: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
}

/** Like the nsenter reader's `read -r v`: the first field of the first line, or null. */
function preadValue(opened: Opened): number | null {
  if (typeof opened !== 'number') return null;
  try {
    // One read: a sysctl file gives its whole value at offset 0.
    const text = fileBuffer.toString('utf8', 0, readSync(opened, fileBuffer, 0, fileBuffer.length, 0));
    const end = text.indexOf('\n');
    return parseProcValue(end === -1 ? text : text.slice(0, end));
  } catch {
    return null;
  }
}

/** Back to the thread's own namespace; the inode it is in afterwards (0 when that cannot be told). */
function goHome(libc: Libc, homeFd: number): number {
  try {
    libc.enterNetNamespace(homeFd);
    return threadNamespaceInode();
  } catch {
    return 0;
  }
}

/** The inode of this thread's network namespace: readlink gives `net:[<inode>]`, a little cheaper than a stat. */
function threadNamespaceInode(): number {
  const match = /^net:\[(\d+)\]$/.exec(readlinkSync(THREAD_NS));
  return match === null ? 0 : Number(match[1]);
}

/** A reply for a read that did not enter anything (held handles, or a refusal before setns). */
function base(id: number): Omit<ReadReply, 'outcome'> {
  return { id, durationMs: 0, entered: false, insideInode: 0, afterInode: 0, poisoned: false, heldFds: null };
}

function failure(id: number, reason: ReadFailureReason, message: string, extra: { poisoned?: boolean } = {}): ReadReply {
  return { ...base(id), poisoned: extra.poisoned ?? false, outcome: { ok: false, reason, message } };
}

run();
