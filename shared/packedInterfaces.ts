import { INTERFACE_STATS } from './interfaceStats.js';
import type { InterfaceAddress, InterfaceSample } from './snapshot.js';

/**
 * A namespace's devices in the form the setns worker posts them to the main thread: one array of
 * numbers and one string. Structured clone copies these two as two blocks, where an object graph of
 * a few devices (24 statistics each) is rebuilt object by object on the main thread, per namespace.
 *
 * Per device, `numbers` holds ifindex, mtu, the address count, INTERFACE_STATS in order, then each
 * address's prefix length; `text` holds name, operstate, mac, link type, then each address's family,
 * address and scope, every string ended by NUL (which no kernel name or printed address contains).
 */
export interface PackedInterfaces {
  numbers: Float64Array;
  text: string;
}

const STATS = INTERFACE_STATS.length;

export function packInterfaces(interfaces: readonly InterfaceSample[]): PackedInterfaces {
  let count = 0;
  for (const device of interfaces) count += 3 + STATS + device.addresses.length;
  const numbers = new Float64Array(count);
  let text = '';
  let at = 0;
  for (const device of interfaces) {
    numbers[at++] = device.ifindex;
    numbers[at++] = device.mtu;
    numbers[at++] = device.addresses.length;
    for (const stat of INTERFACE_STATS) numbers[at++] = device.stats[stat];
    text += `${device.name}\0${device.operstate}\0${device.mac}\0${device.linkType}\0`;
    for (const address of device.addresses) {
      numbers[at++] = address.prefixLength;
      text += `${address.family}\0${address.address}\0${address.scope}\0`;
    }
  }
  return { numbers, text };
}

/** The devices again, equal to what packInterfaces was given (statistics in INTERFACE_STATS order). */
export function unpackInterfaces(packed: PackedInterfaces): InterfaceSample[] {
  const { numbers: n } = packed;
  const strings = packed.text.split('\0');
  const interfaces: InterfaceSample[] = [];
  let at = 0;
  let next = 0;
  while (at < n.length) {
    const ifindex = n[at]!;
    const mtu = n[at + 1]!;
    const addressCount = n[at + 2]!;
    const s = at + 3;
    // A literal in INTERFACE_STATS order (a test holds it to that): one shape for every device.
    const stats = {
      collisions: n[s]!, multicast: n[s + 1]!,
      rx_bytes: n[s + 2]!, rx_compressed: n[s + 3]!, rx_crc_errors: n[s + 4]!, rx_dropped: n[s + 5]!, rx_errors: n[s + 6]!,
      rx_fifo_errors: n[s + 7]!, rx_frame_errors: n[s + 8]!, rx_length_errors: n[s + 9]!, rx_missed_errors: n[s + 10]!,
      rx_nohandler: n[s + 11]!, rx_over_errors: n[s + 12]!, rx_packets: n[s + 13]!,
      tx_aborted_errors: n[s + 14]!, tx_bytes: n[s + 15]!, tx_carrier_errors: n[s + 16]!, tx_compressed: n[s + 17]!,
      tx_dropped: n[s + 18]!, tx_errors: n[s + 19]!, tx_fifo_errors: n[s + 20]!, tx_heartbeat_errors: n[s + 21]!,
      tx_packets: n[s + 22]!, tx_window_errors: n[s + 23]!,
    };
    at = s + STATS;
    const name = strings[next]!;
    const operstate = strings[next + 1]!;
    const mac = strings[next + 2]!;
    const linkType = strings[next + 3]!;
    next += 4;
    const addresses: InterfaceAddress[] = [];
    for (let i = 0; i < addressCount; i += 1) {
      addresses.push({ family: strings[next] as InterfaceAddress['family'], address: strings[next + 1]!, prefixLength: n[at]!, scope: strings[next + 2]! });
      at += 1;
      next += 3;
    }
    interfaces.push({ name, ifindex, operstate, mtu, mac, linkType, addresses, stats });
  }
  return interfaces;
}
