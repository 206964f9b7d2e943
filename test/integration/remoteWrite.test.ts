import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection } from '../../agent/collect.js';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import { cycleFamilies } from '../../shared/metrics/families.js';
import { configFrom } from '../helpers/config.js';
import { addNamespace, addVeth, deleteNamespace, inNs, TEST_PREFIX } from '../helpers/netns.js';
import {
  memoryLogger, promQuery, promString, rawSamples, remoteWriteConfig, remoteWriteFigures, syntheticCycle,
} from '../helpers/remoteWrite.js';
import { testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPrometheus, tempDir, type RunningServer } from '../helpers/servers.js';

const BUILD = { version: 'test', revision: '', nodeversion: process.version };
const test = suite('remote_write → real Prometheus');

let prometheus: RunningServer;
const cleanup: (() => Promise<void> | void)[] = [];

test.before(async () => {
  prometheus = await startPrometheus();
});

test.after(async () => {
  for (const task of cleanup.reverse()) await task();
  await prometheus?.stop();
});

function writeUrl(server: { port: number }): string {
  return `http://127.0.0.1:${server.port}/api/v1/write`;
}

/** A unique metric name per test, so tests sharing a Prometheus never see each other's samples. */
let metricCounter = 0;
function metricName(): string {
  metricCounter += 1;
  return `nxt_rw_${process.pid}_${metricCounter}`;
}

/** A Prometheus we can stop and start again over the same data folder, as in an outage. */
async function restartablePrometheus(): Promise<{ current: () => RunningServer; port: number; stop: () => Promise<void>; start: () => Promise<void> }> {
  const dir = tempDir('prometheus-outage');
  let server: RunningServer | null = await startPrometheus({ dir });
  const { port } = server;
  cleanup.push(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    current: () => server!,
    stop: async () => {
      await server?.stop();
      server = null;
    },
    start: async () => {
      server = await startPrometheus({ port, dir });
    },
  };
}

/** Timestamps one second apart ending now-ish: recent enough for Prometheus' head block. */
function cycleTimes(count: number): number[] {
  const base = Math.floor(Date.now() / 1000) * 1000 - count * 1000;
  return Array.from({ length: count }, (_, index) => base + index * 1000);
}

const soon = (ms = 2_000) => Date.now() + ms;

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return spawnSync('true').pid!;
}

