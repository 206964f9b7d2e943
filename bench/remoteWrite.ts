import { pino } from 'pino';
import { RemoteWriteTarget } from '../agent/targets/remoteWrite.js';
import { loadSnappy, type SnappyBlock } from '../agent/targets/snappy.js';
import { collectorSample } from '../shared/collectors/collectorList.js';
import { NO_COLLECTORS } from '../test/helpers/config.js';
import { cycleFamilies } from '../shared/metrics/families.js';
import { FamilyTable, labelKey, type SeriesFamily } from '../shared/metrics/familyTable.js';
import { decodeWriteRequest } from '../shared/remoteWrite/decode.js';
import { compress, uncompress } from '../shared/remoteWrite/snappyBlock.js';
import { SeriesCache } from '../shared/remoteWrite/seriesCache.js';
import { INTERFACE_STATS } from '../shared/interfaceStats.js';
import type { InterfaceSample, NamespaceResult, Snapshot } from '../shared/snapshot.js';
import { configFrom } from '../test/helpers/config.js';
import { remoteWriteFigures } from '../test/helpers/remoteWrite.js';
import { startPrometheus } from '../test/helpers/servers.js';
import { fixed, formatTable } from './figures.js';

const TARGET_SAMPLES = 25_000;
const ROUNDS = 8;
const BUILD = { version: 'bench', revision: '', nodeversion: process.version };

/**
 * remote_write cost per sample of a ~25k-series cycle, as a running agent pays it: the families
 * kept between cycles (values and timestamps new every round), the series cache's encode with
 * each snappy (the native binding and snappyjs, taking turns), every chunk decoded again and
 * checked against the families; then whole pushes (encode, buffer, HTTP) to a real local
 * Prometheus. Round 1 encodes every series' labels; later rounds write only samples.
 */
export async function benchRemoteWrite(): Promise<string[]> {
  const lines = encodeRounds(await loadSnappy());
  lines.push('', ...await pushRounds());
  return lines;
}

function encodeRounds(native: SnappyBlock): string[] {
  const config = configFrom({ hostname: 'bench-node', push: { remote_write: { url: 'http://127.0.0.1:9/api/v1/write' } } });
  const remoteWrite = config.push.remoteWrite!;
  const compressors = [{ name: native.kind, compress: native.compress }, ...(native.kind === 'native' ? [{ name: 'snappyjs', compress }] : [])];
  const caches = compressors.map(() => new SeriesCache(remoteWrite.externalLabels));
  const table = new FamilyTable();
  const rows: string[][] = [];
  const baseMs = Date.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const snapshot = syntheticSnapshot(baseMs + round * 15_000, config.interfaceMetrics.length);
    let cpu = process.cpuUsage();
    const families = cycleFamilies(snapshot, config, BUILD, null, table);
    const familiesMs = cpuMs(cpu);
    const series = families.reduce((sum, family) => sum + family.count, 0);
    // Turns: odd rounds native first, even rounds snappyjs first.
    const order = compressors.map((_, index) => index);
    if (round % 2 === 0) order.reverse();
    const cost = new Map<number, { ms: number; bytes: number; raw: number }>();
    for (const index of order) {
      cpu = process.cpuUsage();
      const { chunks } = caches[index]!.encode(families, snapshot.timestampMs, {
        maxSamples: remoteWrite.maxSamplesPerSend, metadata: round === 1, compress: compressors[index]!.compress,
      });
      const ms = cpuMs(cpu);
      const raw = verify(chunks.map((chunk) => chunk.body), families, snapshot.timestampMs);
      cost.set(index, { ms, bytes: chunks.reduce((sum, chunk) => sum + chunk.body.length, 0), raw });
    }
    rows.push([
      round === 1 ? '1 (labels encoded)' : String(round), String(series), fixed(familiesMs, 1),
      ...compressors.flatMap((_, index) => [fixed(cost.get(index)!.ms, 1), fixed((cost.get(index)!.ms * 1000) / series, 3)]),
      fixed(cost.get(0)!.raw / series, 1), fixed(cost.get(0)!.bytes / series, 1),
    ]);
  }
  return [
    ...formatTable(['round', 'series', 'families CPU ms', ...compressors.flatMap((entry) => [`encode+${entry.name} CPU ms`, `µs/sample`]), 'B/sample raw', 'B/sample sent'], rows),
    'encode = the series cache: chunks of ≤ max_samples_per_send samples, protobuf and snappy; every chunk decoded again (protobufjs) and checked against the families',
    'CPU time of this process (user + system) while each step ran: on a shared machine less inflated by others than wall time',
  ];
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Decodes the chunks and checks every sample against the families; returns the raw bytes. */
function verify(bodies: readonly Uint8Array[], families: readonly SeriesFamily[], timestampMs: number): number {
  const expected = new Map<string, number>();
  for (const family of families) {
    for (let index = 0; index < family.count; index++) {
      const slot = family.order[index]!;
      const labels = Object.fromEntries(Object.entries(family.labels[slot]!).filter(([, value]) => value !== ''));
      expected.set(`${family.name}|${labelKey(labels)}`, family.slotValues[slot]!);
    }
  }
  let raw = 0;
  let seen = 0;
  for (const body of bodies) {
    const bytes = uncompress(body);
    raw += bytes.length;
    for (const series of decodeWriteRequest(bytes).timeseries) {
      const labels = Object.fromEntries(series.labels.filter((label) => label.name !== '__name__' && label.name !== 'instance').map((label) => [label.name, label.value]));
      const name = series.labels.find((label) => label.name === '__name__')!.value;
      const sample = series.samples[0]!;
      const want = expected.get(`${name}|${labelKey(labels)}`);
      if (sample.timestampMs !== timestampMs || want === undefined || !Object.is(want, sample.value)) {
        throw new Error(`decoded ${name} ${JSON.stringify(labels)} = ${sample.value} @${sample.timestampMs}, expected ${want} @${timestampMs}`);
      }
      seen += 1;
    }
  }
  if (seen !== expected.size) throw new Error(`decoded ${seen} series, expected ${expected.size}`);
  return raw;
}

