import type { CollectorsConfig } from '../config/configTypes.js';
import type { MetricSpec } from '../metricSpec.js';
import { ParseError } from '../parse/error.js';
import { collectorFile, procInteger, type FileCollector, type ParsedStats, type ReadFile } from './collector.js';

/**
 * The netstat collector: the protocol counters of /proc/net/snmp, netstat and snmp6, as
 * node_exporter's netstat collector reads them, keeping the fields `collectors.netstat.fields`
 * matches. Keys are `Protocol_Field` (`Tcp_RetransSegs`).
 */
const SNMP = collectorFile('proc-net', 'snmp');
const NETSTAT = collectorFile('proc-net', 'netstat');
const SNMP6 = collectorFile('proc-net', 'snmp6');

function sample(read: ReadFile, config: CollectorsConfig): Record<string, number> {
  const selection = fieldSelection(config.netstat.fields);
  return {
    ...read(SNMP, (text) => parseSnmpPairs(text, selection)),
    ...read(NETSTAT, (text) => parseSnmpPairs(text, selection)),
    ...read(SNMP6, (text) => parseSnmp6(text, selection)),
  };
}

/** One FieldSelection per configured regex, so its remembered answers serve every namespace and cycle. */
const selections = new WeakMap<RegExp, FieldSelection>();
function fieldSelection(fields: RegExp): FieldSelection {
  let selection = selections.get(fields);
  if (selection === undefined) selections.set(fields, (selection = new FieldSelection(fields)));
  return selection;
}

/**
 * `Tcp_RetransSegs` → netns_netstat_Tcp_RetransSegs: node_exporter's name with `netns_` for
 * `node_`, so its dashboards' queries carry over; help as node_exporter words it. Untyped, as
 * node_exporter types them: a counter would need `_total` (promtool, OpenMetrics), which would
 * change the name the kernel and node_exporter's queries use; and some fields are levels or
 * settings (Tcp_CurrEstab, Tcp_MaxConn, which is -1).
 */
function metric(key: string): MetricSpec {
  const protocolEnd = key.indexOf('_');
  return {
    name: `netns_netstat_${key}`,
    help: `Statistic ${key.slice(0, protocolEnd)}${key.slice(protocolEnd + 1)} in the network namespace.`,
    type: 'untyped',
    labels: ['netns'],
  };
}

/** The series the default `fields` give on Linux 6.18. */
const DEFAULT_FIELDS_SERIES = [
  'Ip_Forwarding', 'IpExt_InOctets', 'IpExt_OutOctets', 'Ip6_InOctets', 'Ip6_OutOctets',
  'Icmp_InMsgs', 'Icmp_InErrors', 'Icmp_OutMsgs', 'Icmp6_InMsgs', 'Icmp6_InErrors', 'Icmp6_OutMsgs',
  'Tcp_ActiveOpens', 'Tcp_PassiveOpens', 'Tcp_CurrEstab', 'Tcp_InSegs', 'Tcp_OutSegs', 'Tcp_RetransSegs', 'Tcp_InErrs', 'Tcp_OutRsts',
  'TcpExt_ListenOverflows', 'TcpExt_ListenDrops', 'TcpExt_SyncookiesSent', 'TcpExt_SyncookiesRecv', 'TcpExt_SyncookiesFailed',
  'TcpExt_TCPSynRetrans', 'TcpExt_TCPTimeouts', 'TcpExt_TCPOFOQueue', 'TcpExt_TCPRcvQDrop',
  'Udp_InDatagrams', 'Udp_OutDatagrams', 'Udp_NoPorts', 'Udp_InErrors', 'Udp_RcvbufErrors', 'Udp_SndbufErrors',
  'Udp6_InDatagrams', 'Udp6_OutDatagrams', 'Udp6_NoPorts', 'Udp6_InErrors', 'Udp6_RcvbufErrors', 'Udp6_SndbufErrors',
  'UdpLite_InErrors', 'UdpLite6_InErrors',
];

export const netstat: FileCollector = {
  name: 'netstat',
  files: [SNMP, NETSTAT, SNMP6],
  sample,
  metric,
  knownMetrics: DEFAULT_FIELDS_SERIES.map(metric),
};

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
