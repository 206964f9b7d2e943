import path from 'node:path';
import { collectorFiles, NO_COLLECTORS, splitHostWide } from '../../shared/collectors/collectorList.js';
import type { CollectorsConfig, ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import type { Logger } from '../log.js';
import type { NamespaceReader } from './reader.js';
import { readFileLimit } from '../system/fileLimit.js';
import { FolderWatch } from './folderWatch.js';
import { SetnsWorkerPool } from './setnsPool.js';

export interface SetnsReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** The collectors whose files each read delivers; none when not given. Give the fallback the same. */
  collectors?: CollectorsConfig;
  /** Reads whatever the workers cannot vouch for (the nsenter reader, which bounds its own reads). */
  fallback: NamespaceReader;
  logger: Logger;
  /** Worker threads, each reading one namespace at a time: the most setns reads in flight. */
  workers: number;
  procRoot?: string;
  /** The worker script, injectable so a test can stand a hung or failing worker in for it. */
  workerUrl?: URL;
  /** How long a new worker may take to load koffi and report ready. */
  startTimeoutMs?: number;
  /**
   * Namespaces whose handles may stay open at once; by default as many as the descriptor limit
   * allows (heldLimitFor). 0 enters every namespace at every read.
   */
  heldLimit?: number;
}

/**
 * Descriptors kept back from the budget for everything else: the targets' connections, the
 * remote_write buffer's files, the reader shells' pipes, the listeners, the threads' own.
 */
const DESCRIPTOR_HEADROOM = 512;

/** How many namespaces' handles fit in `softLimit` descriptors, at `perNamespace` each. */
function heldLimitFor(softLimit: number, perNamespace: number): number {
  return Math.max(0, Math.floor((softLimit - DESCRIPTOR_HEADROOM) / Math.max(1, perNamespace)));
}

/**
 * Reads namespaces from a small pool of worker threads that enter each one with setns(2), far
 * cheaper than a process chain per namespace (the README's benchmark section has the figures).
 * Safety comes first: on any doubt about a worker (setnsPool.ts) the doubtful namespace and every
 * other read queued on that worker are read again with the fallback, and so is the rest of the
 * cycle. A sample never carries another namespace's label. A namespace whose read timed out in a
 * worker (a proc file or a device that blocks in the kernel) is read with the fallback from then
 * on: a process can be killed, a thread stuck in the kernel cannot.
 *
 * A cycle starts when the collection hands over its namespaces (startCycle): "the rest of the cycle"
 * is every read until then.
 */
export class SetnsReader implements NamespaceReader {
  readonly kind = 'setns' as const;
  readonly #options: SetnsReaderOptions;
  readonly #pool: SetnsWorkerPool;
  readonly #watch: FolderWatch;
  /** Inodes of the namespaces whose read timed out in a worker thread. */
  readonly #timedOut = new Set<number>();
  #starting: Promise<void> | null = null;
  #stopped = false;
  #inDoubt = false;

  constructor(options: SetnsReaderOptions) {
    this.#options = options;
    const collectors = options.collectors ?? NO_COLLECTORS;
    // A socket, each per-namespace collector file and each proc_metrics file.
    const perNamespace = 1 + splitHostWide(collectorFiles(collectors)).perNamespace.length + options.procMetrics.length;
    this.#pool = new SetnsWorkerPool({
      workers: options.workers,
      timeoutMs: options.timeoutMs,
      procFiles: options.procMetrics.map((metric) => metric.file),
      procNames: options.procMetrics.map((metric) => metric.name),
      heldLimit: options.heldLimit ?? heldLimitFor(readFileLimit()?.soft ?? 1024, perNamespace),
      collectors,
      procRoot: options.procRoot ?? '/proc',
      logger: options.logger,
      workerUrl: options.workerUrl,
      startTimeoutMs: options.startTimeoutMs,
      onFault: (timedOut) => this.#onFault(timedOut),
    });
    this.#watch = new FolderWatch(() => this.#pool.heldNamespaces(), (inodes) => this.#pool.forget(inodes));
  }

  /** Namespaces held open now, and how many the descriptor budget allows. */
  get held(): { held: number; limit: number } {
    return this.#pool.heldFigures;
  }

  /**
   * This cycle's namespaces, from discovery: the handles of any other namespace are closed (its
   * file went without an event reaching the watch, or a reload narrowed the selection), and their
   * folders are watched for the next deletions.
   */
  startCycle(namespaces: readonly Namespace[], discovery: { complete: boolean }): void {
    // A new cycle: a worker in doubt during the last one was replaced, its replacement reads again.
    if (this.#inDoubt) {
      this.#inDoubt = false;
      if (this.#pool.hasWorkers) this.#options.logger.info('setns reader: this cycle reads with setns workers again');
    }
    if (!discovery.complete) return;
    const selected = new Set<number>();
    for (const ns of namespaces) selected.add(ns.inode);
    const gone: number[] = [];
    for (const inode of this.#pool.heldNamespaces().keys()) if (!selected.has(inode)) gone.push(inode);
    if (gone.length > 0) this.#pool.forget(gone);
    if (!this.#stopped) this.#watch.watchFolders(new Set(namespaces.map((ns) => path.dirname(ns.path))));
  }

  /** Whether reads currently go to the fallback: the workers could not start, or one was in doubt. */
  get usingFallback(): boolean {
    return !this.#pool.hasWorkers || this.#inDoubt;
  }

  get inUse(): 'nsenter' | 'setns' {
    return this.#pool.hasWorkers ? 'setns' : 'nsenter';
  }

  start(): Promise<void> {
    this.#starting ??= this.#options.fallback.start().then(() => this.#pool.start());
    return this.#starting;
  }

  /** Ends every worker and every fallback read in flight; returns within a bound whatever a thread does. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch.close();
    await Promise.all([this.#pool.stop(), this.#options.fallback.stop()]);
  }

  async read(ns: Namespace): Promise<NamespaceResult> {
    await this.start();
    if (this.usingFallback || this.#stopped || this.#timedOut.has(ns.inode)) return this.#options.fallback.read(ns);
    const result = await this.#pool.read(ns);
    return result === 'doubt' ? this.#options.fallback.read(ns) : result;
  }

  /**
   * One read by a worker and nobody else, for the self-test of `reader: auto`: the result, or why
   * the workers could not vouch for it (never read with the fallback).
   */
  async readInWorker(ns: Namespace): Promise<NamespaceResult | { doubt: string }> {
    await this.start();
    if (!this.#pool.hasWorkers) return { doubt: this.#pool.lastProblem ?? 'the setns workers are not running' };
    const result = await this.#pool.read(ns);
    return result === 'doubt' ? { doubt: this.#pool.lastProblem ?? 'a worker was in doubt' } : result;
  }

  #onFault(timedOut: Namespace | null): void {
    this.#inDoubt = true;
    if (timedOut === null || this.#timedOut.has(timedOut.inode)) return;
    this.#timedOut.add(timedOut.inode);
    this.#options.logger.warn({ namespace: timedOut.name }, 'setns reader: a read timed out in a worker thread; this namespace is read with nsenter from now on');
  }
}
