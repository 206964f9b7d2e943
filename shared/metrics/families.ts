import type { Config } from '../config/configTypes.js';
import type { Snapshot } from '../snapshot.js';
import { FILE_COLLECTORS } from '../collectors/collectorList.js';
import { interfaceStatMetric, NETWORK_INFO, NETWORK_MTU, NETWORK_UP } from '../collectors/interfaces.js';
import { procMetric } from '../collectors/procMetrics.js';
import type { MetricSpec } from '../metricSpec.js';
import { BUILD_INFO, NAMESPACE, SELF } from './catalogue.js';
import { configuredLabelNames, deviceLabels, namespaceLabels, sorted, type LabelSet } from './labels.js';

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
  readErrors: Record<string, number>;
  /** netns_dirs folder → failed listings. */
  dirListErrors: Record<string, number>;
  pushes: Record<string, { attempts: number; failures: number; lastDurationMs: number | null; lastSuccessMs: number | null }>;
  extra: ExtraMetric[];
  /** The namespace reader in use; absent where no reader runs (tests of the metrics alone). */
  reader?: 'nsenter' | 'setns';
}

export type RegistryConfig = Pick<Config, 'interfaceMetrics' | 'procMetrics' | 'labels' | 'hostname'>;

/**
 * One metric family of a cycle, in the shape of prom-client's getMetricsAsJSON() (so the
 * remote_write encoder reads it and prom-client's own process figures alike): one value per label
 * set, in the order the label sets first appeared.
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
  values: { labels: LabelSet; value: number }[];
}

/**
 * Snapshot → the cycle's metric families, pure. Both the prom-client registry (the text for the
 * Pushgateway and /metrics) and the remote_write encoder read these. A label set given twice is
 * merged as prom-client merges it: a counter adds, a gauge keeps the last value; a family without
 * labels always has its one series (0 until set).
 */
export function cycleFamilies(snapshot: Snapshot, config: RegistryConfig, build: BuildInfo, self: SelfStats | null): MetricFamily[] {
  const families = new FamilyList();
  addNamespaceMetrics(families, snapshot, config);
  addCollectorMetrics(families, snapshot, config);
  families.add(BUILD_INFO, BUILD_INFO.labels).set({ ...build }, 1);
  if (self !== null) addSelfMetrics(families, snapshot, self);
  return families.done();
}

/** The families in the order they were added, each merging its label sets as prom-client does. */
class FamilyList {
  readonly #families: { family: MetricFamily; byKey: Map<string, { labels: LabelSet; value: number }> }[] = [];

  add(spec: MetricSpec, labelNames: readonly string[]): FamilyWriter {
    const family: MetricFamily = { name: spec.name, help: spec.help, type: spec.type, labelNames, values: [] };
    const byKey = new Map<string, { labels: LabelSet; value: number }>();
    if (labelNames.length === 0) byKey.set('', { labels: {}, value: 0 });
    this.#families.push({ family, byKey });
    const sortedNames = [...labelNames].sort();
    const key = (labels: LabelSet) => sortedNames.filter((name) => labels[name] !== undefined).map((name) => `${name}:${labels[name]},`).join('');
    return {
      set(labels, value) {
        byKey.set(key(labels), { labels, value });
      },
      inc(labels, value) {
        const entry = byKey.get(key(labels));
        if (entry === undefined) byKey.set(key(labels), { labels, value });
        else entry.value += value;
      },
    };
  }

  /** A counter family takes inc(), a gauge family set(). */
  addFilled(spec: MetricSpec, labelNames: readonly string[]): (labels: LabelSet, value: number) => void {
    const writer = this.add(spec, labelNames);
    return spec.type === 'counter' ? writer.inc : writer.set;
  }

  done(): MetricFamily[] {
    return this.#families.map(({ family, byKey }) => ({ ...family, values: [...byKey.values()] }));
  }
}

interface FamilyWriter {
  /** A gauge's value; the last one given for a label set wins. */
  set(labels: LabelSet, value: number): void;
  /** A counter's value; values given for one label set add up. */
  inc(labels: LabelSet, value: number): void;
}

