import type { SelfStats } from '../shared/metrics/families.js';
import { collectorErrors, DISCOVERY_ERROR_REASONS, READ_ERROR_REASONS, type Snapshot } from '../shared/snapshot.js';
import type { PushOutcome, PushTarget } from './targets/target.js';

/** Keeps the agent's cumulative figures across cycles; each cycle's registry renders a copy. */
export class SelfStatsRecorder {
  #cycles = 0;
  #cyclesOverrun = 0;
  #pushesOverrun = 0;
  /** Every reason starts at 0, so rate() and alerts see a series before the first failure. */
  readonly #readErrors: Record<string, number> = Object.fromEntries(READ_ERROR_REASONS.map((reason) => [reason, 0]));
  readonly #dirListErrors: Record<string, number> = {};
  readonly #discoveryErrors: Record<string, number> = Object.fromEntries(DISCOVERY_ERROR_REASONS.map((reason) => [reason, 0]));
  readonly #pushes: SelfStats['pushes'] = {};

  /** `netnsDirs`: the configured folders, each with its series from the first cycle on. */
  recordCycle(snapshot: Snapshot, netnsDirs: readonly string[]): void {
    this.#cycles += 1;
    for (const dir of netnsDirs) this.#dirListErrors[dir] ??= 0;
    for (const { dir } of snapshot.unlistedDirs) this.#dirListErrors[dir] = (this.#dirListErrors[dir] ?? 0) + 1;
    for (const { reason } of snapshot.discoveryErrors) if (reason !== undefined) this.#discoveryErrors[reason] = (this.#discoveryErrors[reason] ?? 0) + 1;
    // Indexed: code run once a cycle is seldom optimised, and a for-of iterator there made an object per namespace.
    for (let index = 0; index < snapshot.results.length; index++) {
      const result = snapshot.results[index]!;
      if (!result.ok) this.#readErrors[result.reason] = (this.#readErrors[result.reason] ?? 0) + 1;
      else {
        this.#readErrors.proc_file = (this.#readErrors.proc_file ?? 0) + result.sample.procErrors.length;
        this.#readErrors.collector_file = (this.#readErrors.collector_file ?? 0) + collectorErrors(result.sample).length;
      }
    }
  }

  /** Discoveries at start (the reader's self-test) that failed since the last call. */
  recordDiscoveryErrorsAtStart(count: number): void {
    this.#discoveryErrors.start = (this.#discoveryErrors.start ?? 0) + count;
  }

  recordOverrun(): void {
    this.#cyclesOverrun += 1;
  }

  recordPushOverrun(): void {
    this.#pushesOverrun += 1;
  }

  recordPush(target: string, outcome: PushOutcome, finishedMs: number): void {
    const push = (this.#pushes[target] ??= { attempts: 0, failures: 0, lastDurationMs: null, lastSuccessMs: null });
    push.attempts += 1;
    push.lastDurationMs = outcome.durationMs;
    if (outcome.ok) push.lastSuccessMs = finishedMs;
    else push.failures += 1;
  }

  snapshot(targets: readonly PushTarget[]): SelfStats {
    // Every target has its series from the first cycle on, before its first push.
    for (const target of targets) this.#pushes[target.name] ??= { attempts: 0, failures: 0, lastDurationMs: null, lastSuccessMs: null };
    return {
      cycles: this.#cycles,
      cyclesOverrun: this.#cyclesOverrun,
      pushesOverrun: this.#pushesOverrun,
      readErrors: { ...this.#readErrors },
      dirListErrors: { ...this.#dirListErrors },
      discoveryErrors: { ...this.#discoveryErrors },
      pushes: structuredClone(this.#pushes),
      extra: targets.flatMap((target) => target.selfMetrics()),
    };
  }
}
