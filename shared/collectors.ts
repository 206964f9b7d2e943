import type { CollectorsConfig } from './config/configTypes.js';
import { parseConntrackStat } from './parse/conntrack.js';
import { ParseError } from './parse/error.js';
import { FieldSelection, parseSnmpPairs, parseSnmp6, type ParsedStats } from './parse/netstat.js';
import { parseProcValue } from './parse/procValue.js';
import { parseSockstat } from './parse/sockstat.js';
import type { CollectorFilesRaw, CollectorSample } from './snapshot.js';

/** The files each collector's values come from, relative to /proc. */
export const COLLECTOR_FILES = {
  netstat: ['net/snmp', 'net/netstat', 'net/snmp6'],
  sockstat: ['net/sockstat', 'net/sockstat6'],
  // No nf_conntrack_count: the stat file's `entries` column is that count, and every path lookup
  // under /proc/sys/net/netfilter costs ~150 µs on a host with many namespaces (README, Benchmark results).
  conntrack: ['net/stat/nf_conntrack', 'sys/net/netfilter/nf_conntrack_max'],
} as const;

/**
 * Collector files with one value for the whole host: the kernel's global nf_conntrack_max, which a
 * namespace other than the first shows read-only. A reader reads them once in its own namespace,
 * not in each namespace, and adds them to each namespace's files.
 */
export const HOST_WIDE_COLLECTOR_FILES: readonly string[] = ['sys/net/netfilter/nf_conntrack_max'];

/** Every collector off: what a reader delivers when it is given no collectors. */
export const NO_COLLECTORS: CollectorsConfig = {
  netstat: { enabled: false, fields: /^$/u },
  sockstat: { enabled: false },
  conntrack: { enabled: false },
};

/** node_exporter's default `--collector.netstat.fields`. */
export const DEFAULT_NETSTAT_FIELDS = '^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)'
  + '|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)'
  + '|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)'
  + '|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$';

/**
 * sockstat figures the kernel counts for the whole host, not per namespace (orphans, allocated
 * sockets, protocol memory): the same value in every namespace, and a trap for sum(). The host's
 * node_exporter already has them.
 */
export const HOST_WIDE_SOCKSTAT = ['TCP_orphan', 'TCP_alloc', 'TCP_mem', 'UDP_mem'] as const;

/** The per-CPU conntrack statistics written, as node_exporter's conntrack collector picks them. */
export const CONNTRACK_STATS = ['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'search_restart'] as const;

/** Which files a reader must read in each namespace for this configuration (none when all are off). */
export function collectorFiles(config: CollectorsConfig): string[] {
  return (Object.keys(COLLECTOR_FILES) as (keyof CollectorsConfig)[])
    .filter((name) => config[name].enabled)
    .flatMap((name) => [...COLLECTOR_FILES[name]]);
}

/** `files` split into those to read in each namespace and those to read once (HOST_WIDE_COLLECTOR_FILES). */
export function splitHostWide(files: readonly string[]): { perNamespace: string[]; hostWide: string[] } {
  return {
    perNamespace: files.filter((file) => !HOST_WIDE_COLLECTOR_FILES.includes(file)),
    hostWide: files.filter((file) => HOST_WIDE_COLLECTOR_FILES.includes(file)),
  };
}

/** The files' text as read inside one namespace → the collectors' part of its sample. */
export function collectorSample(raw: CollectorFilesRaw, config: CollectorsConfig): CollectorSample {
  const sample: CollectorSample = { netstat: {}, sockstat: {}, conntrack: {}, errors: [] };
  const read = (file: string, parse: (text: string) => ParsedStats, into: Record<string, number>): void => {
    Object.assign(into, parseFile(raw, file, parse, sample.errors));
  };
  if (config.netstat.enabled) {
    const selection = fieldSelection(config.netstat.fields);
    read('net/snmp', (text) => parseSnmpPairs(text, selection), sample.netstat);
    read('net/netstat', (text) => parseSnmpPairs(text, selection), sample.netstat);
    read('net/snmp6', (text) => parseSnmp6(text, selection), sample.netstat);
  }
  if (config.sockstat.enabled) {
    read('net/sockstat', parseSockstat, sample.sockstat);
    read('net/sockstat6', parseSockstat, sample.sockstat);
    for (const key of HOST_WIDE_SOCKSTAT) delete sample.sockstat[key];
  }
  if (config.conntrack.enabled) sample.conntrack = conntrackValues(raw, sample.errors);
  return sample;
}

/** One FieldSelection per configured regex, so its remembered answers serve every namespace and cycle. */
const selections = new WeakMap<RegExp, FieldSelection>();
function fieldSelection(fields: RegExp): FieldSelection {
  let selection = selections.get(fields);
  if (selection === undefined) selections.set(fields, (selection = new FieldSelection(fields)));
  return selection;
}

function conntrackValues(raw: CollectorFilesRaw, errors: string[]): Record<string, number> {
  const [statFile, maxFile] = COLLECTOR_FILES.conntrack;
  const single = (text: string): ParsedStats => {
    const value = parseProcValue(text);
    if (value === null) throw new ParseError(`expected a number, got ${JSON.stringify(text.trim().slice(0, 40))}`);
    return { values: { value }, skipped: [] };
  };
  const stats = parseFile(raw, statFile, parseConntrackStat, errors);
  // No table size means no conntrack in this kernel (module not loaded): nothing else is meaningful.
  if (stats.entries === undefined) return {};
  const values: Record<string, number> = { entries: stats.entries };
  const limit = parseFile(raw, maxFile, single, errors).value;
  if (limit !== undefined) values.entries_limit = limit;
  for (const name of CONNTRACK_STATS) if (stats[name] !== undefined) values[`stat_${name}`] = stats[name];
  return values;
}

/** One file's values; a missing file gives none silently, an unreadable or damaged one notes why. */
function parseFile(raw: CollectorFilesRaw, file: string, parse: (text: string) => ParsedStats, errors: string[]): Record<string, number> {
  const content = raw[file];
  if (content === null) return {};
  if (content === undefined) {
    errors.push(`${file}: not read`);
    return {};
  }
  if (typeof content !== 'string') {
    errors.push(`${file}: ${content.error}`);
    return {};
  }
  try {
    const parsed = parse(content);
    for (const note of parsed.skipped) errors.push(`${file}: ${note}`);
    return parsed.values;
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    errors.push(`${file}: ${error.message}`);
    return {};
  }
}