function addNamespaceMetrics(families: FamilyList, snapshot: Snapshot, config: RegistryConfig): void {
  const nsLabelNames = configuredLabelNames(config.labels, false);
  const deviceLabelNames = configuredLabelNames(config.labels, true);
  const stats = config.interfaceMetrics.map((stat) => ({ stat, metric: families.add(interfaceStatMetric(stat), deviceLabelNames) }));
  const up = families.add(NETWORK_UP, deviceLabelNames);
  const info = families.add(NETWORK_INFO, [...deviceLabelNames, 'operstate', 'address', 'link_type']);
  const mtu = families.add(NETWORK_MTU, deviceLabelNames);
  const namespace = families.add(NAMESPACE, nsLabelNames);
  const procs = config.procMetrics.map((metric) => ({ name: metric.name, spec: procMetric(metric) }))
    .map(({ name, spec }) => ({ name, write: families.addFilled(spec, nsLabelNames) }));

  for (const result of snapshot.results) {
    if (!result.ok) continue;
    const base = namespaceLabels(result.ns.name, config.labels, config.hostname);
    namespace.set(sorted(base), 1);
    for (const device of result.sample.interfaces) {
      const labels = sorted(deviceLabels(base, device, config.labels));
      for (const { stat, metric } of stats) metric.inc(labels, device.stats[stat]);
      up.set(labels, device.operstate === 'UP' ? 1 : 0);
      info.set(sorted({ ...labels, operstate: device.operstate.toLowerCase(), address: device.mac, link_type: device.linkType }), 1);
      mtu.set(labels, device.mtu);
    }
    for (const proc of procs) {
      const value = result.sample.proc[proc.name];
      if (value !== undefined) proc.write(sorted(base), value);
    }
  }
}

/** The file collectors (FILE_COLLECTORS): one family per figure any namespace reported, in name order. */
function addCollectorMetrics(families: FamilyList, snapshot: Snapshot, config: RegistryConfig): void {
  const series = new Map<string, { spec: MetricSpec; values: { labels: LabelSet; value: number }[] }>();
  const add = (spec: MetricSpec, labels: LabelSet, value: number): void => {
    const entry = series.get(spec.name) ?? { spec, values: [] };
    entry.values.push({ labels, value });
    series.set(spec.name, entry);
  };
  for (const result of snapshot.results) {
    const collectors = result.ok ? result.sample.collectors : undefined;
    if (!result.ok || collectors === undefined) continue;
    const labels = sorted(namespaceLabels(result.ns.name, config.labels, config.hostname));
    for (const collector of FILE_COLLECTORS) {
      for (const [key, value] of Object.entries(collectors[collector.name])) add(collector.metric(key), labels, value);
    }
  }
  const labelNames = configuredLabelNames(config.labels, false);
  for (const name of [...series.keys()].sort()) {
    const { spec, values } = series.get(name)!;
    fill(families.addFilled(spec, labelNames), spec, values);
  }
}

/** Writes each series; a counter skips a negative value it cannot hold. */
function fill(write: (labels: LabelSet, value: number) => void, spec: MetricSpec, values: readonly { labels: LabelSet; value: number }[]): void {
  for (const { labels, value } of values) if (spec.type === 'gauge' || value >= 0) write(labels, value);
}

function addSelfMetrics(families: FamilyList, snapshot: Snapshot, self: SelfStats): void {
  families.add(SELF.collectionDuration, []).set({}, snapshot.durationMs / 1000);
  const namespaces = families.add(SELF.namespaces, SELF.namespaces.labels);
  const failed = snapshot.results.filter((result) => !result.ok).length;
  namespaces.set({ state: 'found' }, snapshot.results.length);
  namespaces.set({ state: 'read' }, snapshot.results.length - failed);
  namespaces.set({ state: 'failed' }, failed);
  const readErrors = families.add(SELF.readErrors, SELF.readErrors.labels);
  for (const [reason, count] of Object.entries(self.readErrors)) readErrors.inc({ reason }, count);
  const dirListErrors = families.add(SELF.dirListErrors, SELF.dirListErrors.labels);
  for (const [dir, count] of Object.entries(self.dirListErrors)) dirListErrors.inc({ dir }, count);
  if (self.reader !== undefined) families.add(SELF.readerInfo, SELF.readerInfo.labels).set({ reader: self.reader }, 1);
  families.add(SELF.cycles, []).inc({}, self.cycles);
  families.add(SELF.cyclesOverrun, []).inc({}, self.cyclesOverrun);
  const pushDuration = families.add(SELF.pushDuration, SELF.pushDuration.labels);
  const pushes = families.add(SELF.pushes, SELF.pushes.labels);
  const pushFailures = families.add(SELF.pushFailures, SELF.pushFailures.labels);
  const lastSuccess = families.add(SELF.lastPushSuccess, SELF.lastPushSuccess.labels);
  for (const [target, push] of Object.entries(self.pushes)) {
    pushes.inc({ target }, push.attempts);
    pushFailures.inc({ target }, push.failures);
    if (push.lastDurationMs !== null) pushDuration.set({ target }, push.lastDurationMs / 1000);
    if (push.lastSuccessMs !== null) lastSuccess.set({ target }, push.lastSuccessMs / 1000);
  }
  for (const extra of self.extra) {
    const labelNames = [...new Set(extra.values.flatMap((value) => Object.keys(value.labels)))];
    fill(families.addFilled(extra.spec, labelNames), extra.spec, extra.values);
  }
}
