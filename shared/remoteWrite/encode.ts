import { ProtoWriter, TAG, utf8Length, varintLength } from './protobuf.js';
import type { MetricKind, MetricMetadata, Sample, TimeSeries } from './series.js';

/** Remote write 1.0: the headers every request carries (User-Agent is added by the sender). */
export const REMOTE_WRITE_HEADERS = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;

/** Prometheus' staleness marker: a NaN with this exact bit pattern (value.StaleNaN). */
export const STALE_NAN_BITS = { high: 0x7ff00000, low: 0x00000002 } as const;

export const METRIC_TYPE: Record<MetricKind, number> = { unknown: 0, counter: 1, gauge: 2, histogram: 3, summary: 5 };

export interface WriteRequest {
  timeseries: readonly TimeSeries[];
  metadata?: readonly MetricMetadata[];
}

const scratch = new DataView(new ArrayBuffer(8));

/**
 * The uncompressed protobuf bytes of a WriteRequest, written by hand (protobuf.ts): field by
 * field the bytes protobufjs writes for prompb's schema, at a fraction of its cost. Series kept
 * between cycles take the faster way (seriesCache.ts); this one serves requests built whole (the
 * 413 split, tests).
 */
export function encodeWriteRequest(request: WriteRequest, writer = new ProtoWriter(4096)): Uint8Array {
  writer.reset();
  for (const series of request.timeseries) writeTimeSeries(writer, series);
  for (const entry of request.metadata ?? []) writeMetadata(writer, entry);
  return Uint8Array.prototype.slice.call(writer.bytes());
}

function writeTimeSeries(writer: ProtoWriter, series: TimeSeries): void {
  let length = 0;
  for (const label of series.labels) length += fieldLength(labelLength(label.name, label.value));
  for (const sample of series.samples) length += fieldLength(10 + int64Length(sample.timestampMs));
  writer.byte(TAG.field1);
  writer.varint(length);
  for (const label of series.labels) writeLabel(writer, label.name, label.value);
  for (const sample of series.samples) {
    const { low, high } = valueBits(sample);
    writer.byte(TAG.field2);
    writer.varint(10 + int64Length(sample.timestampMs));
    writeSample(writer, low, high, sample.timestampMs);
  }
}

/** A length-delimited field's size: its tag, its length's varint, its body. */
function fieldLength(bodyLength: number): number {
  return 1 + varintLength(bodyLength) + bodyLength;
}

/** The body size of a Label message. */
function labelLength(name: string, value: string): number {
  return fieldLength(utf8Length(name)) + fieldLength(utf8Length(value));
}

/** One Label field (TimeSeries.labels) with its name and value. */
export function writeLabel(writer: ProtoWriter, name: string, value: string): void {
  writer.byte(TAG.field1);
  writer.varint(labelLength(name, value));
  writer.string(TAG.field1, name);
  writer.string(TAG.field2, value);
}

/** A Sample's fields: the value's 8 bytes from its bit halves, then the timestamp. */
function writeSample(writer: ProtoWriter, low: number, high: number, timestampMs: number): void {
  writer.byte(TAG.sampleValue);
  writer.fixed64(low, high);
  writer.byte(TAG.sampleTimestamp);
  writer.int64(timestampMs);
}

/** Bytes an int64 varint takes: ten for a negative value. */
export function int64Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}

function writeMetadata(writer: ProtoWriter, entry: MetricMetadata): void {
  const type = METRIC_TYPE[entry.type];
  writer.byte(TAG.field3);
  writer.varint(1 + varintLength(type) + fieldLength(utf8Length(entry.metricFamilyName)) + fieldLength(utf8Length(entry.help)));
  writer.byte(TAG.metadataType);
  writer.varint(type);
  writer.string(TAG.field2, entry.metricFamilyName);
  writer.string(TAG.field4, entry.help);
}

/** The metadata entries of a request, encoded, to append after its series. */
export function encodeMetadata(entries: readonly MetricMetadata[], writer: ProtoWriter): void {
  for (const entry of entries) writeMetadata(writer, entry);
}

/** A sample's value as the two 32-bit halves of its 8 bytes; a stale marker as Prometheus' exact StaleNaN. */
function valueBits(sample: Sample): { low: number; high: number } {
  if (sample.stale === true) return STALE_NAN_BITS;
  scratch.setFloat64(0, sample.value, true);
  return { low: scratch.getUint32(0, true), high: scratch.getUint32(4, true) };
}
