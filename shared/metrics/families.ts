import type { Config } from '../config/configTypes.js';
import { byCodeUnits } from '../compare.js';
import { passesFilter } from '../filter.js';
import { COLLECTOR_PARTS, eachCollectorValue, eachDevice, procValue, type CollectorVisit, type DeviceView, type Snapshot } from '../snapshot.js';
import { INTERFACE_STATS } from '../interfaceStats.js';
import { FILE_COLLECTORS } from '../collectors/collectorList.js';
import { interfaceStatMetric, NETWORK_INFO, NETWORK_MTU, NETWORK_UP } from '../collectors/interfaces.js';
import { procMetric } from '../collectors/procMetrics.js';
import type { MetricSpec } from '../metricSpec.js';
import { BUILD_INFO, NAMESPACE, SELF } from './catalogue.js';
import { FamilyTable, labelKey, type LabelSource, type SlotFamily } from './familyTable.js';
import { configuredLabelNames, deviceLabels, namespaceLabels, primaryAddress, sorted, type LabelSet } from './labels.js';

export interface BuildInfo {
  version: string;
  revision: string;
  nodeversion: string;
}

/** A series contributed by a part of the agent (a target's buffer, say), rendered as given. */
export interface ExtraMetric {
  spec: MetricSpec;
  values: { labels: LabelSet; value: number }[];
}

/** The agent's own figures, kept across cycles by the loop and rendered into each cycle's metrics. */
export interface SelfStats {
  cycles: number;
  cyclesOverrun: number;
  pushesOverrun: number;
  readErrors: Record<string, number>;
  /** netns_dirs folder → failed listings. */
  dirListErrors: Record<string, number>;
  /** Discovery steps that failed and were worked around, by reason (DISCOVERY_ERROR_REASONS). */
  discoveryErrors: Record<string, number>;
  pushes: Record<string, { attempts: number; failures: number; lastDurationMs: number | null; lastSuccessMs: number | null }>;
  extra: ExtraMetric[];
  /** The namespace reader in use; absent where no reader runs (tests of the metrics alone). */
  reader?: 'nsenter' | 'setns';
  /** Namespaces the reader holds open; absent for a reader that holds none (nsenter). */
  held?: number;
}

export type RegistryConfig = Pick<Config, 'interfaceMetrics' | 'procMetrics' | 'labels' | 'hostname' | 'deviceFilter'>;

/**
 * Snapshot → the cycle's metric families, pure. Both the text exposition (the Pushgateway and
 * /metrics) and the remote_write encoder read these. A label set given twice is merged as
 * prom-client merges it: a counter adds, a gauge keeps the last value; a family without labels
 * always has its one series (0 until set). With the table of the previous cycle (same
 * configuration), series already known keep their slots and label sets: a steady cycle only
 * writes values.
 */
export function cycleFamilies(
  snapshot: Snapshot, config: RegistryConfig, build: BuildInfo, self: SelfStats | null, table = new FamilyTable(),
): SlotFamily[] {
  table.begin();
  const memo = memoOf(table);
  addNamespaceMetrics(table, snapshot, config, memo);
  addCollectorMetrics(table, snapshot, config, memo);
  sweep(memo);
  table.family(BUILD_INFO, BUILD_INFO.labels).set(labelKey({ ...build }), 1, () => ({ ...build }));
  if (self !== null) addSelfMetrics(table, snapshot, self);
  return table.done();
}

/**
 * Whether families built under `next` can keep the table built under `previous`: the keys of
 * its series leave out what is the same for every series of one configuration (the hostname,
 * the from_namespace rules), so a change there needs a new table.
 */
export function familiesKeepTable(previous: RegistryConfig, next: RegistryConfig): boolean {
  return previous.hostname === next.hostname
    && JSON.stringify(previous.labels, regexAsText) === JSON.stringify(next.labels, regexAsText)
    && JSON.stringify(previous.interfaceMetrics) === JSON.stringify(next.interfaceMetrics)
    && JSON.stringify(previous.procMetrics, regexAsText) === JSON.stringify(next.procMetrics, regexAsText);
}

function regexAsText(_key: string, value: unknown): unknown {
  return value instanceof RegExp ? value.toString() : value;
}

/** A counter's series are added, a gauge's or an untyped family's set. */
function writerOf(family: SlotFamily, spec: MetricSpec): (key: string, value: number, labels: LabelSource) => void {
  return spec.type === 'counter' ? (key, value, labels) => family.add(key, value, labels) : (key, value, labels) => family.set(key, value, labels);
}

