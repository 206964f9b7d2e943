import type { Config } from '../shared/config/configTypes.js';
import type { Discovery } from '../shared/discovery.js';
import type { Namespace, NamespaceResult, Snapshot } from '../shared/snapshot.js';
import { discoverNamespaces, MountsInProgress, NamespaceTypes, type DiscoveryOptions } from './discover.js';
import type { Logger } from './log.js';
import { NsenterReader } from './readers/nsenter.js';
import type { ReaderOptions } from './readers/options.js';
import type { HeldFigures, Reader } from './readers/reader.js';
import { provenReader } from './readers/selfTest.js';

export interface CycleOptions {
  discovery: DiscoveryOptions;
  now?: () => number;
  /** Aborted on shutdown: reads not yet started are not started (the readers' stop ends those in flight). */
  signal?: AbortSignal;
}

/**
 * Which reader reads: `reading` once chosen; `awaiting a namespace` while reader auto has no
 * verdict, having found no namespace to take its self-test on (none on the host at start): the
 * first cycle that finds one takes it before it reads. Until the collection starts, `not started`.
 */
type ReaderState = { state: 'not started' } | { state: 'awaiting a namespace' } | { state: 'reading'; reader: Reader };

/**
 * One collection per cycle, like node_exporter's: discover, hand every namespace to the reader in
 * use, read what it could not vouch for with nsenter (a worker in doubt, a namespace that once hung
 * a thread, workers that cannot start), keep the devices that pass the filter. One failing namespace
 * never sinks the others.
 */
export class Collection {
  readonly #setting: Config['reader'];
  readonly #options: ReaderOptions;
  /** The `nsenter` reader, and the one that reads whatever the setns reader hands back. */
  readonly #nsenter: Reader;
  #reader: ReaderState = { state: 'not started' };
  #starting: Promise<void> | null = null;
  /** Aborts reader auto's self-test in flight (a shutdown at start). */
  #selfTest: AbortController | null = null;
  #stopped = false;
  /** The last cycle's discovery options: what a reader opening namespaces ahead is told to look for. */
  #lastDiscovery: DiscoveryOptions | null = null;
  /** Namespace types for discoveries between cycles, kept apart from the cycles' own. */
  #arrivalTypes: NamespaceTypes | null = null;

  constructor(setting: Config['reader'], options: ReaderOptions, nsenter: Reader = new NsenterReader(options)) {
    this.#setting = setting;
    this.#options = { ...options, arrivals: () => this.#arrivals() };
    this.#nsenter = nsenter;
  }

  /** The reader that reads now (nsenter until reader auto has its verdict). */
  get inUse(): 'nsenter' | 'setns' {
    return this.#reader.state === 'reading' ? this.#reader.reader.inUse : 'nsenter';
  }

  get held(): HeldFigures | null {
    return this.#reader.state === 'reading' ? this.#reader.reader.held : null;
  }

  /**
   * Chooses the reader and starts it: setns workers running, reader auto's self-test taken on
   * `namespaces` (this host's, from the caller's discovery). With none, auto waits for a cycle that
   * finds one. A collection not started starts at its first cycle, on that cycle's namespaces.
   */
  start(namespaces: readonly Namespace[]): Promise<void> {
    this.#starting ??= this.#start(namespaces);
    return this.#starting;
  }

