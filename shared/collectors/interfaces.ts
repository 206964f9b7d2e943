import type { InterfaceStat } from '../interfaceStats.js';
import type { MetricSpec } from '../metricSpec.js';
import { RTM_GETADDR, RTM_GETLINK } from '../parse/netlink.js';

/**
 * The interfaces collector: every device of the namespace with its addresses and full
 * rtnl_link_stats64, asked of the kernel over rtnetlink rather than read from a file. The setns
 * reader sends the dumps itself (parsed by shared/parse/netlink.ts); the nsenter reader runs ip,
 * which sends the same dumps (its JSON parsed by shared/parse/ipJson.ts). Both parsers give the
 * same InterfaceSample, and the registry writes the metrics below from it.
 */

/**
 * The dumps the setns reader asks for, in this order: the kernel sizes a dump's first datagram by
 * the largest receive the socket has seen, so after the (small) address dump all the links come in
 * one datagram instead of several.
 */
export const INTERFACE_DUMPS = [RTM_GETADDR, RTM_GETLINK] as const;

/** ip's arguments for the nsenter reader: JSON, with the statistics in full (`-s -s`). */
export const IP_ADDR_ARGUMENTS = ['-j', '-s', '-s', 'addr', 'show'] as const;

const INTERFACE_STAT_HELP = 'Interface statistics in the network namespace';

export function interfaceStatMetric(stat: InterfaceStat): MetricSpec {
  return { name: `netns_network_${stat}_total`, help: INTERFACE_STAT_HELP, type: 'counter', labels: ['netns', 'device'] };
}

export const NETWORK_UP: MetricSpec = {
  name: 'netns_network_up', help: "Value is 1 if operstate is 'up', 0 otherwise.",
  type: 'gauge', labels: ['netns', 'device'],
};

export const NETWORK_INFO: MetricSpec = {
  name: 'netns_network_info', help: 'Non-numeric data of an interface in the network namespace, value is always 1.',
  type: 'gauge', labels: ['netns', 'device', 'operstate', 'address', 'link_type'],
};

export const NETWORK_MTU: MetricSpec = {
  name: 'netns_network_mtu_bytes', help: 'MTU of an interface in the network namespace.',
  type: 'gauge', labels: ['netns', 'device'],
};
