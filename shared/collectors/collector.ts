import type { CollectorsConfig } from '../config/configTypes.js';
import type { MetricSpec } from '../metricSpec.js';

/**
 * What a collector that reads files declares: the files it reads in a namespace, its pure parser and
 * its metric descriptions (as node_exporter keeps a collector in one file). The readers open the
 * files and hand over their text; the registry writes what the parser returns. Adding one is adding
 * a module beside this one, its fixtures, and its entry in collectorList.ts.
 */
export interface FileCollector {
  /** Its key under `collectors:` in the configuration, and in a namespace's CollectorSample. */
  readonly name: keyof CollectorsConfig;
  readonly files: readonly CollectorFile[];
  /** One namespace's figures, `key` → value, from its files' text; `read` parses one file. */
  sample(read: ReadFile, config: CollectorsConfig, context: ReadContext): Record<string, number>;
  /** The metric a figure's key is written as. */
  metric(key: string): MetricSpec;
  /** The series it writes on the kernel the docs describe (docs/metrics.md lists each). */
  readonly knownMetrics: readonly MetricSpec[];
}

/**
 * The two proc trees a collector file lives in, as seen from inside a namespace. `proc-net` is
 * /proc/net, which follows the reading process's main thread (a thread that entered a namespace
 * reads its own as /proc/thread-self/net); `proc-sys-net` is /proc/sys/net, which follows whoever
 * opens it.
 */
export type ProcTree = 'proc-net' | 'proc-sys-net';

/** One file a collector reads: where it lives, and whether it is the same for the whole host. */
export interface CollectorFile {
  readonly tree: ProcTree;
  /** Relative to the tree: `snmp`, `stat/nf_conntrack`, `netfilter/nf_conntrack_max`. */
  readonly path: string;
  /** One value for the whole host: read once in the agent's own namespace, not in each. */
  readonly hostWide: boolean;
  /** Relative to /proc (`net/snmp`): the key a reader delivers the file's text under. */
  readonly procPath: string;
}

const TREE_UNDER_PROC: Record<ProcTree, string> = { 'proc-net': 'net', 'proc-sys-net': 'sys/net' };

export function collectorFile(tree: ProcTree, path: string, { hostWide = false } = {}): CollectorFile {
  return { tree, path, hostWide, procPath: `${TREE_UNDER_PROC[tree]}/${path}` };
}

/**
 * What the reader itself had open in the namespace while its files were read: the setns reader
 * keeps an rtnetlink socket there between cycles, which is the agent's, not the namespace's load.
 */
export interface ReadContext {
  ownSockets: number;
}

/** One file's values; a file that could not be read or parsed gives none and a note in the sample's errors. */
export type ReadFile = (file: CollectorFile, parse: (text: string) => ParsedStats) => Record<string, number>;

/**
 * What a line-oriented /proc statistics file yields: `Protocol_Field` → value, and one note per
 * line that had to be skipped (a truncated read, a header without its values). The kernel never
 * writes malformed lines, so a note means the read was cut short; what parsed is still good.
 */
export interface ParsedStats {
  values: Record<string, number>;
  skipped: string[];
}

/** A whole number as /proc prints it, or NaN: cheaper than a regex test per value. */
export function procInteger(text: string): number {
  const value = Number(text);
  return Number.isInteger(value) && !text.startsWith('0x') ? value : NaN;
}