async function pushRounds(): Promise<string[]> {
  const prometheus = await startPrometheus();
  const lines: string[] = [];
  try {
    const config = configFrom({ hostname: 'bench-node', push: { remote_write: { url: `${prometheus.url}/api/v1/write` } } });
    const remoteWrite = config.push.remoteWrite!;
    const target = new RemoteWriteTarget(remoteWrite, { logger: pino({ level: 'silent' }), version: 'bench' });
    await target.start();
    const table = new FamilyTable();
    const rows: string[][] = [];
    for (let round = 1; round <= 5; round++) {
      const snapshot = syntheticSnapshot(Date.now(), config.interfaceMetrics.length);
      const families = cycleFamilies(snapshot, config, BUILD, null, table);
      const sentBefore = remoteWriteFigures(target).sentSamples;
      const outcome = await target.push({ snapshot, families }, Date.now() + 30_000);
      if (!outcome.ok) throw new Error(`push failed: ${outcome.error}`);
      const sent = remoteWriteFigures(target).sentSamples - sentBefore;
      rows.push([round === 1 ? '1 (new series)' : String(round), String(sent), fixed(outcome.durationMs, 1), String(outcome.attempts), fixed((outcome.durationMs * 1000) / sent, 2)]);
    }
    await target.stop(Date.now() + 5_000);
    lines.push(...formatTable(['push round', 'samples', 'push ms', 'requests', 'push µs/sample'], rows));
    lines.push(`push = families → series cache → buffer → HTTP POSTs of ≤ ${remoteWrite.maxSamplesPerSend} samples to Prometheus on loopback, until acknowledged (wall time, Prometheus on the same cores)`);
  } finally {
    await prometheus.stop();
  }
  return lines;
}

/** Namespaces with two devices each, enough of them for about TARGET_SAMPLES samples. */
function syntheticSnapshot(timestampMs: number, statCount: number): Snapshot {
  // Per device: each configured statistic + up + info + mtu; per namespace: the namespace gauge.
  const perNamespace = 2 * (statCount + 3) + 1;
  const count = Math.ceil(TARGET_SAMPLES / perNamespace);
  const results: NamespaceResult[] = Array.from({ length: count }, (_, index) => {
    const name = `qrouter-${index.toString(16).padStart(8, '0')}-5f6e-4c1a-9d2b-${(index * 7919).toString(16).padStart(12, '0')}`;
    return { ns: { name, path: `/run/netns/${name}`, inode: index }, ok: true, sample: { interfaces: [device('qg-1', index), device('qr-2', index)], proc: {}, procErrors: [], collectors: collectorSample({}, NO_COLLECTORS) }, durationMs: 1 };
  });
  return { timestampMs, durationMs: 0, results, discoveredCount: count, discoveryErrors: [], unlistedDirs: [] };
}

function device(name: string, seed: number): InterfaceSample {
  const stats = Object.fromEntries(INTERFACE_STATS.map((stat, index) => [stat, seed * 1_000 + index * 37 + Math.floor(Math.random() * 100)])) as InterfaceSample['stats'];
  return {
    name, ifindex: 2, operstate: 'UP', mtu: 1450, mac: '9e:2e:82:3f:38:3a', linkType: 'ether',
    addresses: [{ family: 'inet', address: `10.${seed % 250}.0.1`, prefixLength: 24, scope: 'global' }], stats,
  };
}
