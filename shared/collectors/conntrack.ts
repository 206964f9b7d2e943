import type { MetricSpec } from '../metricSpec.js';
import { ParseError } from '../parse/error.js';
import { collectorFile, type FileCollector, type ParsedStats, type ReadFile } from './collector.js';
import { parseProcValue } from './procMetrics.js';

/**
 * The conntrack collector: the table's size and limit, and the per-CPU statistics summed. No
 * nf_conntrack_count: the stat file's `entries` column is that count, and every path lookup under
 * /proc/sys/net/netfilter is slow on a host with many namespaces (README, Benchmark results).
 */
const STAT = collectorFile('proc-net', 'stat/nf_conntrack');
/**
 * The kernel's global nf_conntrack_max, which a namespace other than the first shows read-only:
 * read once in the agent's own namespace, not in each.
 */
const MAX = collectorFile('proc-sys-net', 'netfilter/nf_conntrack_max', { hostWide: true });

/** The per-CPU conntrack statistics written, as node_exporter's conntrack collector picks them. */
const STATS = ['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'search_restart'] as const;

function sample(read: ReadFile): Record<string, number> {
  const stats = read(STAT, parseConntrackStat);
  // No table size means no conntrack in this kernel (module not loaded): nothing else is meaningful.
  if (stats.entries === undefined) return {};
  const values: Record<string, number> = { entries: stats.entries };
  const limit = read(MAX, parseSingleValue).value;
  if (limit !== undefined) values.entries_limit = limit;
  for (const name of STATS) if (stats[name] !== undefined) values[`stat_${name}`] = stats[name];
  return values;
}

function parseSingleValue(text: string): ParsedStats {
  const value = parseProcValue(text);
  if (value === null) throw new ParseError(`expected a number, got ${JSON.stringify(text.trim().slice(0, 40))}`);
  return { values: { value }, skipped: [] };
}

const HELP: Record<string, string> = {
  entries: 'Number of currently allocated flow entries for connection tracking in the network namespace.',
  entries_limit: 'Maximum size of the connection tracking table (nf_conntrack_max) seen from the network namespace.',
  stat_found: 'Number of searched entries which were successful.',
  stat_invalid: 'Number of packets seen which can not be tracked.',
  stat_ignore: 'Number of packets seen which are already connected to a conntrack entry.',
  stat_insert: 'Number of entries inserted into the list.',
  stat_insert_failed: 'Number of entries for which list insertion was attempted but failed.',
  stat_drop: 'Number of packets dropped due to conntrack failure.',
  stat_early_drop: 'Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.',
  stat_search_restart: 'Number of conntrack table lookups which had to be restarted due to hashtable resizes.',
};

/**
 * `entries` → netns_nf_conntrack_entries, `stat_drop` → netns_nf_conntrack_stat_drop: all gauges,
 * as node_exporter types its conntrack statistics, so the names stay without `_total` (a counter
 * would need it) and its queries carry over. rate() still applies to the running totals.
 */
function metric(key: string): MetricSpec {
  return {
    name: `netns_nf_conntrack_${key}`,
    help: HELP[key] ?? `Conntrack statistic ${key} in the network namespace.`,
    type: 'gauge',
    labels: ['netns'],
  };
}

export const conntrack: FileCollector = {
  name: 'conntrack',
  files: [STAT, MAX],
  sample,
  metric,
  knownMetrics: ['entries', 'entries_limit', ...STATS.map((name) => `stat_${name}`)].map(metric),
};

/**
 * `/proc/net/stat/nf_conntrack`: a header of field names, then one row of hexadecimal values per
 * CPU; each field is summed over the CPUs but `entries`: every row repeats the namespace's table
 * size (the kernel prints nf_conntrack_count(net) in each), so it is taken from the first row, not
 * summed. It equals the namespace's /proc/sys/net/netfilter/nf_conntrack_count.
 *
 * Read every cycle in every namespace, with a row per CPU: the rows are scanned character by
 * character, without a string per line or per cell, and the header's names are kept from the last
 * call while the header stays the same (it does for a kernel's life).
 */
export function parseConntrackStat(text: string): ParsedStats {
  const newline = text.indexOf('\n');
  const headerEnd = newline === -1 ? text.length : newline;
  const names = headerNames(text, headerEnd);
  const columns = names.length;
  if (row.length < columns) {
    row = new Float64Array(columns);
    sums = new Float64Array(columns);
    firstRow = new Float64Array(columns);
  }
  sums.fill(0, 0, columns);
  let haveFirstRow = false;
  const skipped: string[] = [];
  let line = 2;
  for (let start = headerEnd + 1; start <= text.length; start += 1, line += 1) {
    const newlineAt = text.indexOf('\n', start);
    const end = newlineAt === -1 ? text.length : newlineAt;
    const cells = scanHexRow(text, start, end, columns);
    if (cells === 0) {
      // A blank line (the file ends with a newline).
    } else if (cells !== columns) {
      skipped.push(`line ${line}: expected ${columns} hexadecimal values, got ${JSON.stringify(text.slice(start, end).trim().slice(0, 80))}`);
    } else {
      if (!haveFirstRow) firstRow.set(row.subarray(0, columns));
      haveFirstRow = true;
      for (let column = 0; column < columns; column += 1) sums[column] = sums[column]! + row[column]!;
    }
    start = end;
  }
  const values: Record<string, number> = {};
  for (let column = 0; column < columns; column += 1) {
    const name = names[column]!;
    if (name !== 'entries') values[name] = sums[column]!;
    else if (haveFirstRow) values[name] = firstRow[column]!;
  }
  return { values, skipped };
}

/** One row's values and the sums and first row of a file, kept between calls. */
let row = new Float64Array(32);
let sums = new Float64Array(32);
let firstRow = new Float64Array(32);
let lastHeader = '';
let lastNames: readonly string[] = [];

/** The field names of the header `text.slice(0, end)`, checked; the last header's when it is the same. */
function headerNames(text: string, end: number): readonly string[] {
  if (end === lastHeader.length && lastNames.length > 0 && text.startsWith(lastHeader)) return lastNames;
  const headerLine = text.slice(0, end);
  const names = headerLine.trim().split(/\s+/);
  if (names[0] === '' || names.some((name) => !/^[a-z_]+$/.test(name))) {
    throw new ParseError(`expected a header of field names, got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  lastHeader = headerLine;
  lastNames = names;
  return names;
}

/**
 * The whitespace-separated cells of `text.slice(start, end)` as hexadecimal numbers into `row` (the
 * first `columns` of them); how many cells there are, or -1 when one is not hexadecimal. 0 for a
 * blank line.
 */
function scanHexRow(text: string, start: number, end: number, columns: number): number {
  let cells = 0;
  let at = start;
  for (;;) {
    while (at < end && isSpace(text.charCodeAt(at))) at += 1;
    if (at === end) return cells;
    let value = 0;
    for (; at < end; at += 1) {
      const code = text.charCodeAt(at);
      if (isSpace(code)) break;
      const digit = hexDigit(code);
      if (digit === -1) return -1;
      value = value * 16 + digit;
    }
    if (cells < columns) row[cells] = value;
    cells += 1;
  }
}

/** What String.prototype.trim and \s strip in a /proc line: space, tab, CR, VT, FF. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
