import type { ProcMetricConfig } from '../config/configTypes.js';
import type { MetricSpec } from '../metricSpec.js';

/**
 * The proc metrics collector, as the original exporter had it: each `proc_metrics` entry names one
 * file relative to /proc (under /proc/net or /proc/sys/net) holding one number, read inside each
 * namespace and written as one series. The files come from the configuration, so the readers take
 * them from there rather than from a list here.
 */

const PROC_METRIC_HELP = 'Statistics from /proc filesystem in the network namespace';

/** Counters keep the original's `_total` name; a gauge (a level such as a conntrack count) does not. */
export function procMetric(metric: ProcMetricConfig): MetricSpec {
  const name = metric.type === 'counter' ? `netns_network_${metric.name}_total` : `netns_network_${metric.name}`;
  return { name, help: PROC_METRIC_HELP, type: metric.type, labels: ['netns'] };
}

/** A /proc metric file holds one number (nf_conntrack_count, ip_forward...); the first field counts. */
export function parseProcValue(text: string): number | null {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(first)) return null;
  return Number(first);
}
