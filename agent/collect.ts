import type { NameFilter } from '../shared/config/configTypes.js';
import { passesFilter } from '../shared/filter.js';
import type { Namespace, NamespaceResult, Snapshot } from '../shared/snapshot.js';
import { discoverNamespaces, type DiscoveryOptions } from './discover.js';
import type { NamespaceReader } from './readers/reader.js';

export interface CollectOptions {
  discovery: DiscoveryOptions;
  /** Bounds its own reads (the config's `threads`): it is handed all of a cycle's reads at once. */
  reader: NamespaceReader;
  deviceFilter: NameFilter;
  now?: () => number;
  /** Aborted on shutdown: reads not yet started are not started (the reader's stop ends those in flight). */
  signal?: AbortSignal;
}

/**
 * One cycle's collection: discover, hand every namespace to the reader, keep the devices that pass
 * the filter. One failing namespace never sinks the others.
 */
export async function collectSnapshot(options: CollectOptions): Promise<Snapshot> {
  const now = options.now ?? Date.now;
  const timestampMs = now();
  const started = performance.now();
  const discovery = await discoverNamespaces(options.discovery);
  // A folder that could not be listed says nothing about what it holds: nothing is let go then.
  options.reader.startCycle?.(discovery.namespaces, { complete: discovery.unlisted.length === 0 });
  const read = (ns: Namespace): Promise<NamespaceResult> => (options.signal?.aborted === true
    ? Promise.resolve({ ns, ok: false, reason: 'internal', message: 'not read: shutting down', durationMs: 0 })
    : options.reader.read(ns));
  const settled = await Promise.allSettled(discovery.namespaces.map(read));
  const results = settled.map((outcome, index) => toResult(outcome, discovery.namespaces[index]!, options.deviceFilter));
  return {
    timestampMs,
    durationMs: performance.now() - started,
    results,
    discoveredCount: discovery.listedCount,
    discoveryErrors: discovery.problems,
    unlistedDirs: discovery.unlisted,
  };
}

function toResult(outcome: PromiseSettledResult<NamespaceResult>, ns: Namespace, deviceFilter: NameFilter): NamespaceResult {
  if (outcome.status === 'rejected') {
    return { ns, ok: false, reason: 'internal', message: String((outcome.reason as Error)?.message ?? outcome.reason), durationMs: 0 };
  }
  const result = outcome.value;
  if (!result.ok) return result;
  const interfaces = result.sample.interfaces.filter((device) => passesFilter(device.name, deviceFilter));
  return { ...result, sample: { ...result.sample, interfaces } };
}
