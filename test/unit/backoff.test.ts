import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, failureClass, isRetryable, nextRetry, parseRetryAfter, rejectionVerdict, type BackoffPolicy } from '../../shared/backoff.js';

const POLICY: BackoffPolicy = { minDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5, minAttemptMs: 50, maxRetryAfterMs: 300_000 };
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const low = () => 0;
const high = () => 0.999999;

const test = suite('backoff');

test('network errors, 5xx and 429 retry; other 4xx and 2xx/3xx do not', () => {
  assert.ok(isRetryable({ kind: 'network' }));
  for (const status of [500, 502, 503, 504, 429]) assert.ok(isRetryable({ kind: 'status', status }), String(status));
  for (const status of [400, 401, 403, 404, 405, 409, 413, 301]) assert.not.ok(isRetryable({ kind: 'status', status }), String(status));
  assert.not.ok(isRetryable({ kind: 'tls' }), 'a refused certificate stays refused');
});

test('400 is never retried, however much time is left', () => {
  const decision = nextRetry({ attempt: 1, failure: { kind: 'status', status: 400 }, nowMs: NOW, deadlineMs: NOW + 3_600_000, policy: POLICY, random: low });
  assert.equal(decision, { retry: false, reason: 'not-retryable' });
});

test('delay doubles per attempt up to the cap, jitter drawing from its share only', () => {
  const noJitter = { ...POLICY, jitter: 0 };
  assert.equal([1, 2, 3, 4, 5, 40].map((attempt) => backoffDelay(attempt, noJitter, high)), [100, 200, 400, 800, 1000, 1000]);
  assert.is(backoffDelay(3, POLICY, low), 200);
  assert.is(backoffDelay(3, POLICY, high), 400);
  assert.is(backoffDelay(3, POLICY, () => 0.5), 300);
});

test('a retry that would end past the deadline is refused', () => {
  const failure = { kind: 'network' } as const;
  assert.equal(nextRetry({ attempt: 1, failure, nowMs: NOW, deadlineMs: NOW + 1_000, policy: POLICY, random: low }), { retry: true, delayMs: 50 });
  // 50 ms wait + 50 ms minimum attempt = 100 > 99 left.
  assert.equal(nextRetry({ attempt: 1, failure, nowMs: NOW, deadlineMs: NOW + 99, policy: POLICY, random: low }), { retry: false, reason: 'deadline' });
});

test('Retry-After in seconds is honoured over the computed delay', () => {
  const failure = { kind: 'status', status: 429, retryAfter: '2' } as const;
  assert.equal(nextRetry({ attempt: 1, failure, nowMs: NOW, deadlineMs: NOW + 10_000, policy: POLICY, random: low }), { retry: true, delayMs: 2_000 });
  // Beyond the cap of computed delays, still honoured when the deadline allows it.
  const long = { kind: 'status', status: 503, retryAfter: '5' } as const;
  assert.equal(nextRetry({ attempt: 1, failure: long, nowMs: NOW, deadlineMs: NOW + 10_000, policy: POLICY, random: low }), { retry: true, delayMs: 5_000 });
  assert.equal(nextRetry({ attempt: 1, failure: long, nowMs: NOW, deadlineMs: NOW + 4_000, policy: POLICY, random: low }), { retry: false, reason: 'deadline' });
});

test('Retry-After as an HTTP date', () => {
  const at = new Date(NOW + 3_000).toUTCString();
  assert.is(parseRetryAfter(at, NOW), 3_000);
  assert.is(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW), 0);
  const decision = nextRetry({ attempt: 2, failure: { kind: 'status', status: 503, retryAfter: at }, nowMs: NOW, deadlineMs: NOW + 5_000, policy: POLICY, random: low });
  assert.equal(decision, { retry: true, delayMs: 3_000 });
});

test('unreadable Retry-After falls back to the computed delay', () => {
  for (const value of [null, '', '  ', '-1', 'soon', 'Mon, 99 Foo 2026']) assert.is(parseRetryAfter(value, NOW), null, String(value));
  assert.is(parseRetryAfter(' 1.5 ', NOW), 1_500);
  const decision = nextRetry({ attempt: 2, failure: { kind: 'status', status: 429, retryAfter: 'soon' }, nowMs: NOW, deadlineMs: NOW + 5_000, policy: POLICY, random: low });
  assert.equal(decision, { retry: true, delayMs: 100 });
});

test('attempt must be a whole number from 1', () => {
  assert.throws(() => nextRetry({ attempt: 0, failure: { kind: 'network' }, nowMs: NOW, deadlineMs: NOW + 5_000, policy: POLICY, random: low }), /attempt must be/);
});

test('remote_write drops only what the receiver calls malformed, splits a 413, keeps everything else', () => {
  for (const status of [400, 409, 415]) assert.is(rejectionVerdict({ kind: 'status', status }), 'drop', String(status));
  assert.is(rejectionVerdict({ kind: 'status', status: 413 }), 'split');
  for (const status of [401, 403, 404, 405, 407, 429, 500, 503]) assert.is(rejectionVerdict({ kind: 'status', status }), 'keep', String(status));
  assert.is(rejectionVerdict({ kind: 'network', code: 'ECONNREFUSED' }), 'keep');
  assert.is(rejectionVerdict({ kind: 'tls', code: 'CERT_HAS_EXPIRED' }), 'keep');
});

test('a failure\'s class is its status or code, never its text', () => {
  assert.is(failureClass({ kind: 'status', status: 503, retryAfter: '7' }), 'HTTP 503');
  assert.is(failureClass({ kind: 'network', code: 'ETIMEDOUT' }), 'network ETIMEDOUT');
  assert.is(failureClass({ kind: 'tls' }), 'tls unknown');
});

/** The ceiling a Retry-After gets by default (push.*.max_retry_after). */
const FIVE_MINUTES = 300_000;
const CAPPED: BackoffPolicy = { ...POLICY, maxRetryAfterMs: FIVE_MINUTES };
const FAR = NOW + 7 * 86_400_000;

test('Retry-After has a ceiling of its own: a day, an absurd number or a far date waits at most max_retry_after', () => {
  const day = new Date(NOW + 86_400_000).toUTCString();
  for (const value of ['86400', '9999999999999', day]) {
    for (const random of [low, high, () => 0.5]) {
      const decision = nextRetry({ attempt: 1, failure: { kind: 'status', status: 429, retryAfter: value }, nowMs: NOW, deadlineMs: FAR, policy: CAPPED, random });
      assert.ok(decision.retry, value);
      const { delayMs } = decision as { delayMs: number };
      // Jittered below the ceiling, never past it: a fleet capped together does not come back together.
      assert.ok(delayMs <= FIVE_MINUTES && delayMs >= FIVE_MINUTES * 0.8, `${value}: waited ${delayMs} ms`);
    }
  }
});

test('Retry-After below the ceiling: never earlier than asked, spread a little later so a fleet told "60" does not return in one second', () => {
  const failure = { kind: 'status', status: 429, retryAfter: '60' } as const;
  const delays = [low, () => 0.5, high].map((random) => (nextRetry({ attempt: 1, failure, nowMs: NOW, deadlineMs: FAR, policy: CAPPED, random }) as { delayMs: number }).delayMs);
  assert.is(delays[0], 60_000);
  assert.ok(delays[1]! > 60_000 && delays[2]! > delays[1]!, String(delays));
  assert.ok(delays[2]! <= 72_000, String(delays));
});

test.run();
