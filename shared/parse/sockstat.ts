import { procInteger, type ParsedStats } from './netstat.js';

/**
 * `/proc/net/sockstat` and `sockstat6`: `TCP: inuse 3 orphan 0 tw 1 alloc 5 mem 2` per line, keyed
 * `Protocol_key` as node_exporter names them (`TCP_inuse`, `FRAG6_memory`); `sockets: used N`
 * becomes `sockets_used`.
 */
export function parseSockstat(text: string): ParsedStats {
  const result: ParsedStats = { values: {}, skipped: [] };
  text.split('\n').forEach((line, index) => {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '') return;
    const protocol = fields[0]!.endsWith(':') ? fields[0]!.slice(0, -1) : '';
    const pairs = fields.slice(1);
    if (protocol === '' || pairs.length === 0 || pairs.length % 2 !== 0) {
      result.skipped.push(`line ${index + 1}: expected "PROTOCOL: key value ...", got ${JSON.stringify(line.trim())}`);
      return;
    }
    for (let k = 0; k < pairs.length; k += 2) {
      const value = procInteger(pairs[k + 1]!);
      if (!Number.isNaN(value)) result.values[`${protocol}_${pairs[k]}`] = value;
      else result.skipped.push(`line ${index + 1}: ${protocol}_${pairs[k]} is not a number: ${JSON.stringify(pairs[k + 1])}`);
    }
  });
  return result;
}
