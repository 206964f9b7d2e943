/**
 * A cycle's metric families (shared/metrics/families.ts, or prom-client's getMetricsAsJSON()) →
 * remote_write time series, following the 1.0 spec's rules: every series carries `__name__`,
 * labels sorted by name, no empty values, no two series with one label set.
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

/** What this module reads of a metric family: a MetricFamily, or an entry of prom-client's `getMetricsAsJSON()`. */
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
  const external = Object.entries(externalLabels).filter(([, value]) => value !== '');
  let duplicates = 0;
  // A cycle holds tens of thousands of series: labels are built in one pass, without spreads.
  for (const family of families) {
    for (const entry of family.values) {
      const labels: Label[] = [{ name: '__name__', value: entry.metricName ?? family.name }];
      for (const name in entry.labels) {
        const value = entry.labels[name];
        // An empty value means "no such label", so it must not hide an external label of that name.
        if (value === undefined || value === '' || name === '__name__') continue;
        labels.push({ name, value: String(value) });
      }
      for (const [name, value] of external) if (!labels.some((label) => label.name === name)) labels.push({ name, value });
      labels.sort(byName);
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

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** An unambiguous identity for a sorted label list: names cannot hold `=` or `,`, values are JSON-quoted. */
function seriesKey(labels: readonly Label[]): string {
  let key = '';
  for (const label of labels) key += `${label.name}=${JSON.stringify(label.value)},`;
  return key;
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

function metricKind(type: string): MetricKind {
  return type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary' ? type : 'unknown';
}
