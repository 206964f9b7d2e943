import { collectorSample } from '../../shared/collectors/collectorList.js';
import { NO_COLLECTORS } from './config.js';
import { INTERFACE_STATS, type InterfaceStat } from '../../shared/interfaceStats.js';
import type { InterfaceSample, NamespaceResult, Snapshot } from '../../shared/snapshot.js';

/** Builders for in-memory snapshots, for tests of everything downstream of the readers. */
export function device(name: string, overrides: Partial<InterfaceSample> = {}, stats: Partial<Record<InterfaceStat, number>> = {}): InterfaceSample {
  const zero = Object.fromEntries(INTERFACE_STATS.map((stat) => [stat, 0])) as Record<InterfaceStat, number>;
  return { name, ifindex: 2, operstate: 'DOWN', mtu: 1500, mac: '9e:2e:82:3f:38:3a', linkType: 'ether', addresses: [], ...overrides, stats: { ...zero, ...stats } };
}

export function readOk(name: string, interfaces: InterfaceSample[], proc: Record<string, number> = {}): NamespaceResult {
  return { ns: { name, path: `/run/netns/${name}`, inode: name.length }, ok: true, sample: { interfaces, proc, procErrors: [], collectors: collectorSample({}, NO_COLLECTORS) }, durationMs: 1 };
}

export function snapshotOf(results: NamespaceResult[], timestampMs = 1_700_000_000_000): Snapshot {
  return { timestampMs, durationMs: 12, results, discoveredCount: results.length, discoveryErrors: [], unlistedDirs: [] };
}