test('real namespaces with odd names: values queryable, label escaping intact', async () => {
  const names = ['rwodd space "quoted"', 'rwodd back\\slash', 'rwodd ünïcødé ☃'];
  const namespaces = names.map((name) => addNamespace(name));
  // Suites share one process and its test prefix: leave no namespace for the next suite to read.
  cleanup.push(() => namespaces.forEach(deleteNamespace));
  const devices = [`rwa${process.pid % 100_000}`, `rwb${process.pid % 100_000}`];
  addVeth({ ns: namespaces[0]!, dev: devices[0]! }, { ns: namespaces[1]!, dev: devices[1]! });
  inNs(namespaces[0]!, ['ip', 'link', 'set', devices[0]!, 'mtu', '1400']);
  inNs(namespaces[1]!, ['ip', 'link', 'set', devices[1]!, 'mtu', '1234']);

  const config = configFrom({ namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}rwodd ` }, hostname: 'rw-host' });
  const collection = new Collection('nsenter', testReaderOptions({ threads: 2 }));
  const snapshot = await collection.collect({
    discovery: { netnsDirs: ['/run/netns'], filter: config.namespacesFilter, procRoot: '/proc' },
  }).finally(() => collection.stop());
  assert.is(snapshot.results.filter((result) => result.ok).length, 3);
  const families = cycleFamilies(snapshot, config, BUILD, null);
  const instance = `rw-odd-${process.pid}`;
  const target = new RemoteWriteTarget(remoteWriteConfig(writeUrl(prometheus), { external_labels: { instance } }), { logger: memoryLogger().logger, version: 'test' });
  await target.start();
  cleanup.push(() => target.stop(soon(1_000)));
  const outcome = await target.push({ snapshot, families }, soon(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');

  const found = await promQuery(prometheus.url, `netns_network_namespace{instance="${instance}"}`, snapshot.timestampMs);
  assert.equal(found.map((series) => series.metric.netns).sort(), [...namespaces].sort());
  for (const [index, mtu] of [[0, 1400], [1, 1234]] as const) {
    const selector = `netns_network_mtu_bytes{instance="${instance}", netns=${promString(namespaces[index]!)}, device="${devices[index]}"}`;
    const result = await promQuery(prometheus.url, selector, snapshot.timestampMs);
    assert.is(result.length, 1, selector);
    assert.is(Number(result[0]!.value![1]), mtu);
    assert.is(result[0]!.metric.netns, namespaces[index]);
  }
});

test('outage: receiver stopped for several cycles, restarted over the same data → every cycle present, in order', async () => {
  const receiver = await restartablePrometheus();
  const metric = metricName();
  const target = new RemoteWriteTarget(remoteWriteConfig(writeUrl(receiver), { timeout: '500ms' }), { logger: memoryLogger().logger, version: 'test' });
  await target.start();
  cleanup.push(() => target.stop(soon(1_000)));
  const times = cycleTimes(6);
  const push = (index: number) => target.push(syntheticCycle(times[index]!, metric, { a: index + 1, b: (index + 1) * 10 }), soon(800));

  assert.ok((await push(0)).ok);
  await receiver.stop();
  for (const index of [1, 2, 3, 4]) {
    const outcome = await push(index);
    assert.not.ok(outcome.ok, `cycle ${index} cannot be delivered`);
    assert.match(outcome.error ?? '', /samples stay buffered/);
  }
  assert.is(remoteWriteFigures(target).samples, 8);
  await receiver.start();
  const last = await target.push(syntheticCycle(times[5]!, metric, { a: 6, b: 60 }), soon(5_000));
  assert.ok(last.ok, last.error ?? '');
  assert.is(remoteWriteFigures(target).samples, 0);

  const samples = await rawSamples(receiver.current().url, metric, times[5]! + 1);
  assert.equal(samples.get('a'), times.map((at, index) => [at, index + 1]));
  assert.equal(samples.get('b'), times.map((at, index) => [at, (index + 1) * 10]));
});

test('restart of the agent during an outage, with buffer.dir → nothing missing', async () => {
  const receiver = await restartablePrometheus();
  const metric = metricName();
  const dir = tempDir('rw-disk');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = remoteWriteConfig(writeUrl(receiver), { timeout: '500ms', buffer: { dir } });
  const times = cycleTimes(5);

  const first = new RemoteWriteTarget(config, { logger: memoryLogger().logger, version: 'test' });
  await first.start();
  assert.ok((await first.push(syntheticCycle(times[0]!, metric, { a: 1 }), soon())).ok);
  await receiver.stop();
  for (const index of [1, 2, 3]) assert.not.ok((await first.push(syntheticCycle(times[index]!, metric, { a: index + 1 }), soon(600))).ok);
  // The agent dies: the kernel lets go of its flock (a stop() past its deadline sends nothing),
  // and the lock file it leaves behind names a process that is gone.
  await first.stop(Date.now());
  writeFileSync(path.join(dir, '.lock'), `${deadPid()}\n`);

  await receiver.start();
  const { logger, lines } = memoryLogger();
  const second = new RemoteWriteTarget(config, { logger, version: 'test' });
  await second.start();
  cleanup.push(() => second.stop(soon(1_000)));
  assert.is(remoteWriteFigures(second).samples, 3, 'the three undelivered cycles were found on disk');
  assert.ok(lines().some((line) => /resending/.test(String(line.msg))));
  const outcome = await second.push(syntheticCycle(times[4]!, metric, { a: 5 }), soon(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');

  const samples = await rawSamples(receiver.current().url, metric, times[4]! + 1);
  assert.equal(samples.get('a'), times.map((at, index) => [at, index + 1]));
});

test('overflow: the oldest cycles are dropped and counted, the newest delivered', async () => {
  const port = await freePort();
  const metric = metricName();
  // Two series per cycle; room for two cycles.
  const target = new RemoteWriteTarget(
    remoteWriteConfig(`http://127.0.0.1:${port}/api/v1/write`, { timeout: '300ms', buffer: { max_samples: 4 } }),
    { logger: memoryLogger().logger, version: 'test' },
  );
  await target.start();
  cleanup.push(() => target.stop(soon(1_000)));
  const times = cycleTimes(5);
  for (const index of [0, 1, 2, 3]) {
    assert.not.ok((await target.push(syntheticCycle(times[index]!, metric, { a: index + 1, b: index + 1 }), soon(400))).ok);
  }
  const receiver = await startPrometheus({ port });
  cleanup.push(() => receiver.stop());
  const outcome = await target.push(syntheticCycle(times[4]!, metric, { a: 5, b: 5 }), soon(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');

  const samples = await rawSamples(receiver.url, metric, times[4]! + 1);
  assert.equal(samples.get('a'), [[times[3], 4], [times[4], 5]]);
  const dropped = target.selfMetrics().find((metricSpec) => metricSpec.spec.name === 'netns_exporter_remote_write_samples_dropped_total')!;
  assert.equal(dropped.values.filter((value) => value.value > 0), [{ labels: { reason: 'buffer_full' }, value: 6 }]);
});

test('stale markers: a series that disappears ends at once in Prometheus', async () => {
  const metric = metricName();
  const target = new RemoteWriteTarget(remoteWriteConfig(writeUrl(prometheus)), { logger: memoryLogger().logger, version: 'test' });
  await target.start();
  cleanup.push(() => target.stop(soon(1_000)));
  const [t1, t2] = cycleTimes(2) as [number, number];
  assert.ok((await target.push(syntheticCycle(t1, metric, { a: 1, gone: 1 }), soon())).ok);
  assert.ok((await target.push(syntheticCycle(t2, metric, { a: 2 }), soon())).ok);
  // Without the marker, "gone" would still answer for 5 minutes after t1.
  const atT2 = await promQuery(prometheus.url, metric, t2 + 1);
  assert.equal(atT2.map((series) => series.metric.series), ['a']);
  const beforeT2 = await promQuery(prometheus.url, metric, t2 - 1);
  assert.equal(beforeT2.map((series) => series.metric.series).sort(), ['a', 'gone']);
});

runWhen(test, ['root', 'ip', 'nsenter', 'prometheus'], 'remote_write integration');
