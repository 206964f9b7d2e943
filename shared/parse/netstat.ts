import { ParseError } from './ipJson.js';

/**
 * What a line-oriented /proc statistics file yields: `Protocol_Field` → value, and one note per
 * line that had to be skipped (a truncated read, a header without its values). The kernel never
 * writes malformed lines, so a note means the read was cut short; what parsed is still good.
 */
export interface ParsedStats {
  values: Record<string, number>;
  skipped: string[];
}

const INTEGER = /^-?\d+$/;

/**
 * `/proc/net/snmp` and `/proc/net/netstat`: pairs of lines, a header naming the fields and a line
 * of values, both starting with the protocol (`Tcp: ActiveOpens ...` / `Tcp: 5 ...`).
 */
export function parseSnmpPairs(text: string): ParsedStats {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new ParseError('empty file');
  const result: ParsedStats = { values: {}, skipped: [] };
  for (let i = 0; i < lines.length; i += 2) {
    const header = lines[i]!.trim().split(/\s+/);
    const values = (lines[i + 1] ?? '').trim().split(/\s+/);
    const protocol = header[0]!.endsWith(':') ? header[0]!.slice(0, -1) : '';
    if (protocol === '' || values[0] !== header[0]) {
      result.skipped.push(`line ${i + 1}: expected a "${header[0]}" header followed by its values`);
      continue;
    }
    if (header.length !== values.length) {
      result.skipped.push(`line ${i + 2}: ${protocol} has ${header.length - 1} fields but ${values.length - 1} values`);
      continue;
    }
    for (let k = 1; k < header.length; k++) {
      if (INTEGER.test(values[k]!)) result.values[`${protocol}_${header[k]}`] = Number(values[k]);
      else result.skipped.push(`line ${i + 2}: ${protocol}_${header[k]} is not a number: ${JSON.stringify(values[k])}`);
    }
  }
  return result;
}

/**
 * `/proc/net/snmp6`: one `Ip6InReceives   12` per line. The protocol is the name up to its "6"
 * (`Ip6`, `Icmp6`, `Udp6`, `UdpLite6`), as node_exporter splits it; lines without one are not ours.
 */
export function parseSnmp6(text: string): ParsedStats {
  const result: ParsedStats = { values: {}, skipped: [] };
  text.split('\n').forEach((line, index) => {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '' ) return;
    const six = fields[0]!.indexOf('6');
    if (six < 0 || six === fields[0]!.length - 1) return;
    if (fields.length !== 2 || !INTEGER.test(fields[1]!)) {
      result.skipped.push(`line ${index + 1}: expected "name value", got ${JSON.stringify(line.trim())}`);
      return;
    }
    result.values[`${fields[0]!.slice(0, six + 1)}_${fields[0]!.slice(six + 1)}`] = Number(fields[1]);
  });
  return result;
}
