import type { TargetState } from './targets/target.js';

export interface CycleSummary {
  startedMs: number;
  durationMs: number;
  namespacesFound: number;
  namespacesFailed: number;
}

export interface HealthReport {
  status: 'ok' | 'failing' | 'starting';
  /** The namespace reader doing the reading (reader: auto settles on one at start). */
  reader?: 'nsenter' | 'setns';
  max_age_seconds: number;
  targets: {
    name: string;
    healthy: boolean;
    last_success: string | null;
    last_attempt: string | null;
    last_error: string | null;
    consecutive_failures: number;
  }[];
  last_cycle: { started: string; duration_seconds: number; namespaces_found: number; namespaces_failed: number } | null;
}

/**
 * Healthy while every target's last successful push is younger than `maxAgeMs`; with no push target
 * (pull mode), while the last collection is. Pure: the HTTP server renders what this returns.
 */
export function evaluateHealth(input: {
  nowMs: number;
  maxAgeMs: number;
  targets: readonly TargetState[];
  lastCycle: CycleSummary | null;
  reader?: 'nsenter' | 'setns';
}): HealthReport {
  const fresh = (ms: number | null) => ms !== null && input.nowMs - ms <= input.maxAgeMs;
  const targets = input.targets.map((state) => ({
    name: state.name,
    healthy: fresh(state.lastSuccessMs),
    last_success: iso(state.lastSuccessMs),
    last_attempt: iso(state.lastAttemptMs),
    last_error: state.lastError,
    consecutive_failures: state.consecutiveFailures,
  }));
  const cycle = input.lastCycle;
  const lastCycleDone = cycle === null ? null : cycle.startedMs + cycle.durationMs;
  let status: HealthReport['status'];
  if (targets.length > 0) {
    const neverTried = input.targets.every((state) => state.lastAttemptMs === null);
    status = targets.every((target) => target.healthy) ? 'ok' : neverTried ? 'starting' : 'failing';
  } else {
    status = fresh(lastCycleDone) ? 'ok' : cycle === null ? 'starting' : 'failing';
  }
  return {
    status,
    ...(input.reader === undefined ? {} : { reader: input.reader }),
    max_age_seconds: input.maxAgeMs / 1000,
    targets,
    last_cycle: cycle === null ? null : {
      started: new Date(cycle.startedMs).toISOString(),
      duration_seconds: cycle.durationMs / 1000,
      namespaces_found: cycle.namespacesFound,
      namespaces_failed: cycle.namespacesFailed,
    },
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
