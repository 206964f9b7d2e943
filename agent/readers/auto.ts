import type { CollectorsConfig, ProcMetricConfig } from '../../shared/config/configTypes.js';
import { compareProofReadings } from '../../shared/readerProof.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import type { Logger } from '../log.js';
import { NsenterReader } from './nsenter.js';
import type { NamespaceReader } from './reader.js';
import type { SetnsReader } from './setns.js';

export interface AutoReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** The collectors both readers deliver (none when absent). */
  collectors?: CollectorsConfig;
  /** The config's `threads`: the nsenter reader's bound. */
  threads: number;
  /** setns worker threads. */
  workers: number;
  logger: Logger;
  /** Namespaces to prove the setns reader on, best first (the agent's discovery at start). */
  candidates: () => Promise<Namespace[]>;
  procRoot?: string;
  /** The setns worker script, injectable so a test can stand a lying or broken worker in for it. */
  workerUrl?: URL;
}

/** Namespaces tried in turn when nsenter cannot read one or it keeps changing. */
const PROOF_NAMESPACES = 3;
/** The self-test's verdict when nsenter itself may not enter a namespace: the operator's fix, first. */
const PERMISSION_PROBLEM = 'cannot enter network namespaces: operation not permitted — run as root or with CAP_SYS_ADMIN';
/** Readings of one namespace: a disagreement must repeat to count, a namespace in motion is read again. */
const PROOF_ATTEMPTS = 3;

/**
 * `reader: auto`: reads with setns once a self-test has proven it on this host, else with nsenter.
 * The self-test takes a namespace and reads it with nsenter, with a setns worker (nobody else), and
 * with nsenter again: koffi must load, the worker must enter the namespace and come back home (the
 * pool checks both inodes), and its reading must agree with the two nsenter readings around it
 * (shared/readerProof.ts says what agreeing means when counters move). Anything else, and the
 * reason is logged once and nsenter reads everything. The test runs at start on the first namespace
 * discovery finds; with none on the host yet, on the first namespace handed to read(), which waits
 * for the verdict like every read after it.
 */
export class AutoReader implements NamespaceReader {
  readonly kind = 'auto' as const;
  readonly #options: AutoReaderOptions;
  readonly #nsenter: NsenterReader;
  #setns: SetnsReader | null = null;
  #chosen: NamespaceReader | null = null;
  #starting: Promise<void> | null = null;
  #deciding: Promise<void> | null = null;
  #stopped = false;
  #discoveryErrors = 0;

  constructor(options: AutoReaderOptions) {
    this.#options = options;
    this.#nsenter = this.#newNsenter();
  }

  get inUse(): 'nsenter' | 'setns' {
    return this.#chosen?.inUse ?? 'nsenter';
  }

  get held(): { held: number; limit: number } | null {
    return this.#chosen?.held ?? null;
  }

  startCycle(namespaces: readonly Namespace[], discovery: { complete: boolean }): void {
    this.#chosen?.startCycle?.(namespaces, discovery);
  }

