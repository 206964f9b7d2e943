import type { InterfaceStat } from '../interfaceStats.js';
import type { InterfaceAddress, InterfaceSample } from '../snapshot.js';
import { ParseError } from './error.js';

/**
 * rtnetlink, as the setns reader speaks it: the dump requests it sends and the pure parser of the
 * replies. The mapping copies iproute2's (`ip -j -s -s addr show`), so both readers give identical
 * samples: the same operstate and link type names, the same MAC and address spelling.
 */

const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_HDRLEN = 16;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_STATS = 7;
const IFLA_OPERSTATE = 16;
const IFLA_STATS64 = 23;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;

/** iproute2's oper_states[]; an index past the end prints no operstate, which reads as UNKNOWN. */
const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];

/** iproute2's lib/ll_types.c for the device types a network node shows; others print as `[N]`. */
const LINK_TYPES: Record<number, string> = {
  0: 'netrom', 1: 'ether', 2: 'eether', 3: 'ax25', 4: 'pronet', 5: 'chaos', 6: 'ieee802', 7: 'arcnet',
  8: 'atalk', 15: 'dlci', 19: 'atm', 23: 'metricom', 24: 'ieee1394', 27: 'eui64', 32: 'infiniband',
  256: 'slip', 257: 'cslip', 258: 'slip6', 259: 'cslip6', 260: 'rsrvd', 264: 'adapt', 270: 'rose',
  271: 'x25', 272: 'hwx25', 280: 'can', 512: 'ppp', 513: 'hdlc', 516: 'lapb', 517: 'ddcmp', 518: 'rawhdlc',
  519: 'rawip', 768: 'ipip', 769: 'tunnel6', 770: 'frad', 771: 'skip', 772: 'loopback', 773: 'localtlk',
  774: 'fddi', 775: 'bif', 776: 'sit', 777: 'ip/ddp', 778: 'gre', 779: 'pimreg', 780: 'hippi', 781: 'ash',
  782: 'econet', 783: 'irda', 784: 'fcpp', 785: 'fcal', 786: 'fcpl', 787: 'fcfb0', 800: 'tr',
  801: 'ieee802.11', 802: 'ieee802.11/prism', 803: 'ieee802.11/radiotap', 804: 'ieee802.15.4',
  805: 'ieee802.15.4/monitor', 820: 'phonet', 821: 'phonet_pipe', 822: 'caif', 823: 'ip6gre',
  824: 'netlink', 825: '6lowpan', 826: 'vsockmon', 0xfffe: 'none', 0xffff: 'void',
};
const ARPHRD_TUNNEL = 768;
const ARPHRD_TUNNEL6 = 769;
const ARPHRD_SIT = 776;
const ARPHRD_IPGRE = 778;
const ARPHRD_IP6GRE = 823;

/** rtnl_rtscope_n2a without /etc/iproute2/rt_scopes: the kernel only uses these. */
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

/** A dump request for every link (RTM_GETLINK) or every address (RTM_GETADDR) of the namespace. */
export function buildDumpRequest(type: typeof RTM_GETLINK | typeof RTM_GETADDR, seq: number): Uint8Array {
  // ifinfomsg is 16 bytes, ifaddrmsg 8; both start with the family byte.
  const bodyLength = type === RTM_GETLINK ? 16 : 8;
  const bytes = new Uint8Array(NLMSG_HDRLEN + bodyLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bytes.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true);
  bytes[NLMSG_HDRLEN] = type === RTM_GETLINK ? AF_PACKET : AF_UNSPEC;
  return bytes;
}

export interface NetlinkMessage {
  type: number;
  seq: number;
  payload: Uint8Array;
}

/**
 * Splits received bytes (one recv chunk, or several concatenated) into messages. `done` is true once
 * NLMSG_DONE was seen; an NLMSG_ERROR with a non-zero errno throws, naming the errno.
 */
export function splitMessages(bytes: Uint8Array): { messages: NetlinkMessage[]; done: boolean } {
  const messages: NetlinkMessage[] = [];
  const done = walkMessages(bytes, (type, seq, offset, length) => {
    messages.push({ type, seq, payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + length) });
  });
  return { messages, done };
}

/**
 * Whether received bytes end the dump: NLMSG_DONE, or an NLMSG_ERROR (which throws, as in
 * splitMessages). The receive loop asks after every datagram, so it builds no messages.
 */
export function endsWithDone(bytes: Uint8Array): boolean {
  return walkMessages(bytes, () => {});
}

/** Checks every message header up to NLMSG_DONE (true) or the end (false); hands on the data messages. */
function walkMessages(bytes: Uint8Array, onMessage: (type: number, seq: number, offset: number, length: number) => void): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= bytes.length) {
    const length = view.getUint32(offset, true);
    const type = view.getUint16(offset + 4, true);
    if (length < NLMSG_HDRLEN || offset + length > bytes.length) {
      throw new ParseError(`netlink message at byte ${offset} claims ${length} bytes, ${bytes.length - offset} left`);
    }
    if (type === NLMSG_DONE) return true;
    if (type === NLMSG_ERROR) {
      const errno = length >= NLMSG_HDRLEN + 4 ? -view.getInt32(offset + NLMSG_HDRLEN, true) : -1;
      if (errno !== 0) throw new ParseError(`netlink answered with error ${errno}`);
    } else {
      onMessage(type, view.getUint32(offset + 8, true), offset, length);
    }
    offset += align4(length);
  }
  return false;
}

