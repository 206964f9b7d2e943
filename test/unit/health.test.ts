import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateHealth } from '../../agent/health.js';
import type { TargetState } from '../../agent/targets/target.js';

const test = suite('health evaluation');
const now = 1_700_000_100_000;
const target = (overrides: Partial<TargetState>): TargetState => ({
  name: 'pushgateway', lastSuccessMs: null, lastAttemptMs: null, lastError: null, consecutiveFailures: 0, ...overrides,
});

test('ok while every target pushed within max_age', () => {
  const report = evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [target({ lastSuccessMs: now - 10_000, lastAttemptMs: now - 10_000 })], lastCycle: null });
  assert.is(report.status, 'ok');
  assert.is(report.targets[0]!.healthy, true);
  assert.is(report.max_age_seconds, 45);
});

test('failing when one target is older than max_age, even if another is fresh', () => {
  const report = evaluateHealth({
    nowMs: now,
    maxAgeMs: 45_000,
    targets: [
      target({ lastSuccessMs: now - 1_000, lastAttemptMs: now - 1_000 }),
      target({ name: 'remote_write', lastSuccessMs: now - 60_000, lastAttemptMs: now - 1_000, lastError: 'HTTP 503', consecutiveFailures: 4 }),
    ],
    lastCycle: null,
  });
  assert.is(report.status, 'failing');
  assert.equal(report.targets.map((t) => t.healthy), [true, false]);
  assert.is(report.targets[1]!.last_error, 'HTTP 503');
  assert.is(report.targets[1]!.consecutive_failures, 4);
});

test('starting before the first attempt; failing once attempts have failed', () => {
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [target({})], lastCycle: null }).status, 'starting');
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [target({ lastAttemptMs: now - 1 })], lastCycle: null }).status, 'failing');
});

test('pull mode: healthy while collections are recent', () => {
  const cycle = { startedMs: now - 5_000, durationMs: 200, namespacesFound: 3, namespacesFailed: 1 };
  const report = evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [], lastCycle: cycle });
  assert.is(report.status, 'ok');
  assert.equal(report.last_cycle, { started: new Date(now - 5_000).toISOString(), duration_seconds: 0.2, namespaces_found: 3, namespaces_failed: 1 });
  assert.is(evaluateHealth({ nowMs: now + 60_000, maxAgeMs: 45_000, targets: [], lastCycle: cycle }).status, 'failing');
});

test('the reader in use is in the report', () => {
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [], lastCycle: null, reader: 'setns' }).reader, 'setns');
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, targets: [], lastCycle: null, reader: 'nsenter' }).reader, 'nsenter');
});

test.run();
