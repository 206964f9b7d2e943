import { closeSync, fstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { collectorFiles, collectorSample, splitHostWide } from '../../shared/collectors/collectorList.js';
import { ParseError } from '../../shared/parse/error.js';
import { parseInterfaceDumps } from '../../shared/parse/netlink.js';
import { INTERFACE_DUMPS } from '../../shared/collectors/interfaces.js';
import { parseProcValue } from '../../shared/collectors/procMetrics.js';
import { packInterfaces } from '../../shared/packedInterfaces.js';
import type { CollectorFilesRaw, ReadFailureReason } from '../../shared/snapshot.js';
import { LibcError, loadLibc, type Libc } from './netnsLibc.js';
import { readRegularFile } from '../regularFile.js';
import { HostWideFiles, PROC_OPEN_FLAGS, readWholeFile } from './procFile.js';
import { sharedNow, threadProcPath, type BatchRequest, type ReadReply, type ReadRequest, type WorkerReply, type WorkerSetup } from './setnsProtocol.js';

/**
 * The setns reader's worker thread. It enters one namespace at a time with setns(2) on its own
 * thread, reads it, and goes back. Everything here is synchronous on purpose: an async fs call
 * would run on libuv's thread pool, in whatever namespace that thread is in.
 */

const THREAD_NS = '/proc/thread-self/ns/net';
function run(): void {
  const port = parentPort;
  if (port === null) throw new Error('setnsWorker.js must run as a worker thread');
  const setup = workerData as WorkerSetup;
  let libc: Libc;
  let homeFd: number;
  let homeInode: number;
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
  const hostWideFiles = new HostWideFiles(hostWide.map((file) => file.procPath), (file) => threadProcPath(setup.procRoot, file));
  port.on('message', (batch: BatchRequest) => {
    // Here at home, before any setns of the batch: the same values serve every namespace.
    const hostWideRaw = hostWideFiles.current();
    const files: FilesToRead = { procFiles: batch.procFiles, collectorFiles: perNamespace.map((file) => file.procPath), hostWideRaw };
    const replies = batch.reads.map((request): ReadReply => {
      if (poisoned) return failure(request.id, 0, 0, true, 'worker', 'worker refused the read: its namespace is in doubt');
      const started = sharedNow();
      // The time first: the main thread reads the id, then the time.
      Atomics.store(progress, 1, BigInt(Math.floor(started)));
      Atomics.store(progress, 0, BigInt(request.id));
      const reply = readNamespace(libc, setup, request, files, homeFd, homeInode);
      const finished = sharedNow();
      reply.durationMs = finished - started;
      Atomics.store(progress, 1, BigInt(Math.floor(finished)));
      Atomics.store(progress, 0, BigInt(-request.id));
      poisoned = reply.poisoned;
      return reply;
    });
    port.postMessage({ kind: 'batch', replies: shareOneBuffer(replies) } satisfies WorkerReply);
  });
  port.postMessage({ kind: 'ready', homeInode } satisfies WorkerReply);
}

/** The /proc files to read in every namespace, relative to /proc. */
interface FilesToRead {
  procFiles: readonly string[];
  collectorFiles: readonly string[];
  /** The host-wide collector files, read in the thread's own namespace (HostWideFiles). */
  hostWideRaw: CollectorFilesRaw;
}

function readNamespace(libc: Libc, setup: WorkerSetup, request: ReadRequest, files: FilesToRead, homeFd: number, homeInode: number): ReadReply {
  let fd: number;
  try {
    fd = openSync(typeof request.path === 'string' ? request.path : Buffer.from(request.path), 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failure(request.id, 0, homeInode, false, 'vanished', 'namespace file is gone');
    return failure(request.id, 0, homeInode, false, code === 'EACCES' || code === 'EPERM' ? 'permission' : 'worker', `cannot open ${Buffer.from(request.path).toString()}: ${code}`);
  }
  try {
    // The file may have been unmounted and reused since discovery: then it names another namespace.
    if (fstatSync(fd).ino !== request.inode) return failure(request.id, 0, homeInode, false, 'vanished', 'namespace file now names another namespace');
    try {
      libc.enterNetNamespace(fd);
    } catch (error) {
      const errno = error instanceof LibcError ? error.errno : 0;
      return failure(request.id, 0, homeInode, false, errno === 1 ? 'permission' : 'worker', (error as Error).message);
    }
    // setns(2) succeeded with a descriptor whose inode was just checked: the thread is in that namespace.
    const insideInode = request.inode;
    let outcome: ReadReply['outcome'];
    try {
      outcome = readHere(libc, setup, files);
    } catch (error) {
      outcome = { ok: false, reason: error instanceof ParseError ? 'parse' : 'worker', message: (error as Error).message };
    }
    const afterInode = goHome(libc, homeFd);
    const poisoned = afterInode !== homeInode || insideInode !== request.inode;
    if (poisoned && outcome.ok) outcome = { ok: false, reason: 'worker', message: 'thread did not return to its own namespace' };
    return { id: request.id, durationMs: 0, insideInode, afterInode, poisoned, outcome };
  } finally {
    closeSync(fd);
  }
}

function readHere(libc: Libc, setup: WorkerSetup, files: FilesToRead): ReadReply['outcome'] {
  // The collector files before the dumps: a netlink socket lingers in the namespace's socket count
  // for a moment after it is closed. Parsed here, so only the small sample goes back.
  const raw = { ...files.hostWideRaw, ...Object.fromEntries(files.collectorFiles.map((file) => [file, readWholeFile(threadProcPath(setup.procRoot, file))])) };
  const collectors = collectorSample(raw, setup.collectors);
  const [addresses, links] = libc.dumpRoute(INTERFACE_DUMPS, setup.timeoutMs) as [Uint8Array, Uint8Array];
  const procValues = files.procFiles.map((file) => readProcValue(threadProcPath(setup.procRoot, file)));
  return { ok: true, interfaces: packInterfaces(parseInterfaceDumps(links, addresses)), procValues, collectors };
}

/**
 * The batch's numbers moved into one buffer, each reply keeping a view of its part: the main thread
 * then receives one ArrayBuffer per batch instead of one per namespace, each a costly allocation.
 */
function shareOneBuffer(replies: ReadReply[]): ReadReply[] {
  let total = 0;
  for (const { outcome } of replies) if (outcome.ok) total += outcome.interfaces.numbers.length;
  const shared = new Float64Array(total);
  let at = 0;
  for (const { outcome } of replies) {
    if (!outcome.ok) continue;
    const { numbers } = outcome.interfaces;
    shared.set(numbers, at);
    outcome.interfaces.numbers = shared.subarray(at, at + numbers.length);
    at += numbers.length;
  }
  return replies;
}

/** More than the first line of any file a proc metric names (one number). */
const procBuffer = Buffer.allocUnsafe(4096);

/** Like the nsenter reader's `read -r v`: the first field of the first line, or null. */
function readProcValue(file: string): number | null {
  try {
    return readRegularFile(file, PROC_OPEN_FLAGS, (fd) => {
      // One read into a buffer kept for the thread: a sysctl file gives its whole value at offset 0.
      const text = procBuffer.toString('utf8', 0, readSync(fd, procBuffer, 0, procBuffer.length, 0));
      const end = text.indexOf('\n');
      return parseProcValue(end === -1 ? text : text.slice(0, end));
    });
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

function failure(id: number, insideInode: number, afterInode: number, poisoned: boolean, reason: ReadFailureReason, message: string): ReadReply {
  return { id, durationMs: 0, insideInode, afterInode, poisoned, outcome: { ok: false, reason, message } };
}

run();
