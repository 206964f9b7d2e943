import type { Namespace, NamespaceResult } from '../../shared/types.js';

/**
 * Reads one namespace: the only kind of module allowed to spawn processes or enter namespaces.
 * `read` never throws: a failure is a NamespaceResult with ok=false and a reason.
 */
export interface NamespaceReader {
  readonly kind: 'nsenter' | 'setns';
  start(): Promise<void>;
  read(ns: Namespace): Promise<NamespaceResult>;
  stop(): Promise<void>;
}
