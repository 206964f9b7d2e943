/** The 24 interface statistics the kernel exposes in /sys/class/net/<dev>/statistics/ (rtnl_link_stats64). */
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

export function isInterfaceStat(name: string): name is InterfaceStat {
  return (INTERFACE_STATS as readonly string[]).includes(name);
}
