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

/**
 * A batch of reads as it crosses to the worker: READ_FIELDS numbers per read in `reads` (its id, its
 * namespace's inode, 1 to hold its handles) and its path in `paths`, in the same order. As objects,
 * a thousand requests a cycle (and their inodes, too large for a small integer, each a heap number)
 * were a sixteenth of what the main thread allocated in a steady cycle.
 */
export interface BatchRequest {
  kind: 'batch';
  reads: Float64Array;
  paths: (string | Uint8Array)[];
}

export const READ_FIELDS = 3;

/** Writes the read at `index` of a batch request's numbers and paths. */
export function writeReadRequest(reads: Float64Array, paths: (string | Uint8Array)[], index: number, id: number, inode: number, hold: boolean, path: string | Uint8Array): void {
  const at = index * READ_FIELDS;
  reads[at] = id;
  reads[at + 1] = inode;
  reads[at + 2] = hold ? 1 : 0;
  paths[index] = path;
}

/** How many reads a batch request holds. */
export function readCount(batch: BatchRequest): number {
  return batch.reads.length / READ_FIELDS;
}

/** The read at `index` of a batch request, written into `into` (one object for a whole batch). */
export function readRequestAt(batch: BatchRequest, index: number, into: ReadRequest): ReadRequest {
  const at = index * READ_FIELDS;
  into.id = batch.reads[at]!;
  into.inode = batch.reads[at + 1]!;
  into.hold = batch.reads[at + 2] === 1;
  into.path = batch.paths[index] ?? '';
  return into;
}

/** The inode of the read at `index` of a batch request. */
export function readInodeAt(batch: BatchRequest, index: number): number {
  return batch.reads[index * READ_FIELDS + 1]!;
}

export type WorkerRequest =
  /** Reads to do in order, answered with one batch reply. */
  | BatchRequest
  /** Close the handles held for these namespace inodes: their files are gone or no longer selected. */
  | { kind: 'forget'; inodes: number[] };

export type WorkerReply =
  | { kind: 'ready'; homeInode: number }
  | { kind: 'init-failed'; message: string }
  /**
   * `numbers`, `names`: the batch's packed readings, each reply's outcome saying where its own
   * starts; `texts`: the readings' texts that are new to the main thread (see ReadOutcome).
   * `plain`: the replies that are only numbers (PLAIN_FIELDS each, see plainReply); `replies`: the
   * others. Both in the order of the batch's reads.
   */
  | { kind: 'batch'; numbers: Float64Array; names: string[][]; texts: string[]; replies: ReadReply[]; plain?: Float64Array }
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

/**
 * The numbers of a plain reply, the usual one: a read of held handles (nothing entered, nothing
 * opened) that gave a reading without parse errors. As objects, a thousand of them a batch were
 * promoted out of the worker's young generation while the batch went on (each lives until the
 * batch is sent): 0.4 MB a cycle at 1,000 namespaces, 50 KB as numbers (--trace-gc-nvp), and the
 * worker's old generation, with its mark-compacts, no longer grows between them.
 */
export const PLAIN_FIELDS = 4;
const PLAIN_ID = 0;
const PLAIN_DURATION = 1;
const PLAIN_AT = 2;
const PLAIN_TEXT = 3;

/** Writes a plain reply's numbers at `offset` of `plain` (PLAIN_FIELDS of them). */
export function writePlainReply(plain: Float64Array, offset: number, id: number, durationMs: number, at: number, text: number): void {
  plain[offset + PLAIN_ID] = id;
  plain[offset + PLAIN_DURATION] = durationMs;
  plain[offset + PLAIN_AT] = at;
  plain[offset + PLAIN_TEXT] = text;
}

/** The id of the plain reply at `offset`. */
function plainReplyId(plain: Float64Array, offset: number): number {
  return plain[offset + PLAIN_ID]!;
}

/** The plain reply at `offset` as the ReadReply it stands for, written into `into` when given. */
export function plainReply(plain: Float64Array, offset: number, into?: PlainReadReply): ReadReply {
  const reply = into ?? newPlainReply();
  reply.id = plain[offset + PLAIN_ID]!;
  reply.durationMs = plain[offset + PLAIN_DURATION]!;
  reply.outcome.at = plain[offset + PLAIN_AT]!;
  reply.outcome.text = plain[offset + PLAIN_TEXT]!;
  return reply;
}

/** A plain reply as an object: only its numbers differ from one plain reply to the next. */
type PlainReadReply = ReadReply & { outcome: { ok: true; at: number; text: number } };

function newPlainReply(): PlainReadReply {
  return { id: 0, durationMs: 0, entered: false, insideInode: 0, afterInode: 0, poisoned: false, heldFds: null, outcome: { ok: true, at: 0, text: 0 } };
}

/**
 * A batch's replies in the order of its reads. A plain one is shown through one object, rewritten by
 * each call of `at`: read it before asking for the next. Made afresh, two objects per read were a
 * sixteenth of what the main thread allocated in a steady cycle (HeapProfiler sampling).
 */
export class BatchReplies {
  readonly length: number;
  readonly #replies: readonly ReadReply[];
  readonly #plain: Float64Array;
  /** Per read: its index in `replies`, or -1 - its offset in `plain`. */
  readonly #sources: Int32Array;
  readonly #shown = newPlainReply();

  constructor(replies: readonly ReadReply[], plain: Float64Array, sources: Int32Array) {
    this.#replies = replies;
    this.#plain = plain;
    this.#sources = sources;
    this.length = sources.length;
  }

  at(index: number): ReadReply {
    const source = this.#sources[index]!;
    return source >= 0 ? this.#replies[source]! : plainReply(this.#plain, -1 - source, this.#shown);
  }
}

/**
 * A batch's replies in the order of its reads, plain and others merged by the ids `expected`;
 * null when they do not come out as exactly those ids.
 */
export function batchReplies(batch: { replies: readonly ReadReply[]; plain?: Float64Array }, expected: readonly number[]): BatchReplies | null {
  const plain = batch.plain ?? new Float64Array(0);
  if (plain.length % PLAIN_FIELDS !== 0 || plain.length / PLAIN_FIELDS + batch.replies.length !== expected.length) return null;
  const sources = new Int32Array(expected.length);
  let offset = 0;
  let other = 0;
  for (let index = 0; index < expected.length; index++) {
    const id = expected[index];
    if (offset < plain.length && plainReplyId(plain, offset) === id) {
      sources[index] = -1 - offset;
      offset += PLAIN_FIELDS;
    } else if (batch.replies[other]?.id === id) {
      sources[index] = other++;
    } else {
      return null;
    }
  }
  return new BatchReplies(batch.replies, plain, sources);
}

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
