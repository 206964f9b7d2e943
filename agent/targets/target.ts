import type { ExtraMetric } from '../../shared/metrics/families.js';
import type { Exposition } from '../../shared/metrics/exposition.js';
import type { SeriesFamily } from '../../shared/metrics/familyTable.js';
import type { Snapshot } from '../../shared/snapshot.js';

/** What a cycle hands to every push target. */
export interface CycleOutput {
  snapshot: Snapshot;
  /** For the text exposition. */
  registry: Exposition;
  /** The same figures as families (shared/metrics/families.ts), for the series of remote_write. */
  families: readonly SeriesFamily[];
}

export interface PushOutcome {
  ok: boolean;
  durationMs: number;
  /** HTTP attempts made for this push, retries included. */
  attempts: number;
  /** Error text without secrets, null on success. */
  error: string | null;
}

/** A target's state as /healthz shows it: never holds a secret. */
export interface TargetState {
  name: string;
  lastSuccessMs: number | null;
  lastAttemptMs: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** No request before this time (epoch ms): a receiver's Retry-After, capped; null when none is pending. */
  nextAttemptMs?: number | null;
}

/**
 * A push destination (Pushgateway, remote_write). Targets fail independently: `push` never throws,
 * and finishes (retries included) before `deadlineMs` (epoch ms) so it never runs into the next cycle.
 */
export interface PushTarget {
  readonly name: string;
  /** Builds what start() would, without side effects (reads TLS files): for --check-config. Throws. */
  validate(): void;
  start(): Promise<void>;
  push(cycle: CycleOutput, deadlineMs: number): Promise<PushOutcome>;
  state(): TargetState;
  /** The target's own figures (buffer use, drops), added to the self-metrics. */
  selfMetrics(): ExtraMetric[];
  /** Flushes or deletes what the target's config asks for on shutdown, within `deadlineMs`. */
  stop(deadlineMs: number): Promise<void>;
}

/**
 * What a target's stop() keeps back from its deadline for the work after its last request (writing
 * the buffer, closing sockets, the log line): shutdown waits for each part only until the deadline,
 * and a part still busy then ends the process the hard way.
 */
export const STOP_LOCAL_WORK_MS = 300;
