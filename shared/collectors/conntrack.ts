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
