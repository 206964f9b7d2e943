import { Counter, Gauge, Registry } from 'prom-client';
import snappy from 'snappyjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeWriteRequest } from '../../shared/remoteWrite/decode.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, STALE_NAN_BITS } from '../../shared/remoteWrite/encode.js';
import { compress, uncompress } from '../../shared/remoteWrite/snappyBlock.js';
import { familiesFromValues, FamilyTable, type FamilyValues, type SeriesFamily } from '../../shared/metrics/familyTable.js';
import { SeriesCache } from '../../shared/remoteWrite/seriesCache.js';
import { normaliseLabels, SPEC_WRITE_REQUEST } from '../helpers/remoteWrite.js';

const SpecWriteRequest = SPEC_WRITE_REQUEST;

interface SpecDecoded {
  timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[];
  metadata: { type: number; metricFamilyName: string; help: string; unit: string }[];
}

function specDecode(compressed: Uint8Array): SpecDecoded {
  const bytes = snappy.uncompress(compressed);
  return SpecWriteRequest.toObject(SpecWriteRequest.decode(bytes), { longs: Number, enums: Number, defaults: true }) as SpecDecoded;
}

const TS = 1_700_000_123_456;
const ODD = 'ns with space "quoted" back\\slash ünï€ode';

async function families(build: (registry: Registry) => void): Promise<SeriesFamily[]> {
  const registry = new Registry();
  build(registry);
  return familiesFromValues((await registry.getMetricsAsJSON()) as unknown as FamilyValues[]);
}

/** One cycle through a series cache (a new one unless given), its chunks decoded again. */
function seriesFromMetrics(input: readonly SeriesFamily[], timestampMs: number, external: Record<string, string>, cache = new SeriesCache(external)) {
  const { chunks, duplicates, stale } = cache.encode(input, timestampMs, { maxSamples: 10_000, metadata: true, compress });
  const decoded = chunks.map((chunk) => decodeWriteRequest(uncompress(chunk.body)));
  return { series: decoded.flatMap((request) => request.timeseries), metadata: decoded.flatMap((request) => request.metadata), duplicates, stale, chunks };
}

const test = suite('remote_write encoding');

test('a registry round-trips through protobuf + snappy: names, labels, values, ms timestamps', async () => {
  const input = await families((registry) => {
    const bytes = new Counter({ name: 'netns_network_rx_bytes_total', help: 'rx', labelNames: ['netns', 'device'], registers: [registry] });
    bytes.inc({ netns: ODD, device: 'veth0' }, 123_456_789_012);
    bytes.inc({ netns: 'b', device: 'eth0' }, 0.5);
    new Gauge({ name: 'netns_network_mtu_bytes', help: 'mtu', labelNames: ['netns'], registers: [registry] }).set({ netns: 'b' }, 1500);
  });
  const { series, metadata, chunks } = seriesFromMetrics(input, TS, { instance: 'node-1' });
  const body = chunks[0]!.body;
  assert.is(chunks.length, 1);
  const decoded = specDecode(body);
  assert.equal(decoded.timeseries, [
    {
      labels: [{ name: '__name__', value: 'netns_network_rx_bytes_total' }, { name: 'device', value: 'veth0' }, { name: 'instance', value: 'node-1' }, { name: 'netns', value: ODD }],
      samples: [{ value: 123_456_789_012, timestamp: TS }],
    },
    {
      labels: [{ name: '__name__', value: 'netns_network_rx_bytes_total' }, { name: 'device', value: 'eth0' }, { name: 'instance', value: 'node-1' }, { name: 'netns', value: 'b' }],
      samples: [{ value: 0.5, timestamp: TS }],
    },
    {
      labels: [{ name: '__name__', value: 'netns_network_mtu_bytes' }, { name: 'instance', value: 'node-1' }, { name: 'netns', value: 'b' }],
      samples: [{ value: 1500, timestamp: TS }],
    },
  ]);
  assert.equal(decoded.metadata, [
    { type: 1, metricFamilyName: 'netns_network_rx_bytes_total', help: 'rx', unit: '' },
    { type: 2, metricFamilyName: 'netns_network_mtu_bytes', help: 'mtu', unit: '' },
  ]);
  // Our own decoder agrees with the independent one, and the series cache writes what the whole-request encoder writes.
  assert.equal(decodeWriteRequest(uncompress(body)).timeseries, series);
  assert.equal(Buffer.from(uncompress(body)), Buffer.from(encodeWriteRequest({ timeseries: series, metadata })));
});

test('the body is snappy block format, not the framed stream format', () => {
  const raw = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestampMs: TS }] }] });
  const body = compress(raw);
  // The framed format starts with the stream identifier chunk 0xff 06 00 00 "sNaPpY"; block starts with a varint length.
  assert.is.not(body[0], 0xff);
  assert.is(body[0], raw.length);
  assert.equal(Buffer.from(snappy.uncompress(body)), Buffer.from(raw));
});

test('protocol headers are those of remote write 1.0', () => {
  assert.equal(REMOTE_WRITE_HEADERS, {
    'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0',
  });
});

test('labels: sorted by name in byte order, empty values dropped, one per name', async () => {
  // Byte order: upper case < "_" < lower case (Go's sort.Strings), not locale order.
  const expected = ['Zed', '__name__', 'a', 'instance', 'zeta'];
  const input = await families((registry) => {
    const gauge = new Gauge({ name: 'm', help: 'm', labelNames: ['zeta', 'a', 'Zed', 'empty'], registers: [registry] });
    gauge.set({ zeta: 'z', a: '1', Zed: 'Z', empty: '' }, 1);
  });
  const { series } = seriesFromMetrics(input, TS, { instance: 'i', a: 'external loses' });
  assert.equal(series[0]!.labels.map((label) => label.name), expected);
  assert.is(series[0]!.labels.find((label) => label.name === 'a')?.value, '1');
  assert.equal(normaliseLabels({ zeta: 'z', a: '1', Zed: 'Z', __name__: 'm', instance: 'i', empty: '' }).map((label) => label.name), expected);
});

