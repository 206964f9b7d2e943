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
    if (family.type === 'gauge') {
      const gauge = new Gauge(options);
      for (const { labels, value } of family.values) gauge.set(labels, value);
    } else {
      const counter = new Counter(options);
      for (const { labels, value } of family.values) counter.inc(labels, value);
    }
  }
  return registry;
}
