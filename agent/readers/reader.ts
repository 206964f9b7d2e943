import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';

/**
 * Reads one namespace: the only kind of module allowed to spawn processes or enter namespaces.
 * `read` never throws: a failure is a NamespaceResult with ok=false and a reason.
 */
export interface NamespaceReader {
  /** The reader configured. */
  readonly kind: 'nsenter' | 'setns' | 'auto';
  /**
   * The reader that does the reading now: `setns` only while its workers run (a setns reader whose
   * workers could not start reads everything with nsenter). A single read handed to nsenter because
   * a worker was in doubt does not change it.
   */
  readonly inUse: 'nsenter' | 'setns';
  start(): Promise<void>;
  /**
   * Any number of reads may be asked for at once: the reader bounds how many run at a time (the
   * config's `threads`) and queues the rest.
   */
  read(ns: Namespace): Promise<NamespaceResult>;
  /**
   * A cycle starts: its namespaces, handed over before they are read. A reader that keeps namespaces
   * open closes what it holds for any other, unless the list is not `complete` (a folder could not
   * be listed, so what it holds is unknown).
   */
  startCycle?(namespaces: readonly Namespace[], discovery: { complete: boolean }): void;
  /** Namespaces held open between cycles and how many may be (null: this reader holds none). */
  readonly held?: { held: number; limit: number } | null;
  /**
   * Ends every read in flight (processes, process groups, worker threads) and returns within a few
   * seconds whatever they do.
   */
  stop(): Promise<void>;
  /** Discoveries this reader ran itself (auto's self-test at start) that failed, since the last call. */
  takeDiscoveryErrors?(): number;
}
