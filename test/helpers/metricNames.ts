import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';
import { parseConfig } from '../../shared/config/schema.js';
import { FILE_COLLECTORS } from '../../shared/collectors/collectorList.js';
import { interfaceStatMetric } from '../../shared/collectors/interfaces.js';
import { procMetric } from '../../shared/collectors/procMetrics.js';
import type { MetricSpec } from '../../shared/metricSpec.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';

/** Series the Pushgateway adds to every pushed group. */
export const GATEWAY_METRICS = ['push_time_seconds', 'push_failure_time_seconds'];

function isSpec(value: unknown): value is MetricSpec {
  return typeof value === 'object' && value !== null && typeof (value as MetricSpec).name === 'string'
    && typeof (value as MetricSpec).help === 'string' && ['counter', 'gauge', 'untyped'].includes((value as MetricSpec).type);
}

/**
 * Every fixed metric the agent can write: each MetricSpec exported by a module under shared/ (the
 * catalogue, the remote_write target's figures, ...), each spec inside an exported record (SELF),
 * one per interface statistic, and each file collector's known series. Walking the built modules
 * means a metric added later, in the catalogue or beside its part, is covered without touching the
 * tests.
 */
export async function catalogueSpecs(): Promise<MetricSpec[]> {
  const specs = new Map<string, MetricSpec>();
  for (const file of jsFiles(fileURLToPath(SHARED_DIST))) {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (isSpec(value)) specs.set(value.name, value);
      else if (typeof value === 'object' && value !== null) {
        for (const inner of Object.values(value)) if (isSpec(inner)) specs.set(inner.name, inner);
      }
    }
  }
  for (const stat of INTERFACE_STATS) {
    const spec = interfaceStatMetric(stat);
    specs.set(spec.name, spec);
  }
  for (const spec of FILE_COLLECTORS.flatMap((collector) => collector.knownMetrics)) specs.set(spec.name, spec);
  return [...specs.values()];
}

/** dist/shared, beside dist/test where this helper runs from. */
const SHARED_DIST = new URL('../../shared/', import.meta.url);

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
}

/** prom-client's process/runtime metrics as the agent registers them (self_metrics.process). */
export function processMetricNames(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'netns_exporter_' });
  const names = registry.getMetricsAsArray().map((metric) => metric.name);
  registry.clear();
  return names;
}

/** The proc metric names a shipped example config produces (conntrack gauges and the like). */
export function exampleProcMetricNames(exampleFile: string): string[] {
  const result = parseConfig(parse(readFileSync(exampleFile, 'utf8')), { hostname: 'h', env: {}, readFile: () => 'x' });
  if (!result.ok) throw new Error(`${exampleFile}: ${result.errors.join('; ')}`);
  return result.config.procMetrics.map((metric) => procMetric(metric).name);
}

/** Metric names used in a PromQL expression: identifiers outside quoted strings with our prefixes. */
export function metricNamesInPromql(expression: string): string[] {
  const unquoted = expression.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set(unquoted.match(/\b(?:netns_[a-zA-Z0-9_]+|push_[a-z_]+)\b/g) ?? [])];
}
