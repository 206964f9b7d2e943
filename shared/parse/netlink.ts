import { INTERFACE_STATS, type InterfaceStat } from '../interfaceStats.js';
import { TextBytes, type PackedInterfacesWriter } from '../packedInterfaces.js';
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

/**
 * Whether received bytes end the dump: NLMSG_DONE, or an NLMSG_ERROR with a non-zero errno, which
 * throws, naming the errno. The receive loop asks after every datagram, so it builds no messages.
 */
export function endsWithDone(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  return walkMessages(bytes, noMessage, start, end);
}

const noMessage = (): void => {};

/** Checks every message header up to NLMSG_DONE (true) or the end (false); hands on the data messages. */
function walkMessages(bytes: Uint8Array, onMessage: (type: number, offset: number, length: number) => void, start = 0, end = bytes.length): boolean {
  const view = viewOf(bytes);
  let offset = start;
  while (offset + NLMSG_HDRLEN <= end) {
    const length = view.getUint32(offset, true);
    const type = view.getUint16(offset + 4, true);
    if (length < NLMSG_HDRLEN || offset + length > end) {
      throw new ParseError(`netlink message at byte ${offset - start} claims ${length} bytes, ${end - offset} left`);
    }
    if (type === NLMSG_DONE) return true;
    if (type === NLMSG_ERROR) {
      const errno = length >= NLMSG_HDRLEN + 4 ? -view.getInt32(offset + NLMSG_HDRLEN, true) : -1;
      if (errno !== 0) throw new ParseError(`netlink answered with error ${errno}`);
    } else {
      onMessage(type, offset, length);
    }
    offset += align4(length);
  }
  return false;
}

/**
 * Where a message's wanted attributes start (-1: absent) and how long each is, found in one walk
 * over its rtattrs: offsets into the dump, so no attribute is sliced out (a link carries dozens).
 */
const attributeStart = new Int32Array(IFLA_STATS64 + 1);
const attributeLength = new Int32Array(IFLA_STATS64 + 1);

/**
 * Records the first of each attribute type up to `highest` in the message at `start..end` of the
 * dump; every attribute's length is checked. Nested-flag bits are masked off.
 */
function findAttributes(view: DataView, start: number, end: number, highest: number): void {
  attributeStart.fill(-1, 0, highest + 1);
  let offset = start;
  while (offset + 4 <= end) {
    const length = view.getUint16(offset, true);
    if (length < 4 || offset + length > end) {
      throw new ParseError(`route attribute at byte ${offset} claims ${length} bytes, ${end - offset} left`);
    }
    const type = view.getUint16(offset + 2, true) & 0x3fff;
    if (type <= highest && attributeStart[type] === -1) {
      attributeStart[type] = offset + 4;
      attributeLength[type] = length - 4;
    }
    offset += align4(length);
  }
}

/** The field of struct rtnl_link_stats64 (its index) behind each statistic, in INTERFACE_STATS order. */
const KERNEL_FIELD: Record<InterfaceStat, number> = {
  rx_packets: 0, tx_packets: 1, rx_bytes: 2, tx_bytes: 3, rx_errors: 4, tx_errors: 5, rx_dropped: 6, tx_dropped: 7,
  multicast: 8, collisions: 9, rx_length_errors: 10, rx_over_errors: 11, rx_crc_errors: 12, rx_frame_errors: 13,
  rx_fifo_errors: 14, rx_missed_errors: 15, tx_aborted_errors: 16, tx_carrier_errors: 17, tx_fifo_errors: 18,
  tx_heartbeat_errors: 19, tx_window_errors: 20, rx_compressed: 21, tx_compressed: 22, rx_nohandler: 23,
};
const STATS_FIELDS = Int32Array.from(INTERFACE_STATS, (stat) => KERNEL_FIELD[stat]);

/**
 * One namespace's addresses while its links are written: for each, its device, prefix length and
 * where its packed text (family, address, scope) lies in `addressText`; `nextOf` chains each
 * device's addresses in dump order. Kept between reads.
 */
const addressDevice: number[] = [];
const addressPrefix: number[] = [];
const addressTextEnd: number[] = [];
const addressText = new TextBytes();
const nextOf: number[] = [];
const firstOf = new Map<number, number>();

/**
 * The devices of one namespace from its RTM_GETLINK and RTM_GETADDR dump replies (every recv chunk
 * concatenated, NLMSG_DONE included), in the kernel's order, each with its addresses in dump order,
 * as `ip -j -s -s addr show` prints them: written straight into `out` in the packed form
 * (packedInterfaces.ts), without an object or a string per device, address or attribute. A
 * ParseError leaves `out` as it was.
 */
