import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { Snapshot } from '../types.js';
import {
  BUILD_INFO, NAMESPACE, NETWORK_INFO, NETWORK_MTU, NETWORK_UP, SELF, interfaceStatMetric, procMetric,
  type MetricSpec,
} from './catalogue.js';
import { conntrackMetric, netstatMetric, sockstatMetric } from './collectors.js';
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

/** The agent's own figures, kept across cycles by the loop and rendered into each cycle's registry. */
export interface SelfStats {
  cycles: number;
  cyclesOverrun: number;
  readErrors: Record<string, number>;
  /** netns_dirs folder → failed listings. */
  dirListErrors: Record<string, number>;
  pushes: Record<string, { attempts: number; failures: number; lastDurationMs: number | null; lastSuccessMs: number | null }>;
  extra: ExtraMetric[];
  /** The namespace reader in use; absent where no reader runs (tests of the registry alone). */
  reader?: 'nsenter' | 'setns';
}

export type RegistryConfig = Pick<Config, 'interfaceMetrics' | 'procMetrics' | 'labels' | 'hostname'>;

/**
 * Snapshot → a fresh prom-client Registry. The kernel's counters are totals already, so a new
 * registry per cycle is filled with them instead of inc()-ing one across cycles.
 */
export function buildRegistry(snapshot: Snapshot, config: RegistryConfig, build: BuildInfo, self: SelfStats | null): Registry {
  const registry = new Registry();
  addNamespaceMetrics(registry, snapshot, config);
  addCollectorMetrics(registry, snapshot, config);
  gauge(registry, BUILD_INFO, BUILD_INFO.labels).set({ ...build }, 1);
  if (self !== null) addSelfMetrics(registry, snapshot, self);
  return registry;
}

function addNamespaceMetrics(registry: Registry, snapshot: Snapshot, config: RegistryConfig): void {
  const nsLabelNames = configuredLabelNames(config.labels, false);
  const deviceLabelNames = configuredLabelNames(config.labels, true);
  const stats = config.interfaceMetrics.map((stat) => ({ stat, metric: counter(registry, interfaceStatMetric(stat), deviceLabelNames) }));
  const up = gauge(registry, NETWORK_UP, deviceLabelNames);
  const info = gauge(registry, NETWORK_INFO, [...deviceLabelNames, 'operstate', 'address', 'link_type']);
  const mtu = gauge(registry, NETWORK_MTU, deviceLabelNames);
  const namespace = gauge(registry, NAMESPACE, nsLabelNames);
  const procs = config.procMetrics.map((metric) => ({ name: metric.name, spec: procMetric(metric) }))
    .map(({ name, spec }) => ({ name, type: spec.type, metric: spec.type === 'counter' ? counter(registry, spec, nsLabelNames) : gauge(registry, spec, nsLabelNames) }));

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
      if (value === undefined) continue;
      if (proc.metric instanceof Counter) proc.metric.inc(sorted(base), value);
      else proc.metric.set(sorted(base), value);
    }
  }
}

/** netstat, sockstat and conntrack: one family per figure any namespace reported, in name order. */
function addCollectorMetrics(registry: Registry, snapshot: Snapshot, config: RegistryConfig): void {
  const series = new Map<string, { spec: MetricSpec; values: { labels: LabelSet; value: number }[] }>();
  const add = (spec: MetricSpec, labels: LabelSet, value: number): void => {
    const entry = series.get(spec.name) ?? { spec, values: [] };
    entry.values.push({ labels, value });
    series.set(spec.name, entry);
  };
  for (const result of snapshot.results) {
    if (!result.ok) continue;
    const { collectors } = result.sample;
    const labels = sorted(namespaceLabels(result.ns.name, config.labels, config.hostname));
    for (const [key, value] of Object.entries(collectors.netstat)) add(netstatMetric(key), labels, value);
    for (const [key, value] of Object.entries(collectors.sockstat)) add(sockstatMetric(key), labels, value);
    for (const [key, value] of Object.entries(collectors.conntrack)) add(conntrackMetric(key), labels, value);
  }
  const labelNames = configuredLabelNames(config.labels, false);
  for (const name of [...series.keys()].sort()) {
    const { spec, values } = series.get(name)!;
    fill(spec.type === 'counter' ? counter(registry, spec, labelNames) : gauge(registry, spec, labelNames), values);
  }
}

/** Sets each series; a counter is filled with inc(), and skips a negative value it cannot hold. */
function fill(metric: Counter<string> | Gauge<string>, values: readonly { labels: LabelSet; value: number }[]): void {
  for (const { labels, value } of values) {
    if (metric instanceof Gauge) metric.set(labels, value);
    else if (value >= 0) metric.inc(labels, value);
  }
}

function addSelfMetrics(registry: Registry, snapshot: Snapshot, self: SelfStats): void {
  gauge(registry, SELF.collectionDuration, []).set(snapshot.durationMs / 1000);
  const namespaces = gauge(registry, SELF.namespaces, SELF.namespaces.labels);
  const failed = snapshot.results.filter((result) => !result.ok).length;
  namespaces.set({ state: 'found' }, snapshot.results.length);
  namespaces.set({ state: 'read' }, snapshot.results.length - failed);
  namespaces.set({ state: 'failed' }, failed);
  const readErrors = counter(registry, SELF.readErrors, SELF.readErrors.labels);
  for (const [reason, count] of Object.entries(self.readErrors)) readErrors.inc({ reason }, count);
  const dirListErrors = counter(registry, SELF.dirListErrors, SELF.dirListErrors.labels);
  for (const [dir, count] of Object.entries(self.dirListErrors)) dirListErrors.inc({ dir }, count);
  if (self.reader !== undefined) gauge(registry, SELF.readerInfo, SELF.readerInfo.labels).set({ reader: self.reader }, 1);
  counter(registry, SELF.cycles, []).inc(self.cycles);
  counter(registry, SELF.cyclesOverrun, []).inc(self.cyclesOverrun);
  const pushDuration = gauge(registry, SELF.pushDuration, SELF.pushDuration.labels);
  const pushes = counter(registry, SELF.pushes, SELF.pushes.labels);
  const pushFailures = counter(registry, SELF.pushFailures, SELF.pushFailures.labels);
  const lastSuccess = gauge(registry, SELF.lastPushSuccess, SELF.lastPushSuccess.labels);
  for (const [target, push] of Object.entries(self.pushes)) {
    pushes.inc({ target }, push.attempts);
    pushFailures.inc({ target }, push.failures);
    if (push.lastDurationMs !== null) pushDuration.set({ target }, push.lastDurationMs / 1000);
    if (push.lastSuccessMs !== null) lastSuccess.set({ target }, push.lastSuccessMs / 1000);
  }
  for (const extra of self.extra) {
    const labelNames = [...new Set(extra.values.flatMap((value) => Object.keys(value.labels)))];
    fill(extra.spec.type === 'counter' ? counter(registry, extra.spec, labelNames) : gauge(registry, extra.spec, labelNames), extra.values);
  }
}

function counter(registry: Registry, spec: MetricSpec, labelNames: readonly string[]): Counter<string> {
  return new Counter({ name: spec.name, help: spec.help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, spec: MetricSpec, labelNames: readonly string[]): Gauge<string> {
  return new Gauge({ name: spec.name, help: spec.help, labelNames, registers: [registry] });
}
