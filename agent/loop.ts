import { collectDefaultMetrics, Registry } from 'prom-client';
import { cycleExposition, type Exposition } from '../shared/metrics/exposition.js';
import type { Config } from '../shared/config/configTypes.js';
import { cycleFamilies, type BuildInfo, type ExtraMetric } from '../shared/metrics/families.js';
import { familiesFromValues, FamilyTable, type FamilyValues, type SeriesFamily } from '../shared/metrics/familyTable.js';
import { collectorErrors, type Snapshot } from '../shared/snapshot.js';
import type { Collection } from './collect.js';
import { FolderStamps, MountsInProgress, NamespaceTypes } from './discover.js';
import { KnownNamespaces } from '../shared/discovery.js';
import { collectionProblems, summariseCycle, type CycleSummary } from './health.js';
import type { Logger } from './log.js';
import { ProblemLog, problemKey } from './problemLog.js';
import { settledBy } from './deadline.js';
import { replaceEventLoopLagGauges } from './eventLoopLag.js';
import { replaceOpenFdsGauge } from './processOpenFds.js';
import { SelfStatsRecorder } from './selfStats.js';
import type { CycleOutput, PushOutcome, PushTarget } from './targets/target.js';

export interface AgentParts {
  config: Config;
  /** Discovery and the readers: what the cycles collect with. */
  collection: Collection;
  targets: PushTarget[];
  /** The metric families' series, kept from cycle to cycle (made on the first cycle when absent). */
  families?: FamilyTable;
}

/** How often the event-loop lag gauges sample the loop: a timer that wakes the process each time. */
const EVENT_LOOP_SAMPLE_MS = 1_000;

/** A push may run until the next cycle is due, and at least this long (or one interval, if shorter). */
export const MIN_PUSH_MS = 5_000;

/**
 * When a push must be done, retries included: when the next cycle is due, counted from the start of
 * the collection, but never sooner than MIN_PUSH_MS (or one interval, if shorter) after the push
 * starts, so a collection that took most of the interval, or overran it, still pushes.
 */
export function pushDeadlineMs(input: { cycleStartMs: number; intervalMs: number; nowMs: number }): number {
  const nextCycleDue = input.cycleStartMs + input.intervalMs;
  return Math.max(nextCycleDue, input.nowMs + Math.min(MIN_PUSH_MS, input.intervalMs));
}

/** Names only what this agent serves: /metrics with api_server, /healthz with it or health.listen. */
function firstCollectionMessage(config: Pick<Config, 'apiServer' | 'health'>): string {
  if (config.apiServer.enabled) return 'first collection started; /metrics and /healthz answer 503 until it ends';
  if (config.health.listen !== null) return 'first collection started; /healthz answers 503 until it ends';
  return 'first collection started';
}

/** Thrown out of runCycle when stop() abandoned the collection in flight. */
class CycleAbandoned extends Error {
  constructor() {
    super('cycle abandoned: shutting down');
  }
}

export interface CycleResult {
  snapshot: Snapshot;
  registry: Exposition;
  pushes: { target: string; outcome: PushOutcome }[];
  summary: CycleSummary;
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
  readonly #stopLagSampling: () => void;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<CycleResult> | null = null;
  /** Aborts the collection in flight: on shutdown its reads are killed and nothing half-read is pushed. */
  #collecting: AbortController | null = null;
  #stopping = false;
  #lastRegistry: Exposition | null = null;
  #lastCycle: CycleSummary | null = null;
  #pending: { parts: AgentParts; applied: (old: AgentParts) => void } | null = null;
  /** From the start of a tick to its end: parts are swapped only outside it. */
  #ticking = false;
  readonly #types: NamespaceTypes;
  readonly #mounting = new MountsInProgress();
  readonly #known = new KnownNamespaces();
  readonly #stamps: FolderStamps;
  /** While pushes keep running past the interval (a slow receiver): warned once, not every cycle. */
  #pushOverrunning = false;
  readonly #discoveryProblems: ProblemLog;
  readonly #collectionProblems: ProblemLog;
  #cyclesStarted = 0;
  readonly #processTable = new FamilyTable();

  /** Figures of parts outside the loop (the listeners' security layer), rendered into each cycle's self-metrics. */
  readonly #extraSelfMetrics: () => ExtraMetric[];
  /** Run by the schedule after each cycle has pushed (main: hand freed memory back to the kernel). */
  readonly #afterCycle: () => void;

