import protobuf from 'protobufjs/light.js';
import { METRIC_TYPE, STALE_NAN_BITS, type WriteRequest } from './encode.js';
import type { MetricKind, Sample } from './series.js';

/*
 * The WriteRequest decoder: the tests, the benchmark and the 413 split (which loads this module
 * only when a receiver answers 413) read requests back with protobufjs, a decoder independent of
 * the hand-written encoder. An agent that never splits never loads protobufjs.
 */

/**
 * prompb's WriteRequest (remote.proto + types.proto), declared here rather than generated. One
 * deliberate twist: Sample.value is declared fixed64 instead of double. Both are the same 8
 * little-endian bytes on the wire, but a JS number cannot be trusted to keep a NaN's payload (V8
 * canonicalises NaNs stored in double arrays), so the value's bits are read as two halves and a
 * stale marker is recognised by its exact bits.
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

const METRIC_KIND = Object.fromEntries(Object.entries(METRIC_TYPE).map(([kind, id]) => [id, kind as MetricKind]));

const scratch = new DataView(new ArrayBuffer(8));

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
