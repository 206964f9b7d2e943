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

/**
 * Text written as bytes (UTF-8) into a buffer that is kept and grows: a namespace's strings become
 * one string when taken, not one per name, address and separator.
 */
export class TextBytes {
  #bytes = new Uint8Array(4096);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  byte(value: number): void {
    if (this.#length === this.#bytes.length) this.#grow(1);
    this.#bytes[this.#length++] = value;
  }

  /** A string of ASCII characters (names of states, types, families, scopes). */
  ascii(text: string): void {
    if (this.#length + text.length > this.#bytes.length) this.#grow(text.length);
    for (let i = 0; i < text.length; i += 1) this.#bytes[this.#length++] = text.charCodeAt(i);
  }

  /** Bytes as they are: a device name, UTF-8 or not (taking the text decodes it as TextDecoder would). */
  copy(source: Uint8Array, start: number, end: number): void {
    if (this.#length + end - start > this.#bytes.length) this.#grow(end - start);
    // Byte by byte: the pieces are a name or an address, shorter than what a view would cost.
    for (let i = start; i < end; i += 1) this.#bytes[this.#length++] = source[i]!;
  }

  /** A whole number ≥ 0 in decimal. */
  decimal(value: number): void {
    if (value >= 10) this.decimal(Math.floor(value / 10));
    this.byte(0x30 + (value % 10));
  }

  /** A whole number ≥ 0 in lower-case hexadecimal, without leading zeros. */
  hex(value: number): void {
    if (value >= 16) this.hex(Math.floor(value / 16));
    this.byte(HEX_DIGITS[value % 16]!);
  }

  /** Back to an earlier length (what was written after it is dropped). */
  truncate(length: number): void {
    this.#length = length;
  }

  /** The bytes from `start` to `end` of this, written again at the end of `target`. */
  copyTo(target: TextBytes, start: number, end: number): void {
    target.copy(this.#bytes, start, end);
  }

  /** The text from `start` on as a string; what was written from there on is dropped. */
  take(start: number): string {
    const text = UTF8.decode(this.#bytes.subarray(start, this.#length));
    this.#length = start;
    return text;
  }

  #grow(more: number): void {
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + more));
    bigger.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = bigger;
  }
}

const UTF8 = new TextDecoder();
/** Character codes of 0-9a-f. */
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/**
 * Where the netlink parser writes devices in the packed form (parse/netlink.ts): numbers into one
 * buffer that is kept and grows, so a batch of namespaces is written without an allocation per
 * number, and the text of the namespace being written as bytes.
 */
export class PackedInterfacesWriter {
  #numbers = new Float64Array(1024);
  #length = 0;
  readonly text = new TextBytes();

  /** Numbers written so far. */
  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#numbers.length) {
      const bigger = new Float64Array(this.#numbers.length * 2);
      bigger.set(this.#numbers);
      this.#numbers = bigger;
    }
    this.#numbers[this.#length++] = value;
  }

  /** Writes over the number at `index` (below `length`): a count known only once what it counts is written. */
  set(index: number, value: number): void {
    this.#numbers[index] = value;
  }

  /** Back to an earlier state (a namespace whose dump did not parse leaves nothing behind). */
  truncate(length: number, textLength: number): void {
    this.#length = length;
    this.text.truncate(textLength);
  }

  /** The text written since the last call, as one string; the next namespace's starts empty. */
  takeText(): string {
    return this.text.take(0);
  }

  /** A copy of the numbers written since `start`. */
  numbersFrom(start: number): Float64Array {
    return this.#numbers.slice(start, this.#length);
  }

  /** Empty again, keeping its buffers. */
  reset(): void {
    this.#length = 0;
    this.text.truncate(0);
  }
}

/** The devices as objects (statistics in INTERFACE_STATS order): what the rest of the agent reads. */
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