  start(): Promise<void> {
    this.#starting ??= (async () => {
      await this.#nsenter.start();
      const candidates = await this.#options.candidates().catch((error: unknown) => {
        this.#discoveryErrors += 1;
        this.#options.logger.warn({ err: (error as Error).message }, 'reader auto: discovery at start failed; the self-test runs on the first namespace read');
        return [] as Namespace[];
      });
      if (candidates.length > 0) await this.#decide(candidates);
    })();
    return this.#starting;
  }

  async read(ns: Namespace): Promise<NamespaceResult> {
    await this.start();
    if (this.#chosen === null) await this.#decide([ns]);
    return (this.#chosen ?? this.#nsenter).read(ns);
  }

  takeDiscoveryErrors(): number {
    const count = this.#discoveryErrors;
    this.#discoveryErrors = 0;
    return count;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#nsenter.stop(), this.#setns?.stop()]);
  }

  #decide(candidates: readonly Namespace[]): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#deciding ??= this.#prove(candidates).finally(() => (this.#deciding = null));
    return this.#deciding;
  }

  async #prove(candidates: readonly Namespace[]): Promise<void> {
    if (this.#chosen !== null) return;
    const { logger } = this.#options;
    let problem: string | null;
    let setns: SetnsReader | null = null;
    try {
      // Loaded only now: koffi and the worker code cost nothing to a host that never proves them.
      const { SetnsReader } = await import('./setns.js');
      setns = new SetnsReader({
        timeoutMs: this.#options.timeoutMs,
        procMetrics: this.#options.procMetrics,
        ...(this.#options.collectors === undefined ? {} : { collectors: this.#options.collectors }),
        fallback: this.#newNsenter(),
        logger,
        workers: this.#options.workers,
        procRoot: this.#options.procRoot,
        workerUrl: this.#options.workerUrl,
      });
      this.#setns = setns;
      // The workers start (tens of ms: a thread, its modules, koffi) while nsenter takes its first reading.
      void setns.start();
      problem = await this.#proofProblem(setns, candidates);
    } catch (error) {
      problem = `self-test failed: ${(error as Error).message}`;
    }
    if (this.#stopped) {
      // Stopped mid-test (a shutdown at start): no verdict to give.
      await setns?.stop();
      return;
    }
    if (problem === null && setns !== null) {
      this.#chosen = setns;
      logger.info({ reader: 'setns', namespace: candidates[0]?.name }, 'reader auto: setns proven on this host (a worker read a namespace as nsenter did); reading with setns');
      // The proof's shell is not needed any more: setns has its own fallback.
      await this.#nsenter.stop();
      return;
    }
    this.#chosen = this.#nsenter;
    this.#setns = null;
    await setns?.stop();
    // Without the privilege the self-test's details would bury the fix: lead with it.
    const message = problem === PERMISSION_PROBLEM
      ? `${PERMISSION_PROBLEM} (reader auto: no self-test possible; reading with nsenter)`
      : 'reader auto: the setns reader failed its self-test; reading with nsenter';
    logger.warn({ reader: 'nsenter', reason: problem ?? 'stopped' }, message);
  }

  /** Why the setns reader cannot be trusted here, or null when it read a namespace as nsenter did. */
  async #proofProblem(setns: SetnsReader, candidates: readonly Namespace[]): Promise<string | null> {
    let last = 'no namespace to prove it on';
    for (const ns of candidates.slice(0, PROOF_NAMESPACES)) {
      let differed = false;
      for (let attempt = 0; attempt < PROOF_ATTEMPTS; attempt += 1) {
        const before = await this.#nsenter.read(ns);
        // Not allowed to enter one namespace is not allowed to enter any: no other candidate will do.
        if (!before.ok && before.reason === 'permission') return PERMISSION_PROBLEM;
        if (!before.ok) {
          last = `nsenter could not read ${JSON.stringify(ns.name)} to compare: ${before.message}`;
          break;
        }
        const candidate = await setns.readInWorker(ns);
        if ('doubt' in candidate) return candidate.doubt;
        const after = await this.#nsenter.read(ns);
        if (!after.ok) {
          last = `nsenter could not read ${JSON.stringify(ns.name)} to compare: ${after.message}`;
          break;
        }
        if (!candidate.ok) return `a setns worker could not read ${JSON.stringify(ns.name)} (${candidate.reason}): ${candidate.message}`;
        const verdict = compareProofReadings(before.sample, candidate.sample, after.sample);
        if (verdict.verdict === 'agree') return null;
        last = `its reading of ${JSON.stringify(ns.name)} differs from nsenter's: ${verdict.reason}`;
        // Once may be a level that moved back and forth between the readings; twice is the reader.
        if (verdict.verdict === 'differ' && differed) return last;
        differed ||= verdict.verdict === 'differ';
      }
    }
    return last;
  }

  #newNsenter(): NsenterReader {
    const { timeoutMs, procMetrics, collectors, threads, procRoot } = this.#options;
    return new NsenterReader({ timeoutMs, procMetrics, threads, ...(collectors === undefined ? {} : { collectors }), ...(procRoot === undefined ? {} : { procRoot }) });
  }
}
