import { Counter, Gauge, Registry } from 'prom-client';
import { cycleExposition, type Exposition } from '../../shared/metrics/exposition.js';
import { cycleFamilies, type BuildInfo, type RegistryConfig, type SelfStats } from '../../shared/metrics/families.js';
import type { SeriesFamily } from '../../shared/metrics/familyTable.js';
import type { Snapshot } from '../../shared/snapshot.js';

/** A snapshot's text exposition, as the loop builds it: its families (shared/metrics/families.ts) rendered by shared/metrics/exposition.ts. */
export function buildRegistry(snapshot: Snapshot, config: RegistryConfig, build: BuildInfo, self: SelfStats | null): Exposition {
  return cycleExposition(cycleFamilies(snapshot, config, build, self));
}

/**
 * The same families in a prom-client Registry: an independent rendering of the text format (and
 * getMetricsAsJSON) to hold the agent's own against.
 */
export function registryFromFamilies(families: readonly SeriesFamily[]): Registry {
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
 * exposition's TYPE line and in getMetricsAsJSON().
 */
class UntypedGauge extends Gauge {
  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return { ...metric, type: 'untyped' as unknown as typeof metric.type };
  }
}
