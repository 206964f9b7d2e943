import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ParseError } from '../../shared/parse/ipJson.js';
import { RTM_GETADDR, RTM_GETLINK, parseInterfaceDumps } from '../../shared/parse/netlink.js';
import { parseProcValue } from '../../shared/parse/procValue.js';
import type { NamespaceSample, ReadFailureReason } from '../../shared/types.js';
import { LibcError, loadLibc, type Libc } from './libc.js';

/**
 * The setns reader's worker thread. It enters one namespace at a time with setns(2) on its own
 * thread, reads it, and goes back. Everything here is synchronous on purpose: an async fs call
 * would run on libuv's thread pool, in whatever namespace that thread is in.
 */

export interface WorkerSetup {
  procRoot: string;
  timeoutMs: number;
}

export interface ReadRequest {
  id: number;
  path: string;
  inode: number;
  /** proc_metrics files relative to /proc, in config order (names are the main thread's business). */
  procFiles: string[];
}

export type WorkerReply =
  | { kind: 'ready'; homeInode: number }
  | { kind: 'init-failed'; message: string }
  | ReadReply;

export interface ReadReply {
  kind: 'read';
  id: number;
  /** The namespace inode the thread was in while reading (0 when it never entered). */
  insideInode: number;
  /** The thread's namespace inode after going back: the main thread checks it against homeInode. */
  afterInode: number;
  /** When set, the thread cannot vouch for its namespace any more: it must be terminated. */
  poisoned: boolean;
  outcome:
    | { ok: true; interfaces: NamespaceSample['interfaces']; procValues: (number | null)[] }
    | { ok: false; reason: ReadFailureReason; message: string };
}

const THREAD_NS = '/proc/thread-self/ns/net';

/**
 * proc_metrics paths relative to /proc, made to follow this thread: /proc/net and /proc/self are
 * the process's (its main thread's) view; /proc/thread-self is this thread's. /proc/sys/net already
 * follows the thread that opens it.
 */
export function threadProcPath(procRoot: string, file: string): string {
  const relative = file.replace(/^\/+/, '');
  if (relative === 'net' || relative.startsWith('net/')) return `${procRoot}/thread-self/${relative}`;
  if (relative.startsWith('self/')) return `${procRoot}/thread-self/${relative.slice('self/'.length)}`;
  return `${procRoot}/${relative}`;
}

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
  port.on('message', (request: ReadRequest) => {
    let reply: ReadReply;
    if (poisoned) {
      reply = failure(request.id, 0, 0, true, 'worker', 'worker refused the read: its namespace is in doubt');
    } else {
      reply = readNamespace(libc, setup, request, homeFd, homeInode);
      poisoned = reply.poisoned;
    }
    port.postMessage(reply satisfies WorkerReply);
  });
  port.postMessage({ kind: 'ready', homeInode } satisfies WorkerReply);
}

function readNamespace(libc: Libc, setup: WorkerSetup, request: ReadRequest, homeFd: number, homeInode: number): ReadReply {
  let fd: number;
  try {
    fd = openSync(request.path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failure(request.id, 0, homeInode, false, 'vanished', 'namespace file is gone');
    return failure(request.id, 0, homeInode, false, code === 'EACCES' || code === 'EPERM' ? 'permission' : 'worker', `cannot open ${request.path}: ${code}`);
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
    let insideInode = 0;
    let outcome: ReadReply['outcome'];
    try {
      insideInode = statSync(THREAD_NS).ino;
      outcome = insideInode === request.inode
        ? readHere(libc, setup, request)
        : { ok: false, reason: 'worker', message: `setns left the thread in namespace ${insideInode}, not ${request.inode}` };
    } catch (error) {
      outcome = { ok: false, reason: error instanceof ParseError ? 'parse' : 'worker', message: (error as Error).message };
    }
    const afterInode = goHome(libc, homeFd);
    const poisoned = afterInode !== homeInode || insideInode !== request.inode;
    if (poisoned && outcome.ok) outcome = { ok: false, reason: 'worker', message: 'thread did not return to its own namespace' };
    return { kind: 'read', id: request.id, insideInode, afterInode, poisoned, outcome };
  } finally {
    closeSync(fd);
  }
}

function readHere(libc: Libc, setup: WorkerSetup, request: ReadRequest): ReadReply['outcome'] {
  const [links, addresses] = libc.dumpRoute([RTM_GETLINK, RTM_GETADDR], setup.timeoutMs) as [Uint8Array, Uint8Array];
  const procValues = request.procFiles.map((file) => readProcValue(threadProcPath(setup.procRoot, file)));
  return { ok: true, interfaces: parseInterfaceDumps(links, addresses), procValues };
}

/** Like the nsenter reader's `read -r v`: the first field of the first line, or null. */
function readProcValue(file: string): number | null {
  try {
    return parseProcValue(readFileSync(file, 'utf8').split('\n')[0] ?? '');
  } catch {
    return null;
  }
}

/** Back to the thread's own namespace; the inode it is in afterwards (0 when that cannot be told). */
function goHome(libc: Libc, homeFd: number): number {
  try {
    libc.enterNetNamespace(homeFd);
    return statSync(THREAD_NS).ino;
  } catch {
    return 0;
  }
}

function failure(id: number, insideInode: number, afterInode: number, poisoned: boolean, reason: ReadFailureReason, message: string): ReadReply {
  return { kind: 'read', id, insideInode, afterInode, poisoned, outcome: { ok: false, reason, message } };
}

// Imported on the main thread (for threadProcPath), the module only defines things.
if (!isMainThread) run();
