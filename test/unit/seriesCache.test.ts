import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { familiesFromValues, FamilyTable, type SeriesFamily } from '../../shared/metrics/familyTable.js';
import { decodeWriteRequest } from '../../shared/remoteWrite/decode.js';
import { encodeWriteRequest } from '../../shared/remoteWrite/encode.js';
import { compress, uncompress } from '../../shared/remoteWrite/snappyBlock.js';
import { SeriesCache } from '../../shared/remoteWrite/seriesCache.js';
import type { TimeSeries } from '../../shared/remoteWrite/series.js';
import { SPEC_WRITE_REQUEST } from '../helpers/remoteWrite.js';

const test = suite('remote_write series cache: series kept between cycles');
const TS = 1_700_000_000_000;

const SPEC = SPEC_WRITE_REQUEST;

function gauges(values: Record<string, number>, table: FamilyTable, name = 'g'): SeriesFamily[] {
  return familiesFromValues([{
    name, help: 'h', type: 'gauge', labelNames: ['netns'], values: Object.entries(values).map(([netns, value]) => ({ labels: { netns }, value })),
  }], table);
}

function cycle(cache: SeriesCache, families: readonly SeriesFamily[], timestampMs: number, maxSamples = 1_000) {
  const result = cache.encode(families, timestampMs, { maxSamples, metadata: false, compress });
  const series = result.chunks.flatMap((chunk) => decodeWriteRequest(uncompress(chunk.body)).timeseries);
  return { ...result, series };
}

const byNetns = (series: readonly TimeSeries[]) => Object.fromEntries(series.map((entry) => [
  entry.labels.find((label) => label.name === 'netns')?.value, entry.samples[0]!.stale === true ? 'stale' : entry.samples[0]!.value,
]));

test('the hand-written encoder writes the bytes protobufjs writes for the spec schema', () => {
  const timeseries = [
    { labels: [{ name: '__name__', value: 'm' }, { name: 'netns', value: 'ünï€ode "q" \\ ☃' }], samples: [{ value: 0, timestampMs: TS }] },
    { labels: [{ name: '__name__', value: 'n' }], samples: [{ value: -1.5e-300, timestampMs: 0 }, { value: Infinity, timestampMs: 2 ** 53 - 1 }] },
    { labels: [{ name: '__name__', value: 'old' }], samples: [{ value: 7, timestampMs: -1_000 }, { value: Number.MAX_VALUE, timestampMs: -(2 ** 40) }] },
    { labels: [{ name: '__name__', value: 'x'.repeat(300) }, { name: 'long', value: 'v'.repeat(20_000) }], samples: [{ value: 2 ** 60, timestampMs: 127 }] },
  ];
  const metadata = [
    { type: 'counter' as const, metricFamilyName: 'm', help: 'help with ünïcode' },
    { type: 'unknown' as const, metricFamilyName: 'n', help: '' },
  ];
  const ours = encodeWriteRequest({ timeseries, metadata });
  const theirs = SPEC.encode(SPEC.fromObject({
    timeseries: timeseries.map((series) => ({ labels: series.labels, samples: series.samples.map((sample) => ({ value: sample.value, timestamp: sample.timestampMs })) })),
    metadata: metadata.map((entry) => ({ type: { counter: 1, unknown: 0 }[entry.type], metricFamilyName: entry.metricFamilyName, help: entry.help })),
  })).finish();
  assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(theirs).toString('hex'));
});

test('a steady cycle sends every series with the new value and timestamp; the bytes decode as the whole-request encoder wrote them', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({ instance: 'node-1' });
  for (let round = 0; round < 3; round++) {
    const timestampMs = TS + round * 15_000;
    const result = cycle(cache, gauges({ a: round, b: round * 10, c: round + 0.5 }, table), timestampMs, 2);
    assert.equal(result.chunks.map((chunk) => chunk.samples), [2, 1]);
    assert.equal(byNetns(result.series), { a: round, b: round * 10, c: round + 0.5 });
    assert.ok(result.series.every((series) => series.samples[0]!.timestampMs === timestampMs));
    assert.equal(result.series[0]!.labels, [{ name: '__name__', value: 'g' }, { name: 'instance', value: 'node-1' }, { name: 'netns', value: 'a' }]);
    const whole = encodeWriteRequest({ timeseries: result.series.slice(0, 2) });
    assert.equal(Buffer.from(uncompress(result.chunks[0]!.body)).toString('hex'), Buffer.from(whole).toString('hex'));
  }
});

test('stale markers come from the series that did not come back, once; a series that returns is sent again', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({});
  cycle(cache, gauges({ a: 1, b: 2, c: 3 }, table), TS);
  const second = cycle(cache, gauges({ a: 1, c: 3 }, table), TS + 1);
  assert.equal(byNetns(second.series), { a: 1, c: 3, b: 'stale' });
  assert.is(second.stale, 1);
  assert.is(cycle(cache, gauges({ a: 1, c: 3 }, table), TS + 2).stale, 0);
  const back = cycle(cache, gauges({ a: 1, b: 5, c: 3 }, table), TS + 3);
  assert.equal(byNetns(back.series), { a: 1, b: 5, c: 3 });
  // A whole family that goes: each of its series is marked.
  const gone = cycle(cache, [], TS + 4);
  assert.equal(byNetns(gone.series), { a: 'stale', b: 'stale', c: 'stale' });
  assert.is(cache.size, 0);
});

