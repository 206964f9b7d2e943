import type { CollectorsConfig } from '../../shared/config/configTypes.js';
import type { PackedAt } from '../../shared/packedSample.js';
import type { ReadFailureReason } from '../../shared/snapshot.js';

/**
 * The messages between the setns reader's pool (main thread) and its worker threads, and the clock
 * they share. Both sides import this file; it only defines things.
 */

export interface WorkerSetup {
  procRoot: string;
  timeoutMs: number;
  /** Parsed in the thread, so only the small sample comes back; the same object serves every read. */
  collectors: CollectorsConfig;
  /** proc_metrics files relative to /proc, in config order (names are the main thread's business). */
  procFiles: readonly string[];
  /**
   * Where the thread says what it is doing, for the main thread's timeouts: [0] the id of the read it
   * started (negated once it is finished), [1] when (sharedNow, ms).
   */
  progress: BigInt64Array;
}

export interface ReadRequest {
  id: number;
  /** Bytes for a name that is not valid UTF-8 (a Buffer arrives in the thread as a Uint8Array). */
  path: string | Uint8Array;
  inode: number;
  /**
   * Keep the namespace's socket and files open for the next reads (its handles are then read
   * without entering it). False past the descriptor budget: entered, read and left, as each time.
   */
  hold: boolean;
}

export type WorkerRequest =
  /** Reads to do in order, answered with one batch reply. */
  | { kind: 'batch'; reads: ReadRequest[] }
  /** Close the handles held for these namespace inodes: their files are gone or no longer selected. */
  | { kind: 'forget'; inodes: number[] };

export type WorkerReply =
  | { kind: 'ready'; homeInode: number }
  | { kind: 'init-failed'; message: string }
  /**
   * `numbers`, `names`: the batch's packed readings, each reply's outcome saying where its own
   * starts; `texts`: the readings' texts that are new to the main thread (see ReadOutcome).
   */
  | { kind: 'batch'; numbers: Float64Array; names: string[][]; texts: string[]; replies: ReadReply[] }
  /** The handles of these inodes are closed (an answer to 'forget'). */
  | { kind: 'forgotten'; inodes: number[] };

export interface ReadReply {
  id: number;
  /** How long the read took, as this thread measured it. */
  durationMs: number;
  /**
   * Whether the thread entered the namespace for this read (a first read, or one past the budget).
   * Held handles are read from home: nothing to check then.
   */
  entered: boolean;
  /** When entered: the namespace inode the thread found itself in after setns (0 when it never got in). */
  insideInode: number;
  /** When entered: the thread's namespace inode after going back, checked against homeInode. */
  afterInode: number;
  /** When set, the thread cannot vouch for its namespace any more: it must be terminated. */
  poisoned: boolean;
  /**
   * The descriptors this read opened and the thread now holds for the namespace (null: none kept),
   * so that whoever outlives the thread can close them.
   */
  heldFds: number[] | null;
  outcome: ReadOutcome;
}

/**
 * A read's result: where the namespace's reading starts in the batch's numbers (shared/packedSample.ts)
 * and which of the batch's `texts` is its text; or why there is none. A namespace whose handles the
 * worker holds keeps its last text on both sides (the worker's handles, the pool's slot), and while it
 * does not change it is not sent again: `text` is then SAME_TEXT.
 */
export type ReadOutcome =
  | ({ ok: true; text: number } & PackedAt)
  | { ok: false; reason: ReadFailureReason; message: string };

/** A reading's text is the one its namespace's last reading on this worker had. */
export const SAME_TEXT = -1;

/**
 * Whether both sides keep a read's text for the next: it read held handles (not entered), or it
 * opened them (descriptors listed).
 */
export function keepsText(read: Pick<ReadReply, 'entered' | 'heldFds'>): boolean {
  return !read.entered || read.heldFds !== null;
}

/** Milliseconds on a clock all threads share (each thread's performance.now() has its own origin). */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

/**
 * proc_metrics paths relative to /proc, made to follow the worker thread: /proc/net and /proc/self
 * are the process's (its main thread's) view; /proc/thread-self is the thread's. /proc/sys/net
 * already follows the thread that opens it.
 */
export function threadProcPath(procRoot: string, file: string): string {
  const relative = file.replace(/^\/+/, '');
  if (relative === 'net' || relative.startsWith('net/')) return `${procRoot}/thread-self/${relative}`;
  if (relative.startsWith('self/')) return `${procRoot}/thread-self/${relative.slice('self/'.length)}`;
  return `${procRoot}/${relative}`;
}