/**
 * What a namespace's series are keyed and labelled by, kept with the table from cycle to cycle: a
 * steady cycle looks these up instead of making a key string, a lower-cased state and a label
 * closure per device, and lets the families find their slots by the same string objects.
 */
interface NamespaceMemo {
  seenIn: number;
  /** The namespace's labels as made, and sorted by name for its own series. */
  base: LabelSet;
  labels: LabelSet;
  devices: Map<string, DeviceMemo>;
  /** By collector family number (TableMemo.collectorIds): the slot of the namespace's series, -1 until set. */
  collectorSlots: Int32Array;
}

interface DeviceMemo {
  seenIn: number;
  ip: string;
  key: string;
  labels: LabelSet;
  operstate: string;
  mac: string;
  linkType: string;
  infoKey: string;
  infoLabels: LabelSet;
  /** The slot of each of the device's series in its family (the stats', then up, info, mtu): -1 until set. */
  slots: Int32Array;
}

interface TableMemo {
  cycle: number;
  namespaces: Map<string, NamespaceMemo>;
  /** A number for each collector family, kept: where a namespace keeps its series' slot (collectorSlots). */
  collectorIds: Map<string, number>;
}

/** By table: a new table (another configuration) starts with no memo. */
const memos = new WeakMap<FamilyTable, TableMemo>();

function memoOf(table: FamilyTable): TableMemo {
  let memo = memos.get(table);
  if (memo === undefined) {
    memo = { cycle: 0, namespaces: new Map(), collectorIds: new Map() };
    memos.set(table, memo);
  }
  memo.cycle += 1;
  return memo;
}

function namespaceMemo(memo: TableMemo, nsName: string, config: RegistryConfig): NamespaceMemo {
  let ns = memo.namespaces.get(nsName);
  if (ns === undefined) {
    const base = namespaceLabels(nsName, config.labels, config.hostname);
    ns = { seenIn: memo.cycle, base, labels: sorted(base), devices: new Map(), collectorSlots: NO_SLOTS };
    memo.namespaces.set(nsName, ns);
  }
  ns.seenIn = memo.cycle;
  return ns;
}

function deviceMemo(memo: TableMemo, ns: NamespaceMemo, nsName: string, device: DeviceView, config: RegistryConfig): DeviceMemo {
  const ip = config.labels.deviceIp === null ? '' : primaryAddress(device);
  let known = ns.devices.get(device.name);
  if (known === undefined || known.ip !== ip) {
    const key = config.labels.deviceIp === null ? `${nsName}\u0000${device.name}` : `${nsName}\u0000${device.name}\u0000${ip}`;
    const labels = sorted(deviceLabels(ns.base, device, config.labels));
    known = { seenIn: 0, ip, key, labels, operstate: '', mac: '', linkType: '', infoKey: '', infoLabels: labels, slots: new Int32Array(config.interfaceMetrics.length + 3).fill(-1) };
    ns.devices.set(device.name, known);
  }
  if (known.operstate !== device.operstate || known.mac !== device.mac || known.linkType !== device.linkType) {
    const operstate = device.operstate.toLowerCase();
    known.operstate = device.operstate;
    known.mac = device.mac;
    known.linkType = device.linkType;
    known.infoKey = `${known.key}\u0000${operstate}\u0000${device.mac}\u0000${device.linkType}`;
    known.infoLabels = sorted({ ...known.labels, operstate, address: device.mac, link_type: device.linkType });
  }
  known.seenIn = memo.cycle;
  return known;
}

/** Forgets the namespaces and devices the cycle did not have: the memo never outgrows the node. */
function sweep(memo: TableMemo): void {
  // Values, not [key, value] entries: no array per namespace and device each cycle; and callbacks
  // made once, the cycle passed as `this`: a closure per namespace was 90 bytes a cycle each.
  memo.namespaces.forEach(sweepNamespace, memo.cycle);
}

function sweepNamespace(this: number, ns: NamespaceMemo, name: string, namespaces: Map<string, NamespaceMemo>): void {
  if (ns.seenIn !== this) namespaces.delete(name);
  else ns.devices.forEach(sweepDevice, this);
}

function sweepDevice(this: number, known: DeviceMemo, device: string, devices: Map<string, DeviceMemo>): void {
  if (known.seenIn !== this) devices.delete(device);
}