test('external labels fill in, never override, and an empty series label does not hide them', async () => {
  const input = await families((registry) => {
    const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['instance', 'zone', 'x'], registers: [registry] });
    gauge.set({ instance: 'own', zone: '', x: '1' }, 1);
  });
  const { series } = seriesFromMetrics(input, TS, { instance: 'node-1', zone: 'eu', blank: '' });
  assert.equal(series[0]!.labels, [
    { name: '__name__', value: 'g' }, { name: 'instance', value: 'own' }, { name: 'x', value: '1' }, { name: 'zone', value: 'eu' },
  ]);
});

test('two series equal once empty labels go are sent once and counted', async () => {
  const input = await families((registry) => {
    const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['a', 'b'], registers: [registry] });
    gauge.set({ a: 'x', b: '' }, 1);
    gauge.set({ a: 'x' }, 2);
    gauge.set({ a: 'y' }, 3);
  });
  const { series, duplicates } = seriesFromMetrics(input, TS, {});
  assert.is(duplicates, 1);
  assert.equal(series.map((entry) => entry.samples[0]!.value), [1, 3]);
});

/** A gauge family `netns_network_up` with one series per namespace, in `table`'s slots. */
function upFamilies(namespaces: readonly string[], table = new FamilyTable()): SeriesFamily[] {
  return familiesFromValues([{ name: 'netns_network_up', help: 'up', type: 'gauge', labelNames: ['netns'], values: namespaces.map((netns) => ({ labels: { netns }, value: 1 })) }], table);
}

test('a series gone since the previous cycle gets one stale marker with the exact StaleNaN bits', () => {
  const labels = (netns: string) => normaliseLabels({ __name__: 'netns_network_up', netns });
  const table = new FamilyTable();
  const cache = new SeriesCache({});
  seriesFromMetrics(upFamilies(['a', 'b'], table), TS, {}, cache);
  const cycle2 = seriesFromMetrics(upFamilies(['a'], table), TS + 15_000, {}, cache);
  assert.is(cycle2.stale, 1);
  assert.equal(cycle2.series, [
    { labels: labels('a'), samples: [{ value: 1, timestampMs: TS + 15_000 }] },
    { labels: labels('b'), samples: [{ value: Number.NaN, timestampMs: TS + 15_000, stale: true }] },
  ]);
  // Sent once: the cycle after compares with cycle 2, which no longer has "b".
  assert.is(seriesFromMetrics(upFamilies(['a'], table), TS + 30_000, {}, cache).stale, 0);

  const raw = uncompress(cycle2.chunks[0]!.body);
  // Sample.value is field 1, wire type 1 (tag 0x09), then the 8 bytes little endian.
  const bits = Buffer.alloc(8);
  bits.writeUInt32LE(STALE_NAN_BITS.low, 0);
  bits.writeUInt32LE(STALE_NAN_BITS.high, 4);
  assert.equal([...bits], [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  assert.ok(Buffer.from(raw).includes(Buffer.concat([Buffer.from([0x09]), bits])), 'stale marker bits 0x7ff0000000000002 on the wire');
  const decoded = specDecode(cycle2.chunks[0]!.body);
  assert.ok(Number.isNaN(decoded.timeseries[1]!.samples[0]!.value), 'a spec decoder reads a NaN');
  // The whole-request encoder writes the same marker.
  const whole = encodeWriteRequest({ timeseries: cycle2.series, metadata: cycle2.metadata });
  assert.equal(Buffer.from(whole), Buffer.from(raw));
});

test('a NaN value that is not a stale marker is not sent as one', () => {
  const raw = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'g' }], samples: [{ value: Number.NaN, timestampMs: TS }] }] });
  const sample = decodeWriteRequest(raw).timeseries[0]!.samples[0]!;
  assert.ok(Number.isNaN(sample.value));
  assert.is(sample.stale, undefined);
});

test('special values and large timestamps survive bit-exact', () => {
  const values = [0, -0, 1.5e-300, Number.MAX_VALUE, Infinity, -Infinity, 2 ** 53 + 2, -42];
  const timeseries = values.map((value, index) => ({ labels: [{ name: '__name__', value: `m${index}` }], samples: [{ value, timestampMs: 4_102_444_800_000 + index }] }));
  const decoded = decodeWriteRequest(encodeWriteRequest({ timeseries }));
  decoded.timeseries.forEach((series, index) => {
    assert.ok(Object.is(series.samples[0]!.value, values[index]), `value ${values[index]}`);
    assert.is(series.samples[0]!.timestampMs, 4_102_444_800_000 + index);
  });
});

test('concatenated WriteRequests decode as one with the series in order (how the buffer merges batches)', () => {
  const one = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'm' }], samples: [{ value: 1, timestampMs: TS }] }] });
  const two = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'm' }], samples: [{ value: 2, timestampMs: TS + 1 }] }] });
  const merged = specDecode(compress(Buffer.concat([one, two])));
  assert.equal(merged.timeseries.map((series) => series.samples[0]), [{ value: 1, timestamp: TS }, { value: 2, timestamp: TS + 1 }]);
});

test.run();
