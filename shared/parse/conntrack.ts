import { ParseError } from './error.js';
import type { ParsedStats } from './netstat.js';

/**
 * `/proc/net/stat/nf_conntrack`: a header of field names, then one row of hexadecimal values per
 * CPU; each field is summed over the CPUs. `entries` is left out: every row repeats the
 * namespace's table size (nf_conntrack_count), so a sum would count it once per CPU.
 */
export function parseConntrackStat(text: string): ParsedStats {
  const [headerLine = '', ...rows] = text.split('\n');
  const header = headerLine.trim().split(/\s+/);
  if (header[0] === '' || header.some((name) => !/^[a-z_]+$/.test(name))) {
    throw new ParseError(`expected a header of field names, got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  const result: ParsedStats = { values: {}, skipped: [] };
  const sums = header.map(() => 0);
  rows.forEach((row, index) => {
    const cells = row.trim().split(/\s+/);
    if (cells[0] === '') return;
    if (cells.length !== header.length || cells.some((cell) => !/^[0-9a-f]+$/i.test(cell))) {
      result.skipped.push(`line ${index + 2}: expected ${header.length} hexadecimal values, got ${JSON.stringify(row.trim().slice(0, 80))}`);
      return;
    }
    cells.forEach((cell, column) => { sums[column] = (sums[column] ?? 0) + parseInt(cell, 16); });
  });
  header.forEach((name, column) => {
    if (name !== 'entries') result.values[name] = sums[column] ?? 0;
  });
  return result;
}
