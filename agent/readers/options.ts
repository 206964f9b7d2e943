import { availableParallelism } from 'node:os';
import type { CollectorsConfig, Config, ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { Namespace } from '../../shared/snapshot.js';
import type { Logger } from '../log.js';

/** What every reader is built from: made once from the config (readerOptions), handed to each as it is. */
export interface ReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** The collectors whose files each read delivers. */
  collectors: CollectorsConfig;
  /** The config's `threads`: nsenter reads at once at most. */
  threads: number;
  /** setns worker threads at most, each reading one namespace at a time. */
  workers: number;
  /** The setns reader starts one worker and adds one per this many namespaces, up to `workers`; unset, all start at once. */
  namespacesPerWorker?: number;
  procRoot: string;
  logger: Logger;
  /** Programs the nsenter reader runs, replaceable so a test can stand a hung or failing one in. */
  commands?: { nsenter?: string; ip?: string };
  /** The setns worker script, replaceable so a test can stand a hung, lying or broken worker in. */
  workerUrl?: URL;
  /** How long a new setns worker may take to load koffi and report ready. */
  startTimeoutMs?: number;
  /**
   * Namespaces whose handles the setns reader may keep open at once; by default as many as the
   * descriptor limit allows. 0 enters every namespace at every read.
   */
  heldLimit?: number;
  /**
   * The namespaces a cycle would read now (the collection's discovery, its last cycle's folders and
   * filter): a reader that keeps namespaces open asks when its folders change between cycles, and
   * opens the new ones then, so the next cycle finds them held. Unset: nothing is opened ahead.
   */
  arrivals?: () => Promise<readonly Namespace[]>;
}

/**
 * setns worker threads at most, however many cores: two threads re-read 3,000 held namespaces in a
 * fraction of the C floor for entering them (README, Benchmarks), and a namespace past the
 * descriptor budget is the exception, not the case to size for.
 */
const MAX_SETNS_WORKERS = 2;
/**
 * Namespaces one setns worker thread reads: one re-reads 1,000 held namespaces in 60–80 % of the C
 * floor for entering them (README, Benchmarks), and each thread more is a V8 heap of its own (about
 * 10 MB resident), so the second starts only past this many.
 */
const NAMESPACES_PER_SETNS_WORKER = 1_500;

/** The readers' options from the config: the one place they are made. */
export function readerOptions(config: Config, logger: Logger, procRoot = '/proc', cores = availableParallelism()): ReaderOptions {
  return {
    timeoutMs: config.readTimeoutMs,
    procMetrics: config.procMetrics,
    collectors: config.collectors,
    threads: config.threads,
    // A worker reads one namespace at a time on its own CPU; more workers than cores only queue,
    // and past two, with handles held, only cost memory (each thread is a V8 heap of its own).
    workers: Math.min(config.threads, cores, MAX_SETNS_WORKERS),
    namespacesPerWorker: NAMESPACES_PER_SETNS_WORKER,
    procRoot,
    logger,
  };
}
