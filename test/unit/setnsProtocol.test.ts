import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  batchReplies, PLAIN_FIELDS, plainReply, READ_FIELDS, readCount, readInodeAt, readRequestAt, writePlainReply, writeReadRequest, type BatchReplies, type ReadReply, type ReadRequest,
} from '../../agent/readers/setnsProtocol.js';

/*
 * A worker's batch reply carries the usual reads (held handles, a clean reading) as numbers and
 * the others as objects (issue 24: a thousand reply objects a batch were promoted in the worker).
 * The pool merges them back in the order it asked.
 */
const test = suite('setns protocol: plain replies');

function plain(...reads: [id: number, durationMs: number, at: number, text: number][]): Float64Array {
  const numbers = new Float64Array(reads.length * PLAIN_FIELDS);
  reads.forEach((read, index) => writePlainReply(numbers, index * PLAIN_FIELDS, ...read));
  return numbers;
}

/** Each reply as the pool reads it, copied before the next is asked for. */
function all(replies: BatchReplies | null): ReadReply[] | undefined {
  if (replies === null) return undefined;
  return Array.from({ length: replies.length }, (_, index) => structuredClone(replies.at(index)));
}

function entered(id: number): ReadReply {
  return { id, durationMs: 3, entered: true, insideInode: 7, afterInode: 1, poisoned: false, heldFds: [5, 6], outcome: { ok: true, at: 0, text: 0 } };
}

test('a plain reply stands for a held, clean read', () => {
  assert.equal(plainReply(plain([4, 1.5, 28, -1]), 0), {
    id: 4, durationMs: 1.5, entered: false, insideInode: 0, afterInode: 0, poisoned: false, heldFds: null, outcome: { ok: true, at: 28, text: -1 },
  });
});

test('plain and other replies merge in the order of the reads', () => {
  const merged = all(batchReplies({ replies: [entered(2)], plain: plain([1, 1, 0, -1], [3, 1, 40, 0]) }, [1, 2, 3]));
  assert.equal(merged?.map((reply) => [reply.id, reply.entered]), [[1, false], [2, true], [3, false]]);
  assert.equal(merged?.[2]?.outcome, { ok: true, at: 40, text: 0 });
});

test('a worker that sends objects only (no plain numbers) still reads', () => {
  assert.equal(all(batchReplies({ replies: [entered(1), entered(2)] }, [1, 2]))?.map((reply) => reply.id), [1, 2]);
});

test('plain replies are shown through one object: no object per read', () => {
  const replies = batchReplies({ replies: [entered(2)], plain: plain([1, 1, 0, -1], [3, 2, 40, 0]) }, [1, 2, 3])!;
  const first = replies.at(0);
  assert.is(replies.at(2), first, 'the same object');
  assert.equal([first.id, first.durationMs, first.outcome], [3, 2, { ok: true, at: 40, text: 0 }], 'rewritten with the later reply');
  assert.equal(replies.at(1), entered(2), 'an object reply as it came');
});

test('a reply missing, one too many, out of order or of another read: null (the worker is in doubt)', () => {
  assert.is(batchReplies({ replies: [], plain: plain([1, 1, 0, -1]) }, [1, 2]), null, 'missing');
  assert.is(batchReplies({ replies: [entered(2)], plain: plain([1, 1, 0, -1]) }, [1]), null, 'one too many');
  assert.is(batchReplies({ replies: [], plain: plain([2, 1, 0, -1], [1, 1, 0, -1]) }, [1, 2]), null, 'out of order');
  assert.is(batchReplies({ replies: [entered(9)], plain: plain([1, 1, 0, -1]) }, [1, 2]), null, 'another read');
  assert.is(batchReplies({ replies: [], plain: new Float64Array(3) }, [0]), null, 'a partial record');
});

test('a batch request crosses as numbers and paths, and reads back read by read, holds and byte paths included', () => {
  const reads = new Float64Array(3 * READ_FIELDS);
  const paths: (string | Uint8Array)[] = [];
  writeReadRequest(reads, paths, 0, 7, 4026532001, true, '/run/netns/a');
  writeReadRequest(reads, paths, 1, 8, 4026532999, false, Uint8Array.from([0x2f, 0x61, 0xff]));
  writeReadRequest(reads, paths, 2, 9, 1, true, '/run/netns/c');
  const batch = structuredClone({ kind: 'batch' as const, reads, paths });
  assert.is(readCount(batch), 3);
  const into: ReadRequest = { id: 0, path: '', inode: 0, hold: false };
  const seen = [0, 1, 2].map((index) => ({ ...readRequestAt(batch, index, into) }));
  assert.equal(seen, [
    { id: 7, path: '/run/netns/a', inode: 4026532001, hold: true },
    { id: 8, path: Uint8Array.from([0x2f, 0x61, 0xff]), inode: 4026532999, hold: false },
    { id: 9, path: '/run/netns/c', inode: 1, hold: true },
  ]);
  assert.is(readRequestAt(batch, 1, into), into, 'one object for the whole batch');
  assert.equal([0, 1, 2].map((index) => readInodeAt(batch, index)), [4026532001, 4026532999, 1]);
});

test.run();