export function parseInterfaceDumpsInto(linkDump: Uint8Array, addrDump: Uint8Array, out: PackedInterfacesWriter): void {
  collectAddresses(addrDump);
  const numbersBefore = out.length;
  const textBefore = out.text.length;
  try {
    writeLinks(linkDump, out);
  } catch (error) {
    out.truncate(numbersBefore, textBefore);
    throw error;
  }
}

function collectAddresses(dump: Uint8Array): void {
  addressDevice.length = 0;
  addressPrefix.length = 0;
  addressTextEnd.length = 0;
  addressText.truncate(0);
  const view = viewOf(dump);
  completeDump(dump, 'address', (type, offset, length) => {
    if (type !== RTM_NEWADDR) return;
    const payload = offset + NLMSG_HDRLEN;
    const end = offset + length;
    if (end - payload < 8) throw new ParseError(`RTM_NEWADDR payload of ${end - payload} bytes is shorter than ifaddrmsg`);
    const family = dump[payload]!;
    if (family !== AF_INET && family !== AF_INET6) return;
    findAttributes(view, payload + 8, end, IFA_LOCAL);
    // Like iproute2: IFA_LOCAL is the own address on point-to-point links, where IFA_ADDRESS is the peer.
    const which = attributeStart[IFA_LOCAL] !== -1 ? IFA_LOCAL : IFA_ADDRESS;
    const at = attributeStart[which]!;
    if (at === -1) return;
    const scope = dump[payload + 3]!;
    addressText.ascii(family === AF_INET ? 'inet\0' : 'inet6\0');
    if (family === AF_INET) writeIPv4(addressText, dump, at, attributeLength[which]!);
    else writeIPv6(addressText, dump, at, attributeLength[which]!);
    addressText.byte(0);
    const scopeName = SCOPES[scope];
    if (scopeName !== undefined) addressText.ascii(scopeName);
    else addressText.decimal(scope);
    addressText.byte(0);
    addressDevice.push(view.getUint32(payload + 4, true));
    addressPrefix.push(dump[payload + 1]!);
    addressTextEnd.push(addressText.length);
  });
  // Chained back to front, so that each device's chain runs in dump order.
  firstOf.clear();
  nextOf.length = addressDevice.length;
  for (let i = addressDevice.length - 1; i >= 0; i -= 1) {
    nextOf[i] = firstOf.get(addressDevice[i]!) ?? -1;
    firstOf.set(addressDevice[i]!, i);
  }
}

function writeLinks(dump: Uint8Array, out: PackedInterfacesWriter): void {
  const view = viewOf(dump);
  const { text } = out;
  completeDump(dump, 'link', (type, offset, length) => {
    if (type !== RTM_NEWLINK) return;
    const payload = offset + NLMSG_HDRLEN;
    const end = offset + length;
    if (end - payload < 16) throw new ParseError(`RTM_NEWLINK payload of ${end - payload} bytes is shorter than ifinfomsg`);
    const linkType = view.getUint16(payload + 2, true);
    const ifindex = view.getInt32(payload + 4, true);
    findAttributes(view, payload + 16, end, IFLA_STATS64);
    const nameAt = attributeStart[IFLA_IFNAME]!;
    if (nameAt === -1) return;
    const nameLength = attributeLength[IFLA_IFNAME]!;
    const operstateAt = attributeStart[IFLA_OPERSTATE]!;
    const mtuAt = attributeStart[IFLA_MTU]!;
    const macAt = attributeStart[IFLA_ADDRESS]!;
    const stats64At = attributeStart[IFLA_STATS64]!;
    const width = stats64At !== -1 ? 8 : 4;
    const statsAt = stats64At !== -1 ? stats64At : attributeStart[IFLA_STATS]!;
    const device = () => JSON.stringify(cString(dump, nameAt, nameLength));
    if (statsAt === -1) throw new ParseError(`device ${device()} has neither IFLA_STATS64 nor IFLA_STATS`);
    const statsLength = attributeLength[width === 8 ? IFLA_STATS64 : IFLA_STATS]!;
    // Older kernels end before rx_nohandler: a missing trailing field is zero, as iproute2 prints it.
    if (statsLength < 23 * width) throw new ParseError(`device ${device()}: statistics of ${statsLength} bytes are too short`);
    let addressCount = 0;
    for (let i = firstOf.get(ifindex) ?? -1; i !== -1; i = nextOf[i]!) addressCount += 1;
    out.push(ifindex);
    out.push(mtuAt !== -1 && attributeLength[IFLA_MTU]! >= 4 ? view.getUint32(mtuAt, true) : 0);
    out.push(addressCount);
    for (let s = 0; s < STATS_FIELDS.length; s += 1) {
      const at = STATS_FIELDS[s]! * width;
      // A u64 as two halves: the sum rounds exactly as Number(bigint) does, without the BigInt.
      if (at + width > statsLength) out.push(0);
      else if (width === 8) out.push(view.getUint32(statsAt + at, true) + view.getUint32(statsAt + at + 4, true) * 2 ** 32);
      else out.push(view.getUint32(statsAt + at, true));
    }
    // The name's bytes up to its NUL, decoded with the rest when the text is taken.
    let nameEnd = nameAt;
    while (nameEnd < nameAt + nameLength && dump[nameEnd] !== 0) nameEnd += 1;
    text.copy(dump, nameAt, nameEnd);
    text.byte(0);
    text.ascii((operstateAt !== -1 && attributeLength[IFLA_OPERSTATE]! > 0 ? OPERSTATES[dump[operstateAt]!] : undefined) ?? 'UNKNOWN');
    text.byte(0);
    if (macAt !== -1) writeLinkAddress(text, dump, macAt, attributeLength[IFLA_ADDRESS]!, linkType);
    text.byte(0);
    const typeName = LINK_TYPES[linkType];
    if (typeName !== undefined) text.ascii(typeName);
    else {
      text.byte(0x5b);
      text.decimal(linkType);
      text.byte(0x5d);
    }
    text.byte(0);
    for (let i = firstOf.get(ifindex) ?? -1; i !== -1; i = nextOf[i]!) {
      out.push(addressPrefix[i]!);
      addressText.copyTo(text, i === 0 ? 0 : addressTextEnd[i - 1]!, addressTextEnd[i]!);
    }
  });
}

