import protobuf from 'protobufjs/light.js';
import snappy from 'snappyjs';
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

/**
 * prompb's WriteRequest (remote.proto + types.proto), declared here rather than generated. One
 * deliberate twist: Sample.value is declared fixed64 instead of double. Both are the same 8
 * little-endian bytes on the wire, but a JS number cannot be trusted to keep a NaN's payload (V8
 * canonicalises NaNs stored in double arrays), so the encoder writes the value's bits itself and
 * the stale marker reaches the receiver bit-exact.
 */
const SCHEMA = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          },
          reserved: [[2, 2]],
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'fixed64', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        MetricMetadata: {
          fields: {
            type: { type: 'MetricType', id: 1 },
            metricFamilyName: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          },
          nested: {
            MetricType: {
              values: { UNKNOWN: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3, GAUGEHISTOGRAM: 4, SUMMARY: 5, INFO: 6, STATESET: 7 },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const WriteRequestType = root.lookupType('prometheus.WriteRequest');

const METRIC_TYPE: Record<MetricKind, number> = { unknown: 0, counter: 1, gauge: 2, histogram: 3, summary: 5 };
const METRIC_KIND = Object.fromEntries(Object.entries(METRIC_TYPE).map(([kind, id]) => [id, kind as MetricKind]));

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

/** Snappy block format (not the framed/stream format), as the spec requires. */
export function compress(bytes: Uint8Array): Uint8Array {
  return snappy.compress(bytes);
}

/** Refuses to inflate past `maxLength` bytes so a corrupt length prefix cannot exhaust memory. */
export function uncompress(bytes: Uint8Array, maxLength = 256 * 1024 * 1024): Uint8Array {
  return snappy.uncompress(bytes, maxLength);
}

interface DecodedSample {
  value: { low: number; high: number };
  timestamp: number | { low: number; high: number };
}

/** Reads a WriteRequest back (the buffer's checks and the tests); stale markers come back flagged. */
export function decodeWriteRequest(bytes: Uint8Array): Required<WriteRequest> {
  const decoded = WriteRequestType.toObject(WriteRequestType.decode(bytes), { longs: Object, enums: Number, defaults: true }) as {
    timeseries: { labels: { name: string; value: string }[]; samples: DecodedSample[] }[];
    metadata: { type: number; metricFamilyName: string; help: string }[];
  };
  return {
    timeseries: decoded.timeseries.map((series) => ({
      labels: series.labels.map((label) => ({ name: label.name, value: label.value })),
      samples: series.samples.map(decodeSample),
    })),
    metadata: decoded.metadata.map((entry) => ({
      type: METRIC_KIND[entry.type] ?? 'unknown', metricFamilyName: entry.metricFamilyName, help: entry.help,
    })),
  };
}

function decodeSample(sample: DecodedSample): Sample {
  const { low, high } = sample.value;
  const timestampMs = typeof sample.timestamp === 'number' ? sample.timestamp : sample.timestamp.high * 2 ** 32 + (sample.timestamp.low >>> 0);
  if (high >>> 0 === STALE_NAN_BITS.high && low >>> 0 === STALE_NAN_BITS.low) return { value: Number.NaN, timestampMs, stale: true };
  scratch.setUint32(0, low >>> 0, true);
  scratch.setUint32(4, high >>> 0, true);
  return { value: scratch.getFloat64(0, true), timestampMs };
}
