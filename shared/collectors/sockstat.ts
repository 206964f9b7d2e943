import type { MetricSpec } from '../metricSpec.js';
import { collectorFile, procInteger, type FileCollector, type ParsedStats, type ReadContext, type ReadFile } from './collector.js';

/** The sockstat collector: socket counts by protocol and state, from /proc/net/sockstat and sockstat6. */
const SOCKSTAT = collectorFile('proc-net', 'sockstat');
const SOCKSTAT6 = collectorFile('proc-net', 'sockstat6');

/**
 * sockstat figures the kernel counts for the whole host, not per namespace (orphans, allocated
 * sockets, protocol memory): the same value in every namespace, and a trap for sum(). The host's
 * node_exporter already has them.
 */
const HOST_WIDE_FIGURES = ['TCP_orphan', 'TCP_alloc', 'TCP_mem', 'UDP_mem'] as const;

function sample(read: ReadFile, _config: unknown, context: ReadContext): Record<string, number> {
  const values = { ...read(SOCKSTAT, parseSockstat), ...read(SOCKSTAT6, parseSockstat) };
  for (const key of HOST_WIDE_FIGURES) delete values[key];
  // The reader's own sockets are left out: the figure is what the namespace's programs use.
  if (values.sockets_used !== undefined) values.sockets_used -= context.ownSockets;
  return values;
}

/** `TCP_inuse` → netns_sockstat_TCP_inuse, node_exporter's name with `netns_`; every sockstat figure is a level. */
function metric(key: string): MetricSpec {
  const help = key === 'sockets_used'
    ? 'Number of sockets in use in the network namespace.'
    : `Number of ${key.slice(0, key.indexOf('_'))} sockets in state ${key.slice(key.indexOf('_') + 1)} in the network namespace.`;
  return { name: `netns_sockstat_${key}`, help, type: 'gauge', labels: ['netns'] };
}

export const sockstat: FileCollector = {
  name: 'sockstat',
  files: [SOCKSTAT, SOCKSTAT6],
  sample,
  metric,
  // The per-namespace figures of Linux 6.18.
  knownMetrics: [
    'sockets_used', 'TCP_inuse', 'TCP_tw', 'UDP_inuse', 'UDPLITE_inuse', 'RAW_inuse', 'FRAG_inuse', 'FRAG_memory',
    'TCP6_inuse', 'UDP6_inuse', 'UDPLITE6_inuse', 'RAW6_inuse', 'FRAG6_inuse', 'FRAG6_memory',
  ].map(metric),
};

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
