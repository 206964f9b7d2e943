import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricFamily } from './families.js';

/**
 * Metric families → a fresh prom-client Registry, for the text exposition (Pushgateway, /metrics).
 * The kernel's counters are totals already, so a new registry per cycle is filled with them
 * instead of inc()-ing one across cycles.
 */
export function registryFromFamilies(families: readonly MetricFamily[]): Registry {
  const registry = new Registry();
  for (const family of families) {
    const options = { name: family.name, help: family.help, labelNames: family.labelNames, registers: [registry] };
    const { order, labels, slotValues } = family;
    if (family.type !== 'counter') {
      const gauge = family.type === 'untyped' ? new UntypedGauge(options) : new Gauge(options);
      for (let index = 0; index < family.count; index++) gauge.set(labels[order[index]!]!, slotValues[order[index]!]!);
    } else {
      const counter = new Counter(options);
      for (let index = 0; index < family.count; index++) counter.inc(labels[order[index]!]!, slotValues[order[index]!]!);
    }
  }
  return registry;
}

/**
 * prom-client has no untyped metric: a gauge (set, never summed) that calls itself untyped in the
 * exposition's TYPE line and in getMetricsAsJSON() (remote_write sends it as unknown).
 */
class UntypedGauge extends Gauge {
  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return { ...metric, type: 'untyped' as unknown as typeof metric.type };
  }
}