test('a slot given to another series while the cache was not looking: a stale marker for the old one, the new one sent', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({});
  cycle(cache, gauges({ a: 1, b: 2 }, table), TS);
  // A cycle that was not pushed (a folder could not be listed): the table frees b's slot.
  gauges({ a: 1 }, table);
  const families = gauges({ a: 1, d: 4 }, table);
  const family = families[0]!;
  assert.is(family.count, 2);
  assert.ok(family.keys.length === 2, 'd took the slot b had');
  const third = cycle(cache, families, TS + 2);
  assert.equal(byNetns(third.series), { a: 1, d: 4, b: 'stale' });
  assert.is(cycle(cache, gauges({ a: 1, d: 5 }, table), TS + 3).stale, 0);
});

test('forgotten after their marker: churn does not grow the cache or the table', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({});
  let slots = 0;
  for (let round = 0; round < 200; round++) {
    const values = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`ns-${round}-${index}`, index]));
    const families = gauges(values, table);
    const result = cycle(cache, families, TS + round);
    assert.is(result.series.length, round === 0 ? 50 : 100);
    assert.is(result.stale, round === 0 ? 0 : 50);
    slots = Math.max(slots, families[0]!.keys.length);
  }
  assert.is(cache.size, 50);
  // Slots are reused: two cycles' worth at most (the old ones are freed at the end of the cycle that lacks them).
  assert.ok(slots <= 100, `slots ${slots}`);
});

test('a new table (a reload) sends no stale marker for a series that is still there', () => {
  const cache = new SeriesCache({});
  cycle(cache, gauges({ a: 1, b: 2 }, new FamilyTable()), TS);
  const next = cycle(cache, gauges({ b: 3, c: 4 }, new FamilyTable()), TS + 1);
  assert.equal(byNetns(next.series), { b: 3, c: 4, a: 'stale' });
});

test('changed external labels: the successor marks the old label sets stale and sends the new ones', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({ zone: 'eu', instance: 'n1' });
  cycle(cache, gauges({ a: 1 }, table), TS);
  assert.is(cache.successor({ zone: 'eu', instance: 'n1' }), cache);
  const next = cache.successor({ zone: 'us', instance: 'n1' });
  const result = cycle(next, gauges({ a: 2 }, table), TS + 1);
  assert.equal(result.series.map((series) => [series.labels.find((label) => label.name === 'zone')?.value, series.samples[0]!.stale === true]), [['us', false], ['eu', true]]);
});

test('two series equal once an empty value goes: the first is sent, the other counted, and sent once the first is gone', () => {
  const table = new FamilyTable();
  const cache = new SeriesCache({});
  const families = (withFirst: boolean) => familiesFromValues([{
    name: 'g', help: 'h', type: 'gauge', labelNames: ['a', 'b'],
    values: [...(withFirst ? [{ labels: { a: 'x', b: '' }, value: 1 }] : []), { labels: { a: 'x' }, value: 2 }],
  }], table);
  const first = cycle(cache, families(true), TS);
  assert.is(first.duplicates, 1);
  assert.equal(first.series.map((series) => series.samples[0]!.value), [1]);
  const second = cycle(cache, families(false), TS + 1);
  assert.is(second.duplicates, 0);
  assert.equal(second.series.map((series) => series.samples[0]!), [{ value: 2, timestampMs: TS + 1 }]);
});

test('chunks hold at most max samples each, keep the order, and a bad maximum is refused', () => {
  const values = Object.fromEntries(Array.from({ length: 7 }, (_, index) => [`n${index}`, index]));
  const result = cycle(new SeriesCache({}), gauges(values, new FamilyTable()), TS, 3);
  assert.equal(result.chunks.map((chunk) => chunk.samples), [3, 3, 1]);
  assert.equal(result.series.map((series) => series.samples[0]!.value), [0, 1, 2, 3, 4, 5, 6]);
  assert.throws(() => cycle(new SeriesCache({}), gauges(values, new FamilyTable()), TS, 0), /positive integer/);
});

test('metadata rides with the first chunk only', () => {
  const cache = new SeriesCache({});
  const result = cache.encode(gauges({ a: 1, b: 2, c: 3 }, new FamilyTable()), TS, { maxSamples: 2, metadata: true, compress });
  assert.equal(result.chunks.map((chunk) => decodeWriteRequest(uncompress(chunk.body)).metadata.length), [1, 0]);
});

test('caches taking turns in one process (they share the scratch buffer) write what each would write alone', () => {
  const values = (node: number, round: number) => Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`ns-${node}-${index}`, node * 1_000 + round * 100 + index]));
  const bodies = (turns: boolean) => {
    const caches = [new SeriesCache({ instance: 'a' }), new SeriesCache({ instance: 'b', zone: 'z' })];
    const tables = [new FamilyTable(), new FamilyTable()];
    const written: string[][] = [[], []];
    for (let round = 0; round < 3; round++) {
      for (const node of turns ? [0, 1] : [0]) {
        const result = caches[node]!.encode(gauges(values(node, round), tables[node]!), TS + round, { maxSamples: 16, metadata: round === 0, compress });
        written[node]!.push(...result.chunks.map((chunk) => Buffer.from(uncompress(chunk.body)).toString('hex')));
      }
    }
    if (!turns) for (let round = 0; round < 3; round++) {
      const result = caches[1]!.encode(gauges(values(1, round), tables[1]!), TS + round, { maxSamples: 16, metadata: round === 0, compress });
      written[1]!.push(...result.chunks.map((chunk) => Buffer.from(uncompress(chunk.body)).toString('hex')));
    }
    return written;
  };
  const apart = bodies(false);
  const together = bodies(true);
  assert.is(apart[0]!.length, 9);
  assert.equal(together, apart);
  // Each chunk decodes to its own cache's series and instance.
  const instances = (hex: string) => new Set(decodeWriteRequest(Buffer.from(hex, 'hex')).timeseries.map((series) => series.labels.find((label) => label.name === 'instance')!.value));
  assert.equal([...instances(together[1]![4]!)], ['b']);
  assert.equal([...instances(together[0]![4]!)], ['a']);
});

test.run();
