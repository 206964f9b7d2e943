import type { Snapshot } from '../shared/snapshot.js';
import type { TargetState } from './targets/target.js';

export interface CycleSummary {
  startedMs: number;
  durationMs: number;
  namespacesFound: number;
  namespacesFailed: number;
  /** Failed because the namespace was deleted during its read: churn on the node, not a fault. */
  namespacesVanished: number;
  /** Failures by reason, the most common first, each with one error text as an example. */
  failures: { reason: string; count: number; example: string }[];
  /** netns_dirs folders that could not be listed: that cycle was not pushed. */
  unlistedDirs: readonly { dir: string; code: string }[];
}

export interface HealthReport {
  status: 'ok' | 'failing' | 'starting';
  /** The namespace reader doing the reading (reader: auto settles on one at start). */
  reader?: 'nsenter' | 'setns';
  /**
   * The setns reader's held namespaces: read without entering them; `limit` is what the descriptor
   * budget allows, and the namespaces past it are entered at every cycle.
   */
  held_namespaces?: { held: number; limit: number };
  max_age_seconds: number;
  /** Why the status is not ok, in words an operator can act on; empty when ok. */
  problems: string[];
  targets: {
    name: string;
    healthy: boolean;
    last_success: string | null;
    last_attempt: string | null;
    last_error: string | null;
    consecutive_failures: number;
    /** When a receiver's Retry-After (capped by max_retry_after) lets the next push go; null when none is pending. */
    next_attempt: string | null;
  }[];
  last_cycle: { started: string; duration_seconds: number; namespaces_found: number; namespaces_failed: number } | null;
}

/**
 * Healthy while every target's last successful push is younger than `maxAgeMs` (with no push
 * target, pull mode, while the last collection is) and the last collection read what it found.
 * Pure: the HTTP server renders what this returns.
 */
export function evaluateHealth(input: {
  nowMs: number;
  maxAgeMs: number;
  maxFailedRatio: number;
  targets: readonly TargetState[];
  lastCycle: CycleSummary | null;
  reader?: 'nsenter' | 'setns';
  held?: { held: number; limit: number } | null;
}): HealthReport {
  const fresh = (ms: number | null) => ms !== null && input.nowMs - ms <= input.maxAgeMs;
  const targets = input.targets.map((state) => ({
    name: state.name,
    healthy: fresh(state.lastSuccessMs),
    last_success: iso(state.lastSuccessMs),
    last_attempt: iso(state.lastAttemptMs),
    last_error: state.lastError,
    consecutive_failures: state.consecutiveFailures,
    next_attempt: state.nextAttemptMs != null && state.nextAttemptMs > input.nowMs ? iso(state.nextAttemptMs) : null,
  }));
  const cycle = input.lastCycle;
  const lastCycleDone = cycle === null ? null : cycle.startedMs + cycle.durationMs;
  const problems = cycle === null ? [] : collectionProblems(cycle, input.maxFailedRatio);
  let status: HealthReport['status'];
  if (targets.length > 0) {
    const neverTried = input.targets.every((state) => state.lastAttemptMs === null);
    // A first push still in flight has neither succeeded nor failed: starting, not a problem yet.
    const firstPending = (t: (typeof targets)[number]) => t.last_success === null && t.consecutive_failures === 0 && t.last_error === null;
    for (const target of targets.filter((t) => !t.healthy && !neverTried && !firstPending(t))) {
      problems.push(`no successful push to ${target.name} within max_age (${input.maxAgeMs / 1000} s)${target.last_error === null ? '' : `: ${target.last_error}`}`);
    }
    status = problems.length > 0 ? 'failing' : targets.every((target) => target.healthy) ? 'ok' : 'starting';
  } else {
    if (cycle !== null && !fresh(lastCycleDone)) problems.push(`no collection finished within max_age (${input.maxAgeMs / 1000} s)`);
    status = cycle === null ? 'starting' : problems.length === 0 ? 'ok' : 'failing';
  }
  return {
    status,
    ...(input.reader === undefined ? {} : { reader: input.reader }),
    ...(input.held === undefined || input.held === null ? {} : { held_namespaces: { held: input.held.held, limit: input.held.limit } }),
    max_age_seconds: input.maxAgeMs / 1000,
    problems,
    targets,
    last_cycle: cycle === null ? null : {
      started: new Date(cycle.startedMs).toISOString(),
      duration_seconds: cycle.durationMs / 1000,
      namespaces_found: cycle.namespacesFound,
      namespaces_failed: cycle.namespacesFailed,
    },
  };
}

