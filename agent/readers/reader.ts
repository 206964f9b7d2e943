import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';

/** A namespace a reader could not vouch for in this cycle, and why: the collection reads it with nsenter. */
export interface Unvouched {
  ns: Namespace;
  why: string;
}

/** What a reader made of one cycle's namespaces: each is either in `results` or in `unvouched`. */
export interface CycleReading {
  results: NamespaceResult[];
  unvouched: Unvouched[];
}

/** Namespaces held open between cycles, and how many the descriptor budget allows. */
export interface HeldFigures {
  held: number;
  limit: number;
}

/**
 * Reads the network namespaces of one cycle, like one of node_exporter's collectors: the only kind
 * of module allowed to spawn processes or enter namespaces. `collect` never throws: a failed read
 * is a NamespaceResult with ok=false and a reason.
 */
export interface Reader {
  /** Who reads now: `setns` only while its workers run (their start failed: `nsenter` reads for it). */
  readonly inUse: 'nsenter' | 'setns';
  /** Namespaces held open between cycles (null: this reader holds none). */
  readonly held: HeldFigures | null;
  start(): Promise<void>;
  /**
   * One cycle: every namespace handed over, read in parallel up to the reader's own bound (the
   * config's `threads` for nsenter, the worker threads for setns). A reader that keeps namespaces
   * open closes what it holds for any other, unless the list is not `complete` (a folder could not
   * be listed, or only some namespaces are handed over), so what it holds is unknown.
   */
  collect(namespaces: readonly Namespace[], cycle: { complete: boolean }): Promise<CycleReading>;
  /**
   * Ends every read in flight (processes, process groups, worker threads) and returns within a few
   * seconds whatever they do.
   */
  stop(): Promise<void>;
}
