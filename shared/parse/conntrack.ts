import { ParseError } from './error.js';
import type { ParsedStats } from './netstat.js';

/**
 * `/proc/net/stat/nf_conntrack`: a header of field names, then one row of hexadecimal values per
 * CPU; each field is summed over the CPUs but `entries`: every row repeats the namespace's table
 * size (the kernel prints nf_conntrack_count(net) in each), so it is taken from the first row, not
 * summed. It equals the namespace's /proc/sys/net/netfilter/nf_conntrack_count.
 */
export function parseConntrackStat(text: string): ParsedStats {
  const [headerLine = '', ...rows] = text.split('\n');
  const header = headerLine.trim().split(/\s+/);
  if (header[0] === '' || header.some((name) => !/^[a-z_]+$/.test(name))) {
    throw new ParseError(`expected a header of field names, got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  const result: ParsedStats = { values: {}, skipped: [] };
  const sums = header.map(() => 0);
  let firstRow: number[] | undefined;
  rows.forEach((row, index) => {
    const cells = row.trim().split(/\s+/);
    if (cells[0] === '') return;
    if (cells.length !== header.length || cells.some((cell) => !/^[0-9a-f]+$/i.test(cell))) {
      result.skipped.push(`line ${index + 2}: expected ${header.length} hexadecimal values, got ${JSON.stringify(row.trim().slice(0, 80))}`);
      return;
    }
    const numbers = cells.map((cell) => parseInt(cell, 16));
    firstRow ??= numbers;
    numbers.forEach((value, column) => { sums[column] = (sums[column] ?? 0) + value; });
  });
  header.forEach((name, column) => {
    if (name !== 'entries') result.values[name] = sums[column] ?? 0;
    else if (firstRow !== undefined) result.values[name] = firstRow[column] ?? 0;
  });
  return result;
}