function addNamespaceMetrics(table: FamilyTable, snapshot: Snapshot, config: RegistryConfig, memo: TableMemo): void {
  const nsLabelNames = configuredLabelNames(config.labels, false);
  const deviceLabelNames = configuredLabelNames(config.labels, true);
  const stats = config.interfaceMetrics.map((stat) => ({ index: INTERFACE_STATS.indexOf(stat), family: table.family(interfaceStatMetric(stat), deviceLabelNames) }));
  const up = table.family(NETWORK_UP, deviceLabelNames);
  const info = table.family(NETWORK_INFO, [...deviceLabelNames, 'operstate', 'address', 'link_type']);
  const mtu = table.family(NETWORK_MTU, deviceLabelNames);
  const namespace = table.family(NAMESPACE, nsLabelNames);
  const procs = config.procMetrics.map((metric) => {
    const spec = procMetric(metric);
    return { name: metric.name, write: writerOf(table.family(spec, nsLabelNames), spec) };
  });
  // The namespace whose devices are shown: the visitor is made once a cycle, not once a namespace.
  let nsName = '';
  let ns: NamespaceMemo | null = null;
  const visitDevice = (device: DeviceView): void => {
    if (!passesFilter(device.name, config.deviceFilter)) return;
    const known = deviceMemo(memo, ns!, nsName, device, config);
    // Into the slots this device's series had last cycle: no lookup by key in a steady cycle.
    const { slots } = known;
    for (let index = 0; index < stats.length; index++) {
      const { index: stat, family } = stats[index]!;
      slots[index] = family.addAt(slots[index]!, known.key, device.stat(stat), known.labels);
    }
    const after = stats.length;
    slots[after] = up.setAt(slots[after]!, known.key, device.operstate === 'UP' ? 1 : 0, known.labels);
    slots[after + 1] = info.setAt(slots[after + 1]!, known.infoKey, 1, known.infoLabels);
    slots[after + 2] = mtu.setAt(slots[after + 2]!, known.key, device.mtu, known.labels);
  };
  // Indexed: code run once a cycle is seldom optimised, and a for-of iterator there made an object per namespace.
  for (let index = 0; index < snapshot.results.length; index++) {
    const result = snapshot.results[index]!;
    if (!result.ok) continue;
    nsName = result.ns.name;
    ns = namespaceMemo(memo, nsName, config);
    namespace.set(nsName, 1, ns.labels);
    // Device by device through a view: a packed sample makes no object per device and statistic.
    eachDevice(result.sample, visitDevice);
    for (const proc of procs) {
      const value = procValue(result.sample, proc.name);
      if (value !== undefined) proc.write(nsName, value, ns.labels);
    }
  }
}

const NO_SLOTS = new Int32Array(0);

/** A collector family as the second pass writes it. */
interface CollectorWriter {
  family: SlotFamily;
  /** Its number in the table memo's collectorIds. */
  id: number;
  counter: boolean;
}

/**
 * The file collectors (FILE_COLLECTORS): one family per figure any namespace reported, in name
 * order. Two passes over the results, neither making an object per value: the first finds the
 * figures reported (nearly always the same in every namespace) and makes their families in order,
 * the second writes each value into its family, in the slot the namespace's series had last cycle.
 */
function addCollectorMetrics(table: FamilyTable, snapshot: Snapshot, config: RegistryConfig, memo: TableMemo): void {
  const collectorOf = COLLECTOR_PARTS.map((part) => FILE_COLLECTORS.find((collector) => collector.name === part)!);
  const reported = COLLECTOR_PARTS.map(() => new Map<string, MetricSpec>());
  const note: CollectorVisit = (part, name) => {
    const specs = reported[part]!;
    if (!specs.has(name)) specs.set(name, collectorOf[part]!.metric(name));
  };
  for (let index = 0; index < snapshot.results.length; index++) {
    const result = snapshot.results[index]!;
    if (result.ok) eachCollectorValue(result.sample, note);
  }
  const labelNames = configuredLabelNames(config.labels, false);
  const families = reported.flatMap((specs, part) => [...specs].map(([name, spec]) => ({ part, name, spec })))
    .sort((a, b) => byCodeUnits(a.spec.name, b.spec.name));
  const writers = reported.map(() => new Map<string, CollectorWriter>());
  for (const { part, name, spec } of families) {
    let id = memo.collectorIds.get(spec.name);
    if (id === undefined) memo.collectorIds.set(spec.name, (id = memo.collectorIds.size));
    writers[part]!.set(name, { family: table.family(spec, labelNames), id, counter: spec.type === 'counter' });
  }
  let ns: NamespaceMemo;
  let nsName = '';
  const write: CollectorVisit = (part, name, value) => {
    const writer = writers[part]!.get(name)!;
    // A counter skips a negative value it cannot hold; untyped keeps it (Tcp_MaxConn is -1).
    if (writer.counter && value < 0) return;
    // Every writer's number is below ns.collectorSlots' length: grown before the namespace's visit.
    const slots = ns.collectorSlots;
    const hint = slots[writer.id]!;
    slots[writer.id] = writer.counter ? writer.family.addAt(hint, nsName, value, ns.labels) : writer.family.setAt(hint, nsName, value, ns.labels);
  };
  const ids = memo.collectorIds.size;
  for (let index = 0; index < snapshot.results.length; index++) {
    const result = snapshot.results[index]!;
    if (!result.ok) continue;
    nsName = result.ns.name;
    ns = memo.namespaces.get(nsName)!;
    if (ns.collectorSlots.length < ids) ns.collectorSlots = grownSlots(ns.collectorSlots, ids);
    eachCollectorValue(result.sample, write);
  }
}

