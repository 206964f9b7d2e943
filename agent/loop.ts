import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from '../shared/config/types.js';
import { buildRegistry, type BuildInfo } from '../shared/metrics/registry.js';
import type { Snapshot } from '../shared/types.js';
import { collectSnapshot } from './collect.js';
import type { CycleSummary } from './health.js';
import type { Logger } from './log.js';
import type { NamespaceReader } from './readers/reader.js';
import { SelfStatsRecorder } from './selfStats.js';
import type { PushOutcome, PushTarget } from './targets/target.js';

export interface AgentParts {
  config: Config;
  reader: NamespaceReader;
  targets: PushTarget[];
}

export interface CycleResult {
  snapshot: Snapshot;
  registry: Registry;
  pushes: { target: string; outcome: PushOutcome }[];
}

/**
 * Owns the schedule: cycles never overlap, the interval is measured start to start, a slow cycle
 * delays the next and is counted, a random splay and per-cycle jitter keep a fleet out of step.
 * A failing part is logged and counted; only main decides to exit.
 */
export class AgentLoop {
  #parts: AgentParts;
  readonly #logger: Logger;
  readonly #build: BuildInfo;
  readonly #procRoot: string;
  readonly #stats = new SelfStatsRecorder();
  readonly #processRegistry = new Registry();
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<CycleResult> | null = null;
  #stopping = false;
  #lastRegistry: Registry | null = null;
  #lastCycle: CycleSummary | null = null;
  #pending: AgentParts | null = null;

