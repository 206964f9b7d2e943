/**
 * Remote write 1.0's messages as plain objects, for requests built whole (the 413 split, tests);
 * a cycle's series are encoded by seriesCache.ts. Every series carries `__name__`, labels sorted
 * by name, no empty values, no two series with one label set.
 */

export interface Label {
  name: string;
  value: string;
}

/** `stale` marks the spec's staleness marker: the value is then sent as the exact stale NaN bits. */
export interface Sample {
  value: number;
  timestampMs: number;
  stale?: boolean;
}

export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'unknown';

export interface MetricMetadata {
  type: MetricKind;
  metricFamilyName: string;
  help: string;
}

export function sampleCount(series: readonly TimeSeries[]): number {
  let count = 0;
  for (const entry of series) count += entry.samples.length;
  return count;
}

/** A family's type as remote write's MetricMetadata names it. */
export function metricKind(type: string): MetricKind {
  return type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary' ? type : 'unknown';
}
