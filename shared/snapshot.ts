import { INTERFACE_STATS, type InterfaceStat } from './interfaceStats.js';

/** A network namespace file found by discovery. `inode` identifies the namespace itself. */
export interface Namespace {
  /** The `netns` label: the file's name, with U+FFFD for bytes that are not UTF-8 (and `~2` if taken). */
  name: string;
  /** For messages: the folder joined with the name as the label shows it. */
  path: string;
  inode: number;
  /** The file's path as bytes, when its name is not valid UTF-8: `path` cannot open it, this can. */
  file?: Buffer;
}

/** What opens a namespace's file: its path, or its bytes when the name is not valid UTF-8. */
export function namespaceFile(ns: Namespace): string | Buffer {
  return ns.file ?? ns.path;
}

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  scope: string;
}

export interface InterfaceSample {
  name: string;
  ifindex: number;
  operstate: string;
  mtu: number;
  mac: string;
  linkType: string;
  addresses: InterfaceAddress[];
  /** Every statistic of INTERFACE_STATS, as the kernel counts it (bigint-safe numbers). */
  stats: Record<InterfaceStat, number>;
}

/**
 * One device as the families read it, once per cycle: a packed sample shows each of its devices in
 * turn through one view instead of making an object per device and statistic.
 */
export interface DeviceView {
  readonly name: string;
  readonly operstate: string;
  readonly mtu: number;
  readonly mac: string;
  readonly linkType: string;
  /** INTERFACE_STATS[index], as the kernel counts it. */
  stat(index: number): number;
  readonly addresses: readonly InterfaceAddress[];
}

/** What one namespace read yields once parsed: devices and the configured /proc files. */
export interface NamespaceSample {
  interfaces: InterfaceSample[];
  /** proc metric name → value; a file that could not be read is absent (and listed in procErrors). */
  proc: Record<string, number>;
  procErrors: string[];
  /** The enabled collectors' figures (all empty when every collector is off). */
  collectors: CollectorSample;
  /**
   * The collectors' `errors` alone, from a sample that makes its collectors' records only when asked
   * (a packed one): what the self-metrics and the log read each cycle.
   */
  readonly collectorErrors?: readonly string[];
  /** Shows each device in turn, where a sample can do so without making `interfaces` (a packed one). */
  eachDevice?(visit: (device: DeviceView) => void): void;
  /** Shows each collector figure in turn, where a sample can do so without making `collectors` (a packed one). */
  eachCollectorValue?(visit: CollectorVisit): void;
  /** proc[name], where a sample can tell it without making `proc` (a packed one). */
  procValue?(name: string): number | undefined;
}

/** The value of the proc metric `name` in a sample; undefined when its file could not be read. */
export function procValue(sample: NamespaceSample, name: string): number | undefined {
  return sample.procValue !== undefined ? sample.procValue(name) : sample.proc[name];
}

/** The collectors' parts of a sample, in the order the collectors read them. */
export const COLLECTOR_PARTS = ['netstat', 'sockstat', 'conntrack'] as const satisfies readonly (keyof CollectorSample)[];
export type CollectorPart = (typeof COLLECTOR_PARTS)[number];

/** A collector figure: its part (an index into COLLECTOR_PARTS), its name, its value. */
export type CollectorVisit = (part: number, name: string, value: number) => void;

/** Each collector figure of a sample in turn, part by part in COLLECTOR_PARTS order, names in their order. */
export function eachCollectorValue(sample: NamespaceSample, visit: CollectorVisit): void {
  if (sample.eachCollectorValue !== undefined) return sample.eachCollectorValue(visit);
  const collectors = sample.collectors;
  for (let part = 0; part < COLLECTOR_PARTS.length; part++) {
    const values = collectors[COLLECTOR_PARTS[part]!];
    for (const name in values) visit(part, name, values[name]!);
  }
}

/** Each device of a sample in turn, in `interfaces` order; valid only during the call. */
export function eachDevice(sample: NamespaceSample, visit: (device: DeviceView) => void): void {
  if (sample.eachDevice !== undefined) return sample.eachDevice(visit);
  const view = new PlainDeviceView();
  for (const device of sample.interfaces) {
    view.show(device);
    visit(view);
  }
}