  /**
   * `discoveryErrorsAtStart`: discoveries main ran before the loop (reader auto's self-test) that
   * failed; counted with the cycles' discovery errors.
   */
  constructor(parts: AgentParts, deps: { logger: Logger; build: BuildInfo; procRoot?: string; selfMetrics?: () => ExtraMetric[]; discoveryErrorsAtStart?: number; afterCycle?: () => void }) {
    this.#parts = parts;
    this.#afterCycle = deps.afterCycle ?? (() => undefined);
    this.#stats.recordDiscoveryErrorsAtStart(deps.discoveryErrorsAtStart ?? 0);
    this.#extraSelfMetrics = deps.selfMetrics ?? (() => []);
    this.#logger = deps.logger;
    this.#build = deps.build;
    this.#procRoot = deps.procRoot ?? '/proc';
    this.#types = new NamespaceTypes(this.#procRoot);
    this.#stamps = new FolderStamps(this.#procRoot);
    this.#discoveryProblems = new ProblemLog(deps.logger, 'discovery');
    this.#collectionProblems = new ProblemLog(deps.logger, 'collection unhealthy');
    // prom-client's event-loop monitor (it has no off switch) samples as rarely as the gauges that
    // replace its own (eventLoopLag.ts): its default 10 ms woke an idle agent 100 times a second.
    collectDefaultMetrics({ register: this.#processRegistry, prefix: 'netns_exporter_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.#stopLagSampling = replaceEventLoopLagGauges(this.#processRegistry, 'netns_exporter_', EVENT_LOOP_SAMPLE_MS);
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named like counters
    // (promtool and OpenMetrics refuse the pair); the same figures summed are the per-type gauges.
    for (const kind of ['handles', 'requests', 'resources']) this.#processRegistry.removeSingleMetric(`netns_exporter_nodejs_active_${kind}_total`);
    replaceOpenFdsGauge(this.#processRegistry, 'netns_exporter_', this.#procRoot);
  }

  get config(): Config {
    return this.#parts.config;
  }

  get collection(): Collection {
    return this.#parts.collection;
  }

  get targets(): readonly PushTarget[] {
    return this.#parts.targets;
  }

  get lastRegistry(): Exposition | null {
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

  /**
   * New parts take effect between cycles, never in the middle of one: at once when the loop waits
   * for its next cycle, else when the cycle in flight has pushed. Resolves with the parts replaced,
   * for the caller to stop what it no longer uses (the loop does not know which reader or target
   * the new parts kept). One replacement at a time: the reload step runs them one after the other.
   */
  replaceParts(parts: AgentParts): Promise<AgentParts> {
    return new Promise((applied) => {
      this.#pending = { parts, applied };
      if (!this.#ticking) this.#applyPending();
    });
  }

  /**
   * One collection, then the registry is built and kept for /metrics, then (when `push`) every
   * target pushes. `processMetrics` adds prom-client's process figures when the config allows.
   * A netns_dirs folder that could not be listed makes the cycle's view unknown, not empty: it is
   * neither pushed (a PUT would replace the node's group with the rest, remote_write would mark
   * the missing series stale) nor served on /metrics; the last good push stays where it landed.
   */
  async runCycle(push: boolean, processMetrics = true): Promise<CycleResult> {
    const { config, collection, targets } = this.#parts;
    if (this.#stopping) throw new CycleAbandoned();
    const collecting = new AbortController();
    this.#collecting = collecting;
    let snapshot: Snapshot;
    try {
      snapshot = await collection.collect({
        discovery: { netnsDirs: config.netnsDirs, filter: config.namespacesFilter, procRoot: this.#procRoot, types: this.#types, mounting: this.#mounting, known: this.#known, stamps: this.#stamps },
        signal: collecting.signal,
      });
    } finally {
      if (this.#collecting === collecting) this.#collecting = null;
    }
    if (collecting.signal.aborted) throw new CycleAbandoned();
    this.#stats.recordCycle(snapshot, config.netnsDirs);
    const summary = summariseCycle(snapshot);
    this.#logSnapshot(snapshot, summary);
    const self = this.#stats.snapshot(targets);
    const held = collection.held;
    const families = cycleFamilies(snapshot, config, this.#build, {
      ...self,
      extra: [...self.extra, ...this.#extraSelfMetrics()],
      reader: collection.inUse,
      ...(held === null ? {} : { held: held.held }),
    }, this.#familyTable());
    const withProcess = processMetrics && config.selfMetrics.process;
    const processRegistry = this.#processRegistry;
    const registry = cycleExposition(families, withProcess ? () => processRegistry.metrics() : undefined);
    const viewKnown = snapshot.unlistedDirs.length === 0;
    this.#lastRegistry = viewKnown ? registry : null;
    this.#lastCycle = summary;
    const pushes = push && viewKnown
      ? await this.#pushAll({ snapshot, registry, families: withProcess ? [...families, ...await this.#processFamilies()] : families })
      : [];
    return { snapshot, registry, pushes, summary };
  }

  /**
   * Shuts down by one deadline for everything: scheduling stops, a collection in flight is
   * abandoned (the reader's stop kills its reads; a half-read cycle is never pushed, it would blank
   * the namespaces not read yet), a push in flight gets at most half the time left, the targets
   * (delete_on_shutdown, a buffer flush) the rest. Returns true when every part finished in time.
   */
  async stop(deadlineMs: number): Promise<boolean> {
    this.#stopping = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#stopLagSampling();
    this.#stamps.close();
    const collecting = this.#collecting;
    collecting?.abort();
    // An abandoned collection is not waited for (a reader may take its time to give up its reads):
    // it pushes nothing. A push in flight is.
    const pushInFlight = collecting === null ? this.#inFlight?.catch(() => undefined) ?? Promise.resolve() : Promise.resolve();
    // Parts a reload built but the loop never used: a new remote_write target already holds the buffer.
    const unused = this.#pending?.parts ?? { collection: this.#parts.collection, targets: [] };
    this.#pending = null;
    const collections = [...new Set([this.#parts.collection, unused.collection])];
    const targets = [...new Set([...this.#parts.targets, ...unused.targets])];
    const readerStopped = Promise.all(collections.map((collection) => collection.stop().catch(() => undefined)));
    const half = Date.now() + (deadlineMs - Date.now()) / 2;
    await settledBy(pushInFlight, half);
    const targetsStopped = Promise.allSettled(targets.map((target) => target.stop(deadlineMs)));
    return settledBy(Promise.all([pushInFlight, readerStopped, targetsStopped]), deadlineMs);
  }

  /** prom-client's process figures in the families' shape, for remote_write. */
  async #processFamilies(): Promise<SeriesFamily[]> {
    return familiesFromValues((await this.#processRegistry.getMetricsAsJSON()) as unknown as FamilyValues[], this.#processTable);
  }

  /** The table of the last cycle; a reload that changes what the series' labels are made of brings a new one. */
  #familyTable(): FamilyTable {
    this.#parts.families ??= new FamilyTable();
    return this.#parts.families;
  }

  get families(): FamilyTable | undefined {
    return this.#parts.families;
  }

  async #pushAll(cycle: CycleOutput): Promise<CycleResult['pushes']> {
    const { config, targets } = this.#parts;
    const { snapshot } = cycle;
    // A push must finish before the next cycle is due, retries included.
    const deadline = pushDeadlineMs({ cycleStartMs: snapshot.timestampMs, intervalMs: config.intervalMs, nowMs: Date.now() });
    const outcomes = await Promise.all(targets.map(async (target) => {
      const outcome = await target.push(cycle, deadline).catch((error: Error): PushOutcome => (
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
    this.#ticking = true;
    try {
      await this.#cycle();
    } finally {
      this.#ticking = false;
    }
  }

  async #cycle(): Promise<void> {
    this.#applyPending();
    const started = Date.now();
    const { intervalMs, jitterMs } = this.#parts.config;
    // Until the first collection ends /metrics and /healthz answer 503; on a busy host with
    // thousands of namespaces that takes tens of seconds, so say when it starts and ends.
    const first = this.#cyclesStarted++ === 0;
    if (first) this.#logger.info({ reader: this.#parts.config.reader, threads: this.#parts.config.threads }, firstCollectionMessage(this.#parts.config));
    this.#inFlight = this.runCycle(this.#parts.targets.length > 0);
    let collectionMs = 0;
    try {
      const result = await this.#inFlight;
      collectionMs = result.snapshot.durationMs;
      if (first) this.#logFirstCycle(result, Date.now() - started);
    } catch (error) {
      if (!(error instanceof CycleAbandoned)) this.#logger.error({ err: (error as Error).message }, 'cycle failed');
    } finally {
      this.#inFlight = null;
    }
    if (!this.#stopping) this.#afterCycle();
    const cycle = this.#lastCycle;
    if (cycle !== null && !this.#stopping) {
      this.#collectionProblems.update(collectionProblems(cycle, this.#parts.config.health.maxFailedRatio).map((message) => ({ key: problemKey(message), message })));
    }
    const elapsed = Date.now() - started;
    this.#recordOverrun(elapsed, collectionMs, intervalMs);
    this.#schedule(Math.max(0, intervalMs - elapsed) + Math.random() * jitterMs);
  }

  /**
   * A cycle past its interval is a slow read (the collection alone overran: more namespaces than the
   * interval holds, a slow host) or a slow push (a receiver that hangs until the push deadline):
   * different causes, different fixes, counted apart. A slow read is warned every time, since the
   * data is late; a slow push once while it lasts, since the target warns about its receiver itself.
   */
  #recordOverrun(elapsedMs: number, collectionMs: number, intervalMs: number): void {
    const figures = { elapsed_ms: elapsedMs, collection_ms: Math.round(collectionMs), interval_ms: intervalMs };
    if (collectionMs > intervalMs) {
      this.#stats.recordOverrun();
      this.#logger.warn(figures, 'collection took longer than the interval (a slow read); the next cycle starts now');
    } else if (elapsedMs > intervalMs) {
      this.#stats.recordPushOverrun();
      if (!this.#pushOverrunning) this.#logger.warn(figures, 'push ran past the interval (a slow or hung receiver); the next cycle starts late, counted in netns_exporter_pushes_overrun_total');
      this.#pushOverrunning = true;
      return;
    }
    if (this.#pushOverrunning) this.#logger.info(figures, 'pushes finish within the interval again');
    this.#pushOverrunning = false;
  }

  #applyPending(): void {
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    const old = this.#parts;
    this.#parts = pending.parts;
    this.#logger.info('new configuration in effect');
    pending.applied(old);
  }

  #logFirstCycle({ snapshot, pushes }: CycleResult, elapsedMs: number): void {
    this.#logger.info({
      namespaces: snapshot.results.length,
      failed: snapshot.results.filter((result) => !result.ok).length,
      collection_ms: Math.round(snapshot.durationMs),
      duration_ms: elapsedMs,
      pushes_ok: pushes.filter(({ outcome }) => outcome.ok).length,
      pushes_failed: pushes.filter(({ outcome }) => !outcome.ok).length,
    }, 'first collection done');
  }

  #logSnapshot(snapshot: Snapshot, summary: CycleSummary): void {
    this.#discoveryProblems.update(snapshot.discoveryErrors);
    // When no read succeeded they all failed alike: the health summary says it once, not 1,000 times.
    const noneRead = summary.namespacesFound > 0 && summary.namespacesFailed === summary.namespacesFound;
    const vanished = snapshot.results.filter((result) => !result.ok && result.reason === 'vanished').map((result) => result.ns.name);
    // Churn (containers, routers coming and going) deletes namespaces mid-read: one line a cycle.
    if (vanished.length > 0) this.#logger.info({ vanished: vanished.length, examples: vanished.slice(0, 3) }, 'namespaces deleted during their read (not counted as failed)');
    // Indexed: code run once a cycle is seldom optimised, and a for-of iterator there made an object per namespace.
    for (let index = 0; index < snapshot.results.length; index++) {
      const result = snapshot.results[index]!;
      const level = noneRead || (!result.ok && result.reason === 'vanished') ? 'debug' : 'warn';
      if (!result.ok) this.#logger[level]({ netns: result.ns.name, reason: result.reason, error: result.message }, 'namespace read failed');
      else if (result.sample.procErrors.length > 0) this.#logger.debug({ netns: result.ns.name, files: result.sample.procErrors }, 'proc files unreadable');
      const problems = result.ok ? collectorErrors(result.sample) : [];
      if (problems.length > 0) {
        this.#logger.debug({ netns: result.ns.name, problems }, 'collector files unreadable');
      }
    }
    const failed = snapshot.results.filter((result) => !result.ok).length;
    this.#logger.debug({ namespaces: snapshot.results.length, failed, duration_ms: Math.round(snapshot.durationMs) }, 'cycle collected');
  }
}