/** The attributes the parser looks at; a link carries dozens, and slicing each one out is the costly part. */
const LINK_ATTRIBUTES: ReadonlySet<number> = new Set([IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_STATS, IFLA_OPERSTATE, IFLA_STATS64]);
const ADDRESS_ATTRIBUTES: ReadonlySet<number> = new Set([IFA_ADDRESS, IFA_LOCAL]);

/**
 * Route attributes (rtattr) from `start` on: type → payload, the first of each `wanted` type. Every
 * attribute's length is checked. Nested-flag bits are masked off.
 */
function readAttributes(payload: Uint8Array, start: number, wanted: ReadonlySet<number>): Map<number, Uint8Array> {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const attributes = new Map<number, Uint8Array>();
  let offset = start;
  while (offset + 4 <= payload.length) {
    const length = view.getUint16(offset, true);
    if (length < 4 || offset + length > payload.length) {
      throw new ParseError(`route attribute at byte ${offset} claims ${length} bytes, ${payload.length - offset} left`);
    }
    const type = view.getUint16(offset + 2, true) & 0x3fff;
    if (wanted.has(type) && !attributes.has(type)) attributes.set(type, payload.subarray(offset + 4, offset + length));
    offset += align4(length);
  }
  return attributes;
}

interface LinkRecord {
  ifindex: number;
  type: number;
  attributes: Map<number, Uint8Array>;
}

interface AddressRecord {
  ifindex: number;
  address: InterfaceAddress;
}

/**
 * The devices of one namespace from its RTM_GETLINK and RTM_GETADDR dump replies (every recv chunk
 * concatenated, NLMSG_DONE included), in the kernel's order, each with its addresses in dump order:
 * what `ip -j -s -s addr show` prints.
 */
export function parseInterfaceDumps(linkDump: Uint8Array, addrDump: Uint8Array): InterfaceSample[] {
  const links = completeDump(linkDump, 'link').filter((m) => m.type === RTM_NEWLINK).map(toLinkRecord);
  const addresses = completeDump(addrDump, 'address').filter((m) => m.type === RTM_NEWADDR).flatMap(toAddressRecord);
  const byIndex = new Map<number, InterfaceAddress[]>();
  for (const { ifindex, address } of addresses) {
    const list = byIndex.get(ifindex) ?? [];
    list.push(address);
    byIndex.set(ifindex, list);
  }
  return links.flatMap((link) => {
    const name = link.attributes.get(IFLA_IFNAME);
    if (name === undefined) return [];
    return [toInterfaceSample(link, cString(name), byIndex.get(link.ifindex) ?? [])];
  });
}

function completeDump(bytes: Uint8Array, what: string): NetlinkMessage[] {
  const { messages, done } = splitMessages(bytes);
  if (!done) throw new ParseError(`${what} dump ends without NLMSG_DONE (${bytes.length} bytes)`);
  return messages;
}