/** The view of devices that are objects already: one view per sample, moved from device to device. */
class PlainDeviceView implements DeviceView {
  name = '';
  operstate = '';
  mtu = 0;
  mac = '';
  linkType = '';
  addresses: readonly InterfaceAddress[] = [];
  #stats: InterfaceSample['stats'] | null = null;

  show(device: InterfaceSample): void {
    this.name = device.name;
    this.operstate = device.operstate;
    this.mtu = device.mtu;
    this.mac = device.mac;
    this.linkType = device.linkType;
    this.addresses = device.addresses;
    this.#stats = device.stats;
  }

  stat(index: number): number {
    return this.#stats![INTERFACE_STATS[index]!];
  }
}

/** The collector files' problems of one namespace's sample. */
export function collectorErrors(sample: NamespaceSample): readonly string[] {
  return sample.collectorErrors ?? sample.collectors.errors;
}

/** Why a read failed. */
const READ_FAILURE_REASONS = ['vanished', 'timeout', 'permission', 'spawn', 'exit', 'parse', 'worker', 'internal'] as const;
export type ReadFailureReason = (typeof READ_FAILURE_REASONS)[number];

/** The `reason` label of netns_exporter_read_errors_total: a failed read, or one file a read could not use. */
export const READ_ERROR_REASONS = [...READ_FAILURE_REASONS, 'proc_file', 'collector_file'] as const;

export type NamespaceResult =
  | { ns: Namespace; ok: true; sample: NamespaceSample; durationMs: number }
  | { ns: Namespace; ok: false; reason: ReadFailureReason; message: string; durationMs: number };

/** A discovery problem worth one warning; `key` stays the same from cycle to cycle while it lasts. */
export interface DiscoveryProblem {
  key: string;
  message: string;
  /** Set when a step of discovery itself failed and was worked around (counted); unset for a finding about a file. */
  reason?: DiscoveryErrorReason;
}

/**
 * The `reason` label of netns_exporter_discovery_errors_total: the nsfs device could not be
 * stat()ed (files are then not checked for being on nsfs), the mount table could not be read
 * (namespace types are then unknown), the discovery for the reader's self-test at start failed.
 */
export const DISCOVERY_ERROR_REASONS = ['nsfs_check', 'mount_table', 'start'] as const;
type DiscoveryErrorReason = (typeof DISCOVERY_ERROR_REASONS)[number];

/**
 * One cycle's collection, immutable once built, for as long as a cycle needs it: the setns reader
 * reads a held namespace into the same two results in turn, so a result is rewritten when its
 * namespace is read the second time after it (during the cycle after next). Copy what must outlive that.
 */
export interface Snapshot {
  /** Wall-clock start of the cycle, ms since the epoch: the timestamp of every sample. */
  timestampMs: number;
  durationMs: number;
  results: readonly NamespaceResult[];
  /** Namespaces listed before filtering (for self-metrics). */
  discoveredCount: number;
  discoveryErrors: readonly DiscoveryProblem[];
  /** netns_dirs folders that could not be listed this cycle: what they hold is unknown, not empty. */
  unlistedDirs: readonly { dir: string; code: string }[];
}

/**
 * One collector file as a reader delivers it: its whole text; `null` when the file does not exist
 * (nf_conntrack not loaded, IPv6 disabled: no series and no error); `{error}` when it exists but
 * could not be read (permission, I/O), which is reported.
 */
export type CollectorFileRead = string | null | { error: string };

/** The collector files read inside one namespace, keyed by path relative to /proc (`net/snmp`). */
export type CollectorFilesRaw = Readonly<Record<string, CollectorFileRead>>;

/** What the netstat, sockstat and conntrack collectors found in one namespace. */
export interface CollectorSample {
  /** `Tcp_RetransSegs` → value, only the fields `collectors.netstat.fields` matches. */
  netstat: Record<string, number>;
  /** `TCP_inuse`, `sockets_used`, `FRAG6_memory` → value (per-namespace figures only). */
  sockstat: Record<string, number>;
  /** `entries`, `entries_limit`, `stat_drop`, ... → value; empty when conntrack is not loaded. */
  conntrack: Record<string, number>;
  /** One line per file that could not be read or was cut short: `net/snmp: line 4: ...`. */
  errors: string[];
}
