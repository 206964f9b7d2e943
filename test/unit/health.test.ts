import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateHealth, type CycleSummary } from '../../agent/health.js';
import type { TargetState } from '../../agent/targets/target.js';

const test = suite('health evaluation');

const now = 1_700_000_100_000;
const target = (overrides: Partial<TargetState>): TargetState => ({
  name: 'pushgateway', lastSuccessMs: null, lastAttemptMs: null, lastError: null, consecutiveFailures: 0, ...overrides,
});

/** A cycle summary as the loop keeps it: `failures` by reason, each with an example text. */
function summary(input: { found: number; failures?: { reason: string; count: number; example?: string }[]; unlistedDirs?: { dir: string; code: string }[] }): CycleSummary {
  const failures = (input.failures ?? []).map((failure) => ({ example: `${failure.reason} error`, ...failure }));
  return {
    startedMs: now - 5_000,
    durationMs: 200,
    namespacesFound: input.found,
    namespacesFailed: failures.reduce((sum, failure) => sum + failure.count, 0),
    namespacesVanished: failures.find((failure) => failure.reason === 'vanished')?.count ?? 0,
    failures,
    unlistedDirs: input.unlistedDirs ?? [],
  };
}
const pushed = target({ lastSuccessMs: now - 1_000, lastAttemptMs: now - 1_000 });
const health = (lastCycle: CycleSummary, targets: TargetState[] = [pushed], maxFailedRatio = 0.5) =>
  evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio, targets, lastCycle });

test('ok while every target pushed within max_age', () => {
  const report = evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [target({ lastSuccessMs: now - 10_000, lastAttemptMs: now - 10_000 })], lastCycle: null });
  assert.is(report.status, 'ok');
  assert.is(report.targets[0]!.healthy, true);
  assert.is(report.max_age_seconds, 45);
});

test('failing when one target is older than max_age, even if another is fresh', () => {
  const report = evaluateHealth({
    nowMs: now,
    maxAgeMs: 45_000, maxFailedRatio: 0.5,
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

test('starting before the first attempt and while it is in flight; failing once attempts have failed', () => {
  const status = (state: Partial<TargetState>) => evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [target(state)], lastCycle: null }).status;
  assert.is(status({}), 'starting');
  assert.is(status({ lastAttemptMs: now - 1 }), 'starting');
  assert.is(status({ lastAttemptMs: now - 1, lastError: 'HTTP 503', consecutiveFailures: 1 }), 'failing');
});

test('pull mode: healthy while collections are recent', () => {
  const cycle = summary({ found: 3, failures: [{ reason: 'exit', count: 1 }] });
  const report = evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [], lastCycle: cycle });
  assert.is(report.status, 'ok');
  assert.equal(report.last_cycle, { started: new Date(now - 5_000).toISOString(), duration_seconds: 0.2, namespaces_found: 3, namespaces_failed: 1 });
  assert.is(evaluateHealth({ nowMs: now + 60_000, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [], lastCycle: cycle }).status, 'failing');
});

test('a node that read none of the namespaces it found is failing, though every push lands; the JSON says why', () => {
  const report = health(summary({ found: 1019, failures: [{ reason: 'permission', count: 1019 }] }));
  assert.is(report.status, 'failing');
  assert.equal(report.problems, ['0 of 1,019 namespaces read: operation not permitted — run as root or with CAP_SYS_ADMIN']);
  assert.is(health(summary({ found: 1019, failures: [{ reason: 'permission', count: 1019 }] }), []).status, 'failing', 'in pull mode too');
});

test('failing when the failed share passes health.max_failed_ratio; namespaces deleted during the read do not count', () => {
  assert.is(health(summary({ found: 10, failures: [{ reason: 'timeout', count: 5 }] })).status, 'ok', 'half is not more than 0.5');
  const over = health(summary({ found: 10, failures: [{ reason: 'timeout', count: 6 }] }));
  assert.is(over.status, 'failing');
  assert.equal(over.problems, ['6 of 10 namespaces failed, more than health.max_failed_ratio (0.5): reads timed out — raise read_timeout or lower threads']);
  assert.is(health(summary({ found: 10, failures: [{ reason: 'timeout', count: 6 }] }), [pushed], 1).status, 'ok', 'a ratio of 1 turns the rule off');
  assert.is(health(summary({ found: 10, failures: [{ reason: 'vanished', count: 9 }] })).status, 'ok', 'churn, not a fault');
  assert.is(health(summary({ found: 10, failures: [{ reason: 'vanished', count: 10 }] })).status, 'ok');
  assert.is(health(summary({ found: 0 })).status, 'ok', 'a node without namespaces is healthy');
});

test('a folder that could not be listed is failing, with the folder and the error', () => {
  const report = health(summary({ found: 2, unlistedDirs: [{ dir: '/var/run/netns-loop', code: 'ELOOP' }] }));
  assert.is(report.status, 'failing');
  assert.match(report.problems[0]!, /^cannot list netns_dirs folder \/var\/run\/netns-loop: ELOOP \(a symbolic link loop\); the cycle was not pushed/);
});

test('the reader in use is in the report', () => {
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [], lastCycle: null, reader: 'setns' }).reader, 'setns');
  assert.is(evaluateHealth({ nowMs: now, maxAgeMs: 45_000, maxFailedRatio: 0.5, targets: [], lastCycle: null, reader: 'nsenter' }).reader, 'nsenter');
});

test.run();