  async #start(namespaces: readonly Namespace[]): Promise<void> {
    await this.#nsenter.start();
    if (this.#setting === 'nsenter') this.#reader = { state: 'reading', reader: this.#nsenter };
    else if (this.#setting === 'auto') {
      this.#reader = { state: 'awaiting a namespace' };
      await this.#takeSelfTest(namespaces);
    } else {
      // Loaded only when chosen: koffi and the worker code cost start-up time nobody else should pay.
      const { SetnsReader } = await import('./readers/setns.js');
      const setns = new SetnsReader(this.#options);
      this.#reader = { state: 'reading', reader: setns };
      await setns.start();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#selfTest?.abort();
    const chosen = this.#reader.state === 'reading' ? this.#reader.reader : this.#nsenter;
    await Promise.all([...new Set([this.#nsenter, chosen])].map((reader) => reader.stop()));
  }

  /** One cycle: discovery, the reader's collection, nsenter for what it handed back (devices as read: the families apply the device filter). */
  async collect(options: CycleOptions): Promise<Snapshot> {
    const now = options.now ?? Date.now;
    const timestampMs = now();
    const started = performance.now();
    const discovery = await discoverNamespaces(options.discovery);
    this.#lastDiscovery = options.discovery;
    const { namespaces } = discovery;
    await this.start(namespaces);
    if (this.#reader.state === 'awaiting a namespace') await this.#takeSelfTest(namespaces);
    const read = new Map<Namespace, NamespaceResult>();
    let results: readonly NamespaceResult[] | null = null;
    if (options.signal?.aborted !== true) {
      const reader = this.#reader.state === 'reading' ? this.#reader.reader : this.#nsenter;
      // A folder that could not be listed says nothing about what it holds: nothing is let go then.
      const reading = await reader.collect(namespaces, { complete: discovery.unlisted.length === 0 });
      // Nearly always every namespace read, in order: the reader's list is the cycle's (no map of a thousand).
      if (reading.unvouched.length === 0 && inOrder(reading.results, namespaces)) results = reading.results;
      else for (const result of reading.results) read.set(result.ns, result);
      // Aborted meanwhile (read again: the check above narrowed it for the compiler, not for time).
      if (reading.unvouched.length > 0 && !isAborted(options.signal)) {
        const again = await this.#nsenter.collect(reading.unvouched.map(({ ns }) => ns), { complete: false });
        for (const result of again.results) read.set(result.ns, result);
      }
    }
    return {
      timestampMs,
      durationMs: performance.now() - started,
      results: results ?? namespaces.map((ns) => read.get(ns) ?? notRead(ns)),
      discoveredCount: discovery.listedCount,
      discoveryErrors: discovery.problems,
      unlistedDirs: discovery.unlisted,
    };
  }

  /**
   * What the next cycle's discovery would find now, for a reader that opens namespaces ahead. Its
   * own state for mounts in progress and types, and none of the namespaces kept (`known`): a cycle's
   * discovery carries those from one cycle to the next, which a discovery in between must not
   * advance. A file not mounted yet is left out.
   */
  async #arrivals(): Promise<readonly Namespace[]> {
    const last = this.#lastDiscovery;
    if (last === null || this.#stopped) return [];
    this.#arrivalTypes ??= new NamespaceTypes(last.procRoot);
    const discovery = await discoverNamespaces({ ...last, types: this.#arrivalTypes, mounting: new MountsInProgress(), known: undefined });
    return discovery.namespaces;
  }

  async #takeSelfTest(namespaces: readonly Namespace[]): Promise<void> {
    if (namespaces.length === 0 || this.#stopped) return;
    const testing = new AbortController();
    this.#selfTest = testing;
    try {
      const reader = await provenReader(namespaces, this.#nsenter, this.#options, testing.signal);
      if (reader === null) return;
      if (this.#stopped) await reader.stop();
      else this.#reader = { state: 'reading', reader };
    } finally {
      this.#selfTest = null;
    }
  }
}

/**
 * reader auto's namespaces to take its self-test on at start: those discovery finds now. A discovery
 * that fails is warned about and counted (`failed`), and the self-test waits for the first cycle.
 */
export async function namespacesAtStart(discover: () => Promise<Discovery>, logger: Logger): Promise<{ namespaces: Namespace[]; failed: number }> {
  try {
    return { namespaces: (await discover()).namespaces, failed: 0 };
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'reader auto: discovery at start failed; the self-test runs on the first cycle that finds a namespace');
    return { namespaces: [], failed: 1 };
  }
}

function notRead(ns: Namespace): NamespaceResult {
  return { ns, ok: false, reason: 'internal', message: 'not read: shutting down', durationMs: 0 };
}

/** Whether `results` are those of `namespaces`, one each, in their order. */
function inOrder(results: readonly NamespaceResult[], namespaces: readonly Namespace[]): boolean {
  return results.length === namespaces.length && results.every((result, index) => result.ns === namespaces[index]);
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