function grownSlots(slots: Int32Array, size: number): Int32Array {
  const grown = new Int32Array(size).fill(-1);
  grown.set(slots);
  return grown;
}

function addSelfMetrics(table: FamilyTable, snapshot: Snapshot, self: SelfStats): void {
  /** Self figures have one label at most: its value is the key. */
  const one = (family: SlotFamily, name: string, write: 'set' | 'add') => (value: string, figure: number) => {
    family[write](value, figure, () => ({ [name]: value }));
  };
  table.family(SELF.collectionDuration, []).set('', snapshot.durationMs / 1000, {});
  const namespaces = one(table.family(SELF.namespaces, SELF.namespaces.labels), 'state', 'set');
  const failed = snapshot.results.filter((result) => !result.ok).length;
  namespaces('found', snapshot.results.length);
  namespaces('read', snapshot.results.length - failed);
  namespaces('failed', failed);
  const readErrors = one(table.family(SELF.readErrors, SELF.readErrors.labels), 'reason', 'add');
  for (const [reason, count] of Object.entries(self.readErrors)) readErrors(reason, count);
  const dirListErrors = one(table.family(SELF.dirListErrors, SELF.dirListErrors.labels), 'dir', 'add');
  for (const [dir, count] of Object.entries(self.dirListErrors)) dirListErrors(dir, count);
  const discoveryErrors = one(table.family(SELF.discoveryErrors, SELF.discoveryErrors.labels), 'reason', 'add');
  for (const [reason, count] of Object.entries(self.discoveryErrors)) discoveryErrors(reason, count);
  if (self.reader !== undefined) one(table.family(SELF.readerInfo, SELF.readerInfo.labels), 'reader', 'set')(self.reader, 1);
  if (self.held !== undefined) table.family(SELF.heldNamespaces, []).set('', self.held, {});
  table.family(SELF.cycles, []).add('', self.cycles, {});
  table.family(SELF.cyclesOverrun, []).add('', self.cyclesOverrun, {});
  table.family(SELF.pushesOverrun, []).add('', self.pushesOverrun, {});
  const pushDuration = one(table.family(SELF.pushDuration, SELF.pushDuration.labels), 'target', 'set');
  const pushes = one(table.family(SELF.pushes, SELF.pushes.labels), 'target', 'add');
  const pushFailures = one(table.family(SELF.pushFailures, SELF.pushFailures.labels), 'target', 'add');
  const lastSuccess = one(table.family(SELF.lastPushSuccess, SELF.lastPushSuccess.labels), 'target', 'set');
  for (const [target, push] of Object.entries(self.pushes)) {
    pushes(target, push.attempts);
    pushFailures(target, push.failures);
    if (push.lastDurationMs !== null) pushDuration(target, push.lastDurationMs / 1000);
    if (push.lastSuccessMs !== null) lastSuccess(target, push.lastSuccessMs / 1000);
  }
  for (const extra of self.extra) {
    const labelNames = [...new Set(extra.values.flatMap((value) => Object.keys(value.labels)))];
    const write = writerOf(table.family(extra.spec, labelNames), extra.spec);
    for (const { labels, value } of extra.values) if (extra.spec.type !== 'counter' || value >= 0) write(labelKey(labels), value, labels);
  }
}
