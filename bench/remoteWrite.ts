import { pino } from 'pino';
import { RemoteWriteTarget } from '../agent/targets/remoteWrite.js';
import { collectorSample, NO_COLLECTORS } from '../shared/collectors/collectorList.js';
import { cycleFamilies } from '../shared/metrics/families.js';
import { compress, encodeWriteRequest } from '../shared/remoteWrite/encode.js';
import { seriesFromMetrics } from '../shared/remoteWrite/series.js';
import { INTERFACE_STATS } from '../shared/interfaceStats.js';
import type { InterfaceSample, NamespaceResult, Snapshot } from '../shared/snapshot.js';
import { configFrom } from '../test/helpers/config.js';
import { remoteWriteFigures } from '../test/helpers/remoteWrite.js';
import { startPrometheus } from '../test/helpers/servers.js';
import { fixed, formatTable } from './figures.js';

const TARGET_SAMPLES = 30_000;
const ROUNDS = 5;

/**
 * remote_write cost per sample: snapshot → series, protobuf, snappy, and a whole push (the same
 * three plus buffering and HTTP) of a ~30k-sample cycle to a real local Prometheus. The first
 * round creates the series in Prometheus; the later ones append, as a running agent does.
 */
export async function benchRemoteWrite(): Promise<string[]> {
  const prometheus = await startPrometheus();
  const lines: string[] = [];
  try {
    const config = configFrom({ hostname: 'bench-node', push: { remote_write: { url: `${prometheus.url}/api/v1/write` } } });
    const remoteWrite = config.push.remoteWrite!;
    const target = new RemoteWriteTarget(remoteWrite, { logger: pino({ level: 'silent' }), version: 'bench' });
    await target.start();
    const rows: string[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const snapshot = syntheticSnapshot(Date.now(), config.interfaceMetrics.length);
      let started = performance.now();
      const families = cycleFamilies(snapshot, config, { version: 'bench', revision: '', nodeversion: process.version }, null);
      const { series } = seriesFromMetrics(families, snapshot.timestampMs, remoteWrite.externalLabels);
      const seriesMs = performance.now() - started;
      started = performance.now();
      const raw = encodeWriteRequest({ timeseries: series });
      const encodeMs = performance.now() - started;
      started = performance.now();
      const body = compress(raw);
      const compressMs = performance.now() - started;

      const sentBefore = remoteWriteFigures(target).sentSamples;
      const outcome = await target.push({ snapshot, families }, Date.now() + 30_000);
      if (!outcome.ok) throw new Error(`push failed: ${outcome.error}`);
      const sent = remoteWriteFigures(target).sentSamples - sentBefore;
      const samples = series.length;
      rows.push([
        round === 1 ? '1 (new series)' : String(round),
        String(samples),
        fixed(seriesMs, 1), fixed(encodeMs, 1), fixed(compressMs, 1),
        fixed(outcome.durationMs, 1), String(outcome.attempts),
        fixed((outcome.durationMs * 1000) / sent, 2),
        fixed(raw.length / samples, 1), fixed(body.length / samples, 1),
      ]);
    }
    await target.stop(Date.now() + 5_000);
    lines.push(...formatTable(
      ['round', 'samples', 'series ms', 'encode ms', 'snappy ms', 'push ms', 'requests', 'push µs/sample', 'B/sample raw', 'B/sample sent'],
      rows,
    ));
    lines.push(`push = snapshot → series → protobuf → snappy → buffer → HTTP POSTs of ≤ ${remoteWrite.maxSamplesPerSend} samples to Prometheus on loopback, until acknowledged`);
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