/** What health needs to know of a cycle, without holding its samples. */
export function summariseCycle(snapshot: Snapshot): CycleSummary {
  const failures = new Map<string, { reason: string; count: number; example: string }>();
  // Indexed: code run once a cycle is seldom optimised, and a for-of iterator there made an object per namespace.
  for (let index = 0; index < snapshot.results.length; index++) {
    const result = snapshot.results[index]!;
    if (result.ok) continue;
    const entry = failures.get(result.reason) ?? { reason: result.reason, count: 0, example: result.message };
    entry.count += 1;
    failures.set(result.reason, entry);
  }
  const sorted = [...failures.values()].sort((a, b) => b.count - a.count);
  return {
    startedMs: snapshot.timestampMs,
    durationMs: snapshot.durationMs,
    namespacesFound: snapshot.results.length,
    namespacesFailed: sorted.reduce((sum, failure) => sum + failure.count, 0),
    namespacesVanished: failures.get('vanished')?.count ?? 0,
    failures: sorted,
    unlistedDirs: snapshot.unlistedDirs,
  };
}

/**
 * The collection's own problems: a folder that could not be listed, no namespace read of those
 * found, or more than `maxFailedRatio` of them failed. Namespaces deleted during their read are
 * churn and count neither way. Each text names the cause and, where there is one, the fix.
 */
export function collectionProblems(cycle: CycleSummary, maxFailedRatio: number): string[] {
  const problems = cycle.unlistedDirs.map(({ dir, code }) => `cannot list netns_dirs folder ${dir}: ${code}${LIST_HINTS[code] ?? ''}; the cycle was not pushed, the last good one stays`);
  const readable = cycle.namespacesFound - cycle.namespacesVanished;
  const failed = cycle.namespacesFailed - cycle.namespacesVanished;
  const main = cycle.failures.find((failure) => failure.reason !== 'vanished');
  if (failed <= 0 || main === undefined) return problems;
  if (failed === readable) {
    problems.push(`0 of ${count(cycle.namespacesFound)} namespaces read: ${cause(main)}`);
  } else if (failed / readable > maxFailedRatio) {
    problems.push(`${count(failed)} of ${count(readable)} namespaces failed, more than health.max_failed_ratio (${maxFailedRatio}): ${cause(main)}`);
  }
  return problems;
}

const LIST_HINTS: Record<string, string> = {
  ELOOP: ' (a symbolic link loop)',
  EACCES: ' (permission denied: run as root)',
  EMFILE: ' (too many open files: raise LimitNOFILE)',
  ENFILE: ' (the system is out of file handles)',
  EIO: ' (I/O error)',
  ENOTDIR: ' (not a folder: fix netns_dirs)',
};

function cause(failure: { reason: string; example: string }): string {
  switch (failure.reason) {
    case 'permission': return 'operation not permitted — run as root or with CAP_SYS_ADMIN';
    case 'timeout': return 'reads timed out — raise read_timeout or lower threads';
    case 'spawn': return `${failure.example} — install nsenter (util-linux) and ip (iproute2)`;
    default: return `${failure.reason}: ${failure.example}`;
  }
}

/** 12345 → "12,345", without Intl: the first Intl call loads ICU's locale data (6 MB, kept). */
function count(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
