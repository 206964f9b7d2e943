import type { Namespace, NamespaceResult } from '../../shared/types.js';

/**
 * Reads one namespace: the only kind of module allowed to spawn processes or enter namespaces.
 * `read` never throws: a failure is a NamespaceResult with ok=false and a reason.
 */
export interface NamespaceReader {
  readonly kind: 'nsenter' | 'setns';
  /**
   * Set when the reader bounds its own concurrency (the setns workers queue reads): collectSnapshot
   * then hands it all of a cycle's reads at once instead of `threads` at a time, so it can batch them.
   */
  readonly queuesReads?: boolean;
  start(): Promise<void>;
  read(ns: Namespace): Promise<NamespaceResult>;
  stop(): Promise<void>;
}