function toLinkRecord(message: NetlinkMessage): LinkRecord {
  const { payload } = message;
  if (payload.length < 16) throw new ParseError(`RTM_NEWLINK payload of ${payload.length} bytes is shorter than ifinfomsg`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { type: view.getUint16(2, true), ifindex: view.getInt32(4, true), attributes: readAttributes(payload, 16, LINK_ATTRIBUTES) };
}

function toAddressRecord(message: NetlinkMessage): AddressRecord[] {
  const { payload } = message;
  if (payload.length < 8) throw new ParseError(`RTM_NEWADDR payload of ${payload.length} bytes is shorter than ifaddrmsg`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = payload[0]!;
  if (family !== AF_INET && family !== AF_INET6) return [];
  const attributes = readAttributes(payload, 8, ADDRESS_ATTRIBUTES);
  // Like iproute2: IFA_LOCAL is the own address on point-to-point links, where IFA_ADDRESS is the peer.
  const raw = attributes.get(IFA_LOCAL) ?? attributes.get(IFA_ADDRESS);
  if (raw === undefined) return [];
  const scope = payload[3]!;
  return [{
    ifindex: view.getUint32(4, true),
    address: {
      family: family === AF_INET ? 'inet' : 'inet6',
      address: family === AF_INET ? formatIPv4(raw) : formatIPv6(raw),
      prefixLength: payload[1]!,
      scope: SCOPES[scope] ?? String(scope),
    },
  }];
}

function toInterfaceSample(link: LinkRecord, name: string, addresses: InterfaceAddress[]): InterfaceSample {
  const { attributes } = link;
  const operstate = attributes.get(IFLA_OPERSTATE);
  const mtu = attributes.get(IFLA_MTU);
  const mac = attributes.get(IFLA_ADDRESS);
  return {
    name,
    ifindex: link.ifindex,
    operstate: (operstate !== undefined && operstate.length > 0 ? OPERSTATES[operstate[0]!] : undefined) ?? 'UNKNOWN',
    mtu: mtu !== undefined && mtu.length >= 4 ? u32(mtu, 0) : 0,
    mac: mac !== undefined ? formatLinkAddress(mac, link.type) : '',
    linkType: LINK_TYPES[link.type] ?? `[${link.type}]`,
    addresses,
    stats: readLinkStats(name, attributes),
  };
}

/** rtnl_link_stats64 (u64 each); on a kernel without it, the 32-bit rtnl_link_stats, as iproute2 does. */
function readLinkStats(device: string, attributes: Map<number, Uint8Array>): Record<InterfaceStat, number> {
  const stats64 = attributes.get(IFLA_STATS64);
  const stats32 = attributes.get(IFLA_STATS);
  const width = stats64 !== undefined ? 8 : 4;
  const raw = stats64 ?? stats32;
  if (raw === undefined) throw new ParseError(`device ${JSON.stringify(device)} has neither IFLA_STATS64 nor IFLA_STATS`);
  // Older kernels end before rx_nohandler: a missing trailing field is zero, as iproute2 prints it.
  if (raw.length < 23 * width) throw new ParseError(`device ${JSON.stringify(device)}: statistics of ${raw.length} bytes are too short`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  // A u64 as two halves: the sum rounds exactly as Number(bigint) does, without the BigInt.
  const field = (index: number): number => {
    const at = index * width;
    if (at + width > raw.length) return 0;
    return width === 8 ? view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32 : view.getUint32(at, true);
  };
  // A literal in INTERFACE_STATS order, each field read from its index in struct rtnl_link_stats64
  // (rx/tx packets 0-1, bytes 2-3, errors 4-5, dropped 6-7, multicast 8, collisions 9, the detailed
  // rx errors 10-15 and tx errors 16-20, rx/tx compressed 21-22, rx_nohandler 23): every device's
  // statistics get one shape, cheap to build and to read.
  return {
    collisions: field(9), multicast: field(8),
    rx_bytes: field(2), rx_compressed: field(21), rx_crc_errors: field(12),
    rx_dropped: field(6), rx_errors: field(4), rx_fifo_errors: field(14),
    rx_frame_errors: field(13), rx_length_errors: field(10),
    rx_missed_errors: field(15), rx_nohandler: field(23), rx_over_errors: field(11),
    rx_packets: field(0),
    tx_aborted_errors: field(16), tx_bytes: field(3), tx_carrier_errors: field(17),
    tx_compressed: field(22), tx_dropped: field(7), tx_errors: field(5),
    tx_fifo_errors: field(18), tx_heartbeat_errors: field(19), tx_packets: field(1),
    tx_window_errors: field(20),
  };
}

/** iproute2's ll_addr_n2a: tunnels carry IP addresses, everything else prints as hex pairs. */
export function formatLinkAddress(bytes: Uint8Array, linkType: number): string {
  if (bytes.length === 4 && (linkType === ARPHRD_TUNNEL || linkType === ARPHRD_SIT || linkType === ARPHRD_IPGRE)) return formatIPv4(bytes);
  if (bytes.length === 16 && (linkType === ARPHRD_TUNNEL6 || linkType === ARPHRD_IP6GRE)) return formatIPv6(bytes);
  let text = '';
  for (let i = 0; i < bytes.length; i += 1) text += (i === 0 ? '' : ':') + HEX_PAIRS[bytes[i]!]!;
  return text;
}

const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new ParseError(`an IPv4 address has 4 bytes, got ${bytes.length}`);
  return `${bytes[0]!}.${bytes[1]!}.${bytes[2]!}.${bytes[3]!}`;
}

/** glibc's inet_ntop: the first longest run of ≥2 zero words becomes `::`; v4-mapped keeps dotted quads. */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new ParseError(`an IPv6 address has 16 bytes, got ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 8; i += 1) words.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  const best = { base: -1, len: 0 };
  let runBase = -1;
  for (let i = 0; i < 8; i += 1) {
    if (words[i] !== 0) {
      runBase = -1;
      continue;
    }
    if (runBase === -1) runBase = i;
    if (i - runBase + 1 > best.len) {
      best.base = runBase;
      best.len = i - runBase + 1;
    }
  }
  if (best.len < 2) {
    best.base = -1;
    best.len = 0;
  }
  const embedsIPv4 = best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  let text = '';
  for (let i = 0; i < 8; i += 1) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && embedsIPv4) return text + formatIPv4(bytes.subarray(12));
    text += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) text += ':';
  return text;
}

const UTF8 = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const length = end === -1 ? bytes.length : end;
  // Device names are short and nearly always ASCII; TextDecoder costs more than the name.
  let text = '';
  for (let i = 0; i < length; i += 1) {
    if (bytes[i]! >= 0x80) return UTF8.decode(bytes.subarray(0, length));
    text += String.fromCharCode(bytes[i]!);
  }
  return text;
}

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

function align4(length: number): number {
  return (length + 3) & ~3;
}
