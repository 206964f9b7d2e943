import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import {
  memoryLogger, promQuery, promString, remoteWriteConfig, startVictoriaMetrics, syntheticCycle,
} from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startServer, type RunningServer } from '../helpers/servers.js';

/** A second, independent receiver implementation: what works only against Prometheus is not the protocol. */
const test = suite('remote_write → real VictoriaMetrics');
let victoria: RunningServer;
let target: RemoteWriteTarget;

test.before(async () => {
  victoria = await startVictoriaMetrics();
});

test.after(async () => {
  await target?.stop(Date.now() + 1_000);
  await victoria?.stop();
});

/** VictoriaMetrics makes new samples searchable within about a second: poll. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

test('several cycles arrive in order with their timestamps, odd label values intact', async () => {
  const metric = `nxt_vm_${process.pid}`;
  const odd = ['vm space "quoted"', 'vm back\\slash', 'vm ünïcødé ☃'];
  target = new RemoteWriteTarget(remoteWriteConfig(`${victoria.url}/api/v1/write`, { timeout: '1s' }), { logger: memoryLogger().logger, version: 'test' });
  await target.start();
  const base = Math.floor(Date.now() / 1000) * 1000 - 10_000;
  const values = (cycle: number) => Object.fromEntries(odd.map((name, index) => [name, cycle * 10 + index]));
  for (let cycle = 0; cycle < 3; cycle++) {
    const outcome = await target.push(syntheticCycle(base + cycle * 1_000, metric, values(cycle)), Date.now() + 3_000);
    assert.ok(outcome.ok, outcome.error ?? '');
  }
  // Makes what was just written searchable now instead of after VictoriaMetrics' periodic flush.
  assert.is((await fetch(`${victoria.url}/internal/force_flush`)).status, 200);
  for (const [index, name] of odd.entries()) {
    const selector = `${metric}{series=${promString(name)}}[1m]`;
    const result = await eventually(() => promQuery(victoria.url, selector, base + 2_001), (found) => (found[0]?.values?.length ?? 0) >= 3);
    assert.is(result.length, 1, selector);
    assert.is(result[0]!.metric.series, name);
    assert.equal(result[0]!.values!.map(([at, value]) => [Math.round(at * 1000), Number(value)]), [0, 1, 2].map((cycle) => [base + cycle * 1_000, cycle * 10 + index]));
  }
});

test('with its default flags VictoriaMetrics shows a sample pushed now about 30 s later, as the docs warn', async () => {
  // packaging/examples/remote-write-victoriametrics.yaml and docs/troubleshooting.md tell a user
  // testing one node to wait half a minute: -search.latencyOffset (default 30s) hides newer points.
  const stock = await startServer('victoria-metrics', (port, dir) => [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-loggerLevel=ERROR'], { readyPath: '/health', label: 'victoria-metrics-stock' });
  const fresh = new RemoteWriteTarget(remoteWriteConfig(`${stock.url}/api/v1/write`, { timeout: '1s' }), { logger: memoryLogger().logger, version: 'test' });
  try {
    await fresh.start();
    const metric = `nxt_vm_fresh_${process.pid}`;
    const pushedMs = Date.now();
    const outcome = await fresh.push(syntheticCycle(pushedMs, metric, { fresh: 7 }), Date.now() + 3_000);
    assert.ok(outcome.ok, outcome.error ?? '');
    assert.is((await fetch(`${stock.url}/internal/force_flush`)).status, 200);
    assert.is((await promQuery(stock.url, metric)).length, 0, 'flushed, yet not shown at once');
    let shownMs: number | null = null;
    while (shownMs === null && Date.now() - pushedMs < 45_000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      if ((await promQuery(stock.url, metric)).length === 1) shownMs = Date.now();
    }
    assert.ok(shownMs !== null, 'shown within 45 s');
    assert.ok(shownMs - pushedMs >= 20_000, `shown after ${shownMs - pushedMs} ms, not about 30 s`);
  } finally {
    await fresh.stop(Date.now() + 1_000);
    await stock.stop();
  }
});

runWhen(test, ['victoria-metrics'], 'remote_write to VictoriaMetrics');