  constructor(parts: AgentParts, deps: { logger: Logger; build: BuildInfo; procRoot?: string }) {
    this.#parts = parts;
    this.#logger = deps.logger;
    this.#build = deps.build;
    this.#procRoot = deps.procRoot ?? '/proc';
    collectDefaultMetrics({ register: this.#processRegistry, prefix: 'netns_exporter_' });
  }

  get config(): Config {
    return this.#parts.config;
  }

  get reader(): NamespaceReader {
    return this.#parts.reader;
  }

  get targets(): readonly PushTarget[] {
    return this.#parts.targets;
  }

  get lastRegistry(): Registry | null {
    return this.#lastRegistry;
  }

  get lastCycle(): CycleSummary | null {
    return this.#lastCycle;
  }

  /** Starts the schedule: the first cycle after a random splay. */
  start(): void {
    const splay = Math.random() * this.#parts.config.splayMs;
    this.#logger.info({ splay_ms: Math.round(splay), interval_ms: this.#parts.config.intervalMs }, 'agent started');
    this.#schedule(splay);
  }

  /** New parts take effect at the start of the next cycle, never in the middle of one. */
  replaceParts(parts: AgentParts): void {
    this.#pending = parts;
  }

  /**
   * One collection, then the registry is built and kept for /metrics, then (when `push`) every
   * target pushes. `processMetrics` adds prom-client's process figures when the config allows.
   */
  async runCycle(push: boolean, processMetrics = true): Promise<CycleResult> {
    const { config, reader, targets } = this.#parts;
    const snapshot = await collectSnapshot({
      discovery: { netnsDirs: config.netnsDirs, filter: config.namespacesFilter, procRoot: this.#procRoot },
      reader,
      deviceFilter: config.deviceFilter,
    });
    this.#stats.recordCycle(snapshot);
    this.#logSnapshot(snapshot);
    const cycleRegistry = buildRegistry(snapshot, config, this.#build, { ...this.#stats.snapshot(targets), reader: reader.inUse });
    const registry = processMetrics && config.selfMetrics.process ? Registry.merge([cycleRegistry, this.#processRegistry]) : cycleRegistry;
    this.#lastRegistry = registry;
    const failed = snapshot.results.filter((result) => !result.ok).length;
    this.#lastCycle = { startedMs: snapshot.timestampMs, durationMs: snapshot.durationMs, namespacesFound: snapshot.results.length, namespacesFailed: failed };
    const pushes = push ? await this.#pushAll(snapshot, registry) : [];
    return { snapshot, registry, pushes };
  }

  /** Stops scheduling, lets the cycle in flight finish (bounded), then stops the targets. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const inFlight = this.#inFlight;
    if (inFlight !== null) {
      await Promise.race([inFlight.catch(() => undefined), delay(graceMs)]);
    }
    const deadline = Date.now() + graceMs;
    await Promise.allSettled(this.#parts.targets.map((target) => target.stop(deadline)));
    await this.#parts.reader.stop();
  }

  async #pushAll(snapshot: Snapshot, registry: Registry): Promise<CycleResult['pushes']> {
    const { config, targets } = this.#parts;
    // A push must finish before the next cycle is due, retries included.
    const deadline = snapshot.timestampMs + Math.max(config.intervalMs - snapshot.durationMs, 1_000);
    const outcomes = await Promise.all(targets.map(async (target) => {
      const outcome = await target.push({ snapshot, registry }, deadline).catch((error: Error): PushOutcome => (
        { ok: false, durationMs: 0, attempts: 0, error: `push threw: ${error.message}` }));
      this.#stats.recordPush(target.name, outcome, Date.now());
      // The target itself warns once per distinct error; every cycle's failure is only debug here.
      if (!outcome.ok) this.#logger.debug({ target: target.name, attempts: outcome.attempts, error: outcome.error }, 'push failed');
      else this.#logger.debug({ target: target.name, duration_ms: Math.round(outcome.durationMs), attempts: outcome.attempts }, 'pushed');
      return { target: target.name, outcome };
    }));
    return outcomes;
  }

  #schedule(delayMs: number): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    if (this.#stopping) return;
    await this.#applyPending();
    const started = Date.now();
    const { intervalMs, jitterMs } = this.#parts.config;
    this.#inFlight = this.runCycle(this.#parts.targets.length > 0);
    try {
      await this.#inFlight;
    } catch (error) {
      this.#logger.error({ err: (error as Error).message }, 'cycle failed');
    } finally {
      this.#inFlight = null;
    }
    const elapsed = Date.now() - started;
    if (elapsed > intervalMs) {
      this.#stats.recordOverrun();
      this.#logger.warn({ elapsed_ms: elapsed, interval_ms: intervalMs }, 'cycle took longer than the interval; the next one starts now');
    }
    this.#schedule(Math.max(0, intervalMs - elapsed) + Math.random() * jitterMs);
  }

  async #applyPending(): Promise<void> {
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    const old = this.#parts;
    this.#parts = pending;
    if (old.reader !== pending.reader) await old.reader.stop().catch(() => undefined);
    const dropped = old.targets.filter((target) => !pending.targets.includes(target));
    await Promise.allSettled(dropped.map((target) => target.stop(Date.now() + 5_000)));
    this.#logger.info('new configuration in effect');
  }

  #logSnapshot(snapshot: Snapshot): void {
    for (const problem of snapshot.discoveryErrors) this.#logger.warn({ problem }, 'discovery');
    for (const result of snapshot.results) {
      if (!result.ok) this.#logger.warn({ netns: result.ns.name, reason: result.reason, error: result.message }, 'namespace read failed');
      else if (result.sample.procErrors.length > 0) this.#logger.debug({ netns: result.ns.name, files: result.sample.procErrors }, 'proc files unreadable');
      if (result.ok && (result.sample.collectors?.errors.length ?? 0) > 0) {
        this.#logger.debug({ netns: result.ns.name, problems: result.sample.collectors?.errors }, 'collector files unreadable');
      }
    }
    const failed = snapshot.results.filter((result) => !result.ok).length;
    this.#logger.debug({ namespaces: snapshot.results.length, failed, duration_ms: Math.round(snapshot.durationMs) }, 'cycle collected');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
