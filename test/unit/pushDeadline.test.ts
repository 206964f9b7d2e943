import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_PUSH_MS, pushDeadlineMs } from '../../agent/loop.js';

const test = suite('push deadline');

test('a quick collection: the push may run until the next cycle is due', () => {
  assert.is(pushDeadlineMs({ cycleStartMs: 0, intervalMs: 15_000, nowMs: 400 }), 15_000);
});

test('a collection that took most of the interval still leaves the push its minimum', () => {
  // The old rule (start + interval - duration) had already passed here: every push failed.
  assert.is(pushDeadlineMs({ cycleStartMs: 0, intervalMs: 15_000, nowMs: 12_000 }), 12_000 + MIN_PUSH_MS);
});

test('an overrun cycle still pushes; a short interval bounds the minimum', () => {
  assert.is(pushDeadlineMs({ cycleStartMs: 0, intervalMs: 15_000, nowMs: 40_000 }), 40_000 + MIN_PUSH_MS);
  assert.is(pushDeadlineMs({ cycleStartMs: 0, intervalMs: 1_000, nowMs: 2_600 }), 3_600);
});

test.run();