/** Walks a whole dump's data messages; a dump cut before NLMSG_DONE is a ParseError. */
function completeDump(bytes: Uint8Array, what: string, onMessage: (type: number, offset: number, length: number) => void): void {
  if (!walkMessages(bytes, onMessage)) throw new ParseError(`${what} dump ends without NLMSG_DONE (${bytes.length} bytes)`);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** iproute2's ll_addr_n2a: tunnels carry IP addresses, everything else prints as hex pairs. */
function writeLinkAddress(text: TextBytes, bytes: Uint8Array, at: number, length: number, linkType: number): void {
  if (length === 4 && (linkType === ARPHRD_TUNNEL || linkType === ARPHRD_SIT || linkType === ARPHRD_IPGRE)) return writeIPv4(text, bytes, at, length);
  if (length === 16 && (linkType === ARPHRD_TUNNEL6 || linkType === ARPHRD_IP6GRE)) return writeIPv6(text, bytes, at, length);
  for (let i = 0; i < length; i += 1) {
    if (i !== 0) text.byte(0x3a);
    if (bytes[at + i]! < 16) text.byte(0x30);
    text.hex(bytes[at + i]!);
  }
}

function writeIPv4(text: TextBytes, bytes: Uint8Array, at: number, length: number): void {
  if (length !== 4) throw new ParseError(`an IPv4 address has 4 bytes, got ${length}`);
  for (let i = 0; i < 4; i += 1) {
    if (i !== 0) text.byte(0x2e);
    text.decimal(bytes[at + i]!);
  }
}

const words = new Uint16Array(8);

/** glibc's inet_ntop: the first longest run of ≥2 zero words becomes `::`; v4-mapped keeps dotted quads. */
function writeIPv6(text: TextBytes, bytes: Uint8Array, at: number, length: number): void {
  if (length !== 16) throw new ParseError(`an IPv6 address has 16 bytes, got ${length}`);
  for (let i = 0; i < 8; i += 1) words[i] = (bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!;
  let bestBase = -1;
  let bestLength = 0;
  let runBase = -1;
  for (let i = 0; i < 8; i += 1) {
    if (words[i] !== 0) {
      runBase = -1;
      continue;
    }
    if (runBase === -1) runBase = i;
    if (i - runBase + 1 > bestLength) {
      bestBase = runBase;
      bestLength = i - runBase + 1;
    }
  }
  if (bestLength < 2) {
    bestBase = -1;
    bestLength = 0;
  }
  const embedsIPv4 = bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));
  for (let i = 0; i < 8; i += 1) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLength) {
      if (i === bestBase) text.byte(0x3a);
      continue;
    }
    if (i !== 0) text.byte(0x3a);
    if (i === 6 && embedsIPv4) return writeIPv4(text, bytes, at + 12, 4);
    text.hex(words[i]!);
  }
  if (bestBase !== -1 && bestBase + bestLength === 8) text.byte(0x3a);
}

const UTF8 = new TextDecoder();

/** A NUL-terminated name of at most `length` bytes at `at` (for messages: the packed text has the bytes). */
function cString(bytes: Uint8Array, at: number, length: number): string {
  let end = at;
  while (end < at + length && bytes[end] !== 0) end += 1;
  return UTF8.decode(bytes.subarray(at, end));
}

function align4(length: number): number {
  return (length + 3) & ~3;
}
