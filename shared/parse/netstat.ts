import { ParseError } from './error.js';

/**
 * What a line-oriented /proc statistics file yields: `Protocol_Field` → value, and one note per
 * line that had to be skipped (a truncated read, a header without its values). The kernel never
 * writes malformed lines, so a note means the read was cut short; what parsed is still good.
 */
export interface ParsedStats {
  values: Record<string, number>;
  skipped: string[];
}

/** A header line of snmp/netstat, parsed: its protocol, field count and the columns kept. */
interface HeaderColumns {
  label: string;
  protocol: string;
  count: number;
  kept: { index: number; key: string }[];
}

/** Answers kept per selection; a kernel shows a few dozen header lines and a few hundred names. */
const MAX_REMEMBERED = 5_000;

/**
 * Which `Protocol_Field` names to keep (all, or those a pattern matches). Every namespace shows the
 * same header lines and names, so the answers are remembered: after the first namespace a header
 * costs one map lookup instead of building ~130 names and testing each against the pattern.
 */
export class FieldSelection {
  readonly #pattern: RegExp | null;
  readonly #headers = new Map<string, HeaderColumns>();
  readonly #snmp6 = new Map<string, string | null>();

  constructor(pattern: RegExp | null) {
    this.#pattern = pattern;
  }

  keeps(key: string): boolean {
    return this.#pattern === null || this.#pattern.test(key);
  }

  header(line: string): HeaderColumns {
    let columns = this.#headers.get(line);
    if (columns === undefined) {
      const names = line.split(/\s+/);
      const label = names[0]!;
      const protocol = label.endsWith(':') ? label.slice(0, -1) : '';
      const kept = names.map((name, index) => ({ index, key: `${protocol}_${name}` })).slice(1).filter(({ key }) => this.keeps(key));
      columns = { label, protocol, count: names.length, kept };
      remember(this.#headers, line, columns);
    }
    return columns;
  }

  /** `Ip6InReceives` → `Ip6_InReceives` when kept, null when not (or not a `<proto>6<field>` name). */
  snmp6Key(name: string): string | null {
    let key = this.#snmp6.get(name);
    if (key === undefined) {
      const six = name.indexOf('6');
      const candidate = six < 0 || six === name.length - 1 ? null : `${name.slice(0, six + 1)}_${name.slice(six + 1)}`;
      key = candidate !== null && this.keeps(candidate) ? candidate : null;
      remember(this.#snmp6, name, key);
    }
    return key;
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}

const EVERY_FIELD = new FieldSelection(null);

/** A whole number as /proc prints it, or NaN: cheaper than a regex test per value. */
export function procInteger(text: string): number {
  const value = Number(text);
  return Number.isInteger(value) && !text.startsWith('0x') ? value : NaN;
}

/**
 * `/proc/net/snmp` and `/proc/net/netstat`: pairs of lines, a header naming the fields and a line
 * of values, both starting with the protocol (`Tcp: ActiveOpens ...` / `Tcp: 5 ...`).
 */
export function parseSnmpPairs(text: string, selection: FieldSelection = EVERY_FIELD): ParsedStats {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new ParseError('empty file');
  const result: ParsedStats = { values: {}, skipped: [] };
  for (let i = 0; i < lines.length; i += 2) {
    const header = selection.header(lines[i]!.trim());
    const values = (lines[i + 1] ?? '').trim().split(/\s+/);
    if (header.protocol === '' || values[0] !== header.label) {
      result.skipped.push(`line ${i + 1}: expected a "${header.label}" header followed by its values`);
      continue;
    }
    if (header.count !== values.length) {
      result.skipped.push(`line ${i + 2}: ${header.protocol} has ${header.count - 1} fields but ${values.length - 1} values`);
      continue;
    }
    for (const { index, key } of header.kept) {
      const value = procInteger(values[index]!);
      if (Number.isNaN(value)) result.skipped.push(`line ${i + 2}: ${key} is not a number: ${JSON.stringify(values[index])}`);
      else result.values[key] = value;
    }
  }
  return result;
}

/**
 * `/proc/net/snmp6`: one `Ip6InReceives   12` per line. The protocol is the name up to its "6"
 * (`Ip6`, `Icmp6`, `Udp6`, `UdpLite6`), as node_exporter splits it; lines without one are not ours.
 */
export function parseSnmp6(text: string, selection: FieldSelection = EVERY_FIELD): ParsedStats {
  const result: ParsedStats = { values: {}, skipped: [] };
  text.split('\n').forEach((line, index) => {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '') return;
    const key = selection.snmp6Key(fields[0]!);
    if (key === null) return;
    const value = fields.length === 2 ? procInteger(fields[1]!) : NaN;
    if (Number.isNaN(value)) result.skipped.push(`line ${index + 1}: expected "name value", got ${JSON.stringify(line.trim())}`);
    else result.values[key] = value;
  });
  return result;
}
