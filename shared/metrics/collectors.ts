import { CONNTRACK_STATS } from '../collectors.js';
import type { MetricSpec } from './catalogue.js';

/**
 * The netstat, sockstat and conntrack families: node_exporter's names with `netns_` for `node_`,
 * so its dashboards' queries carry over. Typed properly where node_exporter leaves them untyped.
 */

/** netstat fields that are levels or settings, not running totals. */
const NETSTAT_GAUGES = new Set([
  'Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab',
]);

/** `Tcp_RetransSegs` → netns_netstat_Tcp_RetransSegs; help as node_exporter words it. */
export function netstatMetric(key: string): MetricSpec {
  const protocolEnd = key.indexOf('_');
  return {
    name: `netns_netstat_${key}`,
    help: `Statistic ${key.slice(0, protocolEnd)}${key.slice(protocolEnd + 1)} in the network namespace.`,
    type: NETSTAT_GAUGES.has(key) ? 'gauge' : 'counter',
    labels: ['netns'],
  };
}

/** `TCP_inuse` → netns_sockstat_TCP_inuse; every sockstat figure is a level. */
export function sockstatMetric(key: string): MetricSpec {
  const help = key === 'sockets_used'
    ? 'Number of sockets in use in the network namespace.'
    : `Number of ${key.slice(0, key.indexOf('_'))} sockets in state ${key.slice(key.indexOf('_') + 1)} in the network namespace.`;
  return { name: `netns_sockstat_${key}`, help, type: 'gauge', labels: ['netns'] };
}

const CONNTRACK_HELP: Record<string, string> = {
  entries: 'Number of currently allocated flow entries for connection tracking in the network namespace.',
  entries_limit: 'Maximum size of the connection tracking table (nf_conntrack_max) seen from the network namespace.',
  stat_found: 'Number of searched entries which were successful.',
  stat_invalid: 'Number of packets seen which can not be tracked.',
  stat_ignore: 'Number of packets seen which are already connected to a conntrack entry.',
  stat_insert: 'Number of entries inserted into the list.',
  stat_insert_failed: 'Number of entries for which list insertion was attempted but failed.',
  stat_drop: 'Number of packets dropped due to conntrack failure.',
  stat_early_drop: 'Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.',
  stat_search_restart: 'Number of conntrack table lookups which had to be restarted due to hashtable resizes.',
};

/** `entries` → netns_nf_conntrack_entries (gauge); `stat_drop` → netns_nf_conntrack_stat_drop (counter). */
export function conntrackMetric(key: string): MetricSpec {
  return {
    name: `netns_nf_conntrack_${key}`,
    help: CONNTRACK_HELP[key] ?? `Conntrack statistic ${key} in the network namespace.`,
    type: key.startsWith('stat_') ? 'counter' : 'gauge',
    labels: ['netns'],
  };
}

function specs(keys: readonly string[], spec: (key: string) => MetricSpec): Record<string, MetricSpec> {
  return Object.fromEntries(keys.map((key) => [key, spec(key)]));
}

/** The netstat series the default `fields` give on Linux 6.18 (docs/metrics.md lists each). */
export const NETSTAT_DEFAULT_METRICS = specs([
  'Ip_Forwarding', 'IpExt_InOctets', 'IpExt_OutOctets', 'Ip6_InOctets', 'Ip6_OutOctets',
  'Icmp_InMsgs', 'Icmp_InErrors', 'Icmp_OutMsgs', 'Icmp6_InMsgs', 'Icmp6_InErrors', 'Icmp6_OutMsgs',
  'Tcp_ActiveOpens', 'Tcp_PassiveOpens', 'Tcp_CurrEstab', 'Tcp_InSegs', 'Tcp_OutSegs', 'Tcp_RetransSegs', 'Tcp_InErrs', 'Tcp_OutRsts',
  'TcpExt_ListenOverflows', 'TcpExt_ListenDrops', 'TcpExt_SyncookiesSent', 'TcpExt_SyncookiesRecv', 'TcpExt_SyncookiesFailed',
  'TcpExt_TCPSynRetrans', 'TcpExt_TCPTimeouts', 'TcpExt_TCPOFOQueue', 'TcpExt_TCPRcvQDrop',
  'Udp_InDatagrams', 'Udp_OutDatagrams', 'Udp_NoPorts', 'Udp_InErrors', 'Udp_RcvbufErrors', 'Udp_SndbufErrors',
  'Udp6_InDatagrams', 'Udp6_OutDatagrams', 'Udp6_NoPorts', 'Udp6_InErrors', 'Udp6_RcvbufErrors', 'Udp6_SndbufErrors',
  'UdpLite_InErrors', 'UdpLite6_InErrors',
], netstatMetric);

/** The per-namespace sockstat series of Linux 6.18 (host-wide figures are left out, see collectors.ts). */
export const SOCKSTAT_METRICS = specs([
  'sockets_used', 'TCP_inuse', 'TCP_tw', 'UDP_inuse', 'UDPLITE_inuse', 'RAW_inuse', 'FRAG_inuse', 'FRAG_memory',
  'TCP6_inuse', 'UDP6_inuse', 'UDPLITE6_inuse', 'RAW6_inuse', 'FRAG6_inuse', 'FRAG6_memory',
], sockstatMetric);

export const CONNTRACK_METRICS = specs(['entries', 'entries_limit', ...CONNTRACK_STATS.map((name) => `stat_${name}`)], conntrackMetric);
