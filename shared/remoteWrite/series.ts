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

/** Splits series into groups of at most `maxSamples` samples, keeping their order. */
export function chunkSeries(series: readonly TimeSeries[], maxSamples: number): TimeSeries[][] {
  if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError(`maxSamples must be a positive integer, got ${maxSamples}`);
  const chunks: TimeSeries[][] = [];
  let chunk: TimeSeries[] = [];
  let count = 0;
  for (const entry of series) {
    if (count + entry.samples.length > maxSamples && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      count = 0;
    }
    chunk.push(entry);
    count += entry.samples.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
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
