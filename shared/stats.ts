/**
 * The 24 interface statistics the kernel exposes in /sys/class/net/<dev>/statistics/, and where
 * each one sits in iproute2's JSON (`ip -j -s -s`), which reads the same rtnl_link_stats64 over
 * netlink. iproute2 omits `compressed` and `nohandler` while they are zero, hence `zeroWhenAbsent`.
 */
export const INTERFACE_STATS = [
  'collisions', 'multicast',
  'rx_bytes', 'rx_compressed', 'rx_crc_errors', 'rx_dropped', 'rx_errors', 'rx_fifo_errors',
  'rx_frame_errors', 'rx_length_errors', 'rx_missed_errors', 'rx_nohandler', 'rx_over_errors',
  'rx_packets',
  'tx_aborted_errors', 'tx_bytes', 'tx_carrier_errors', 'tx_compressed', 'tx_dropped', 'tx_errors',
  'tx_fifo_errors', 'tx_heartbeat_errors', 'tx_packets', 'tx_window_errors',
] as const;

export type InterfaceStat = (typeof INTERFACE_STATS)[number];

/** The original exporter's default list (its config.example.yaml). */
export const DEFAULT_INTERFACE_STATS: readonly InterfaceStat[] = [
  'rx_bytes', 'rx_packets', 'rx_dropped', 'tx_bytes', 'tx_packets',
];

export interface IpJsonStatLocation {
  direction: 'rx' | 'tx';
  key: string;
  zeroWhenAbsent: boolean;
}

export function ipJsonLocation(stat: InterfaceStat): IpJsonStatLocation {
  if (stat === 'collisions') return { direction: 'tx', key: 'collisions', zeroWhenAbsent: false };
  if (stat === 'multicast') return { direction: 'rx', key: 'multicast', zeroWhenAbsent: false };
  const direction = stat.startsWith('rx_') ? 'rx' : 'tx';
  const key = stat.slice(3);
  return { direction, key, zeroWhenAbsent: key === 'compressed' || key === 'nohandler' };
}

export function isInterfaceStat(name: string): name is InterfaceStat {
  return (INTERFACE_STATS as readonly string[]).includes(name);
}
