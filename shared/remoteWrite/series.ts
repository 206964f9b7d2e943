/**
 * A cycle's prom-client registry → remote_write time series, following the 1.0 spec's rules: every
 * series carries `__name__`, labels sorted by name, no empty values, no two series with one label set.
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

/** The part of prom-client's `registry.getMetricsAsJSON()` this module reads. */
export interface MetricFamilyJson {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
}

export interface CycleSeries {
  series: TimeSeries[];
  metadata: MetricMetadata[];
  /** Series dropped because another one had the same labels once empty values were removed. */
  duplicates: number;
}

/**
 * Builds one sample per series at `timestampMs`. External labels are added only where the series
 * lacks the label (as Prometheus does), so a metric's own label always wins.
 */
export function seriesFromMetrics(
  families: readonly MetricFamilyJson[],
  timestampMs: number,
  externalLabels: Readonly<Record<string, string>>,
): CycleSeries {
  const series: TimeSeries[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const family of families) {
    for (const entry of family.values) {
      const labels = normaliseLabels({ ...externalLabels, ...stringLabels(entry.labels), __name__: entry.metricName ?? family.name });
      const key = seriesKey(labels);
      // Two series with one label set would carry two values at one timestamp, and the receiver
      // rejects the whole request for that; the first one wins.
      if (seen.has(key)) {
        duplicates += 1;
        continue;
      }
      seen.add(key);
      series.push({ labels, samples: [{ value: Number(entry.value), timestampMs }] });
    }
  }
  const metadata = families.map((family) => ({ type: metricKind(family.type), metricFamilyName: family.name, help: family.help }));
  return { series, metadata, duplicates };
}

/** Sorted by name (byte order, as Go compares), empty values dropped, one label per name. */
export function normaliseLabels(labels: Readonly<Record<string, string>>): Label[] {
  return Object.entries(labels)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An unambiguous identity for a sorted label list (JSON quotes every string, so no separator clash). */
export function seriesKey(labels: readonly Label[]): string {
  return JSON.stringify(labels.map((label) => [label.name, label.value]));
}

/**
 * Stale markers for the series of the previous cycle that this cycle no longer has, so queries stop
 * showing them at once instead of 5 minutes later. Sent once: the next cycle's previous set is this one.
 */
export function staleSeries(previous: ReadonlyMap<string, Label[]>, current: readonly TimeSeries[], timestampMs: number): TimeSeries[] {
  const now = new Set(current.map((series) => seriesKey(series.labels)));
  const stale: TimeSeries[] = [];
  for (const [key, labels] of previous) {
    if (!now.has(key)) stale.push({ labels, samples: [{ value: Number.NaN, timestampMs, stale: true }] });
  }
  return stale;
}

/** The label sets of a cycle, keyed, to compare the next cycle with. */
export function seriesIndex(series: readonly TimeSeries[]): Map<string, Label[]> {
  return new Map(series.map((entry) => [seriesKey(entry.labels), entry.labels]));
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

function stringLabels(labels: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  // An empty value means "no such label", so it must not hide an external label of that name.
  for (const [name, value] of Object.entries(labels)) if (value !== undefined && value !== '') out[name] = String(value);
  return out;
}

function metricKind(type: string): MetricKind {
  return type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary' ? type : 'unknown';
}
