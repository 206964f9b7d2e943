import { collectorSample } from '../../shared/collectors/collectorList.js';
import { NO_COLLECTORS } from './config.js';
import { INTERFACE_STATS, type InterfaceStat } from '../../shared/interfaceStats.js';
import type { InterfaceSample, NamespaceResult, Snapshot } from '../../shared/snapshot.js';

/**
 * A Snapshot made in memory (no namespaces needed): `namespaces` × `devices`, each statistic a
 * distinct value derived from its position so a test can tell any two series apart.
 */
export function syntheticSnapshot(options: { names: readonly string[]; devices: number; timestampMs?: number; offset?: number }): Snapshot {
  const results: NamespaceResult[] = options.names.map((name, nsIndex) => ({
    ns: { name, path: `/run/netns/${name}`, inode: 4026532000 + nsIndex },
    ok: true,
    durationMs: 1,
    sample: {
      interfaces: Array.from({ length: options.devices }, (_, devIndex) => device(nsIndex, devIndex, options.offset ?? 0)),
      proc: {},
      procErrors: [],
      collectors: collectorSample({}, NO_COLLECTORS),
    },
  }));
  return { timestampMs: options.timestampMs ?? Date.now(), durationMs: 5, results, discoveredCount: results.length, discoveryErrors: [], unlistedDirs: [] };
}

function device(nsIndex: number, devIndex: number, offset: number): InterfaceSample {
  const stats = Object.fromEntries(INTERFACE_STATS.map((stat, statIndex) => [stat, offset + nsIndex * 1_000_000 + devIndex * 1_000 + statIndex])) as Record<InterfaceStat, number>;
  return {
    name: devIndex === 0 ? 'lo' : `veth${devIndex}`,
    ifindex: devIndex + 1,
    operstate: devIndex === 0 ? 'UNKNOWN' : 'UP',
    mtu: devIndex === 0 ? 65536 : 1500,
    mac: `02:00:00:${hex(nsIndex >> 8)}:${hex(nsIndex & 0xff)}:${hex(devIndex)}`,
    linkType: devIndex === 0 ? 'loopback' : 'ether',
    addresses: devIndex === 0 ? [] : [{ family: 'inet', address: `10.${(nsIndex >> 8) & 0xff}.${nsIndex & 0xff}.${devIndex}`, prefixLength: 24, scope: 'global' }],
    stats,
  };
}

function hex(value: number): string {
  return (value & 0xff).toString(16).padStart(2, '0');
}
