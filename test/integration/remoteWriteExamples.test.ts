import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import { parseConfig } from '../../shared/config/schema.js';
import type { RemoteWriteConfig } from '../../shared/config/configTypes.js';
import { memoryLogger, promQuery, startVictoriaMetrics, syntheticCycle } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startPrometheus, type RunningServer } from '../helpers/servers.js';

/**
 * The shipped fleet examples for receivers Debian packages, pushed as shipped (write path, headers,
 * timeouts) with only the host swapped for a real local server: a wrong path in an example fails here.
 */
const test = suite('remote_write examples → real receivers');
const EXAMPLES = new URL('../../../packaging/examples/', import.meta.url);

/** The example's push.remote_write section, as the agent on `hostname` reads it, pointed at `origin`. */
function exampleSection(name: string, origin: string, hostname: string): RemoteWriteConfig {
  const raw = parse(readFileSync(new URL(name, EXAMPLES), 'utf8')) as { push: { remote_write: Record<string, unknown> } };
  const section = raw.push.remote_write;
  const shipped = new URL(String(section.url));
  section.url = `${origin}${shipped.pathname}`;
  delete section.buffer; // the state folder of a production host
  delete section.basic_auth; // the test servers run without auth
  const result = parseConfig(raw, { hostname, env: {}, readFile: () => '' });
  if (!result.ok) throw new Error(`${name}: ${result.errors.join('; ')}`);
  return result.config.push.remoteWrite!;
}

async function pushAndFind(name: string, server: RunningServer, afterPush: () => Promise<void> = async () => undefined): Promise<void> {
  const hostname = `example-${process.pid}`;
  const metric = `nxt_example_${name.replace(/\W/g, '_')}`;
  const target = new RemoteWriteTarget(exampleSection(name, server.url, hostname), { logger: memoryLogger().logger, version: 'test' });
  await target.start();
  try {
    const at = Date.now();
    const outcome = await target.push(syntheticCycle(at, metric, { a: 41, b: 42 }), Date.now() + 5_000);
    assert.ok(outcome.ok, `${name}: ${outcome.error}`);
    await afterPush();
    const deadline = Date.now() + 10_000;
    let found = await promQuery(server.url, `${metric}{instance="${hostname}"}`, at + 1);
    while (found.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      found = await promQuery(server.url, `${metric}{instance="${hostname}"}`, at + 1);
    }
    assert.equal(found.map((series) => [series.metric.series, Number(series.value![1])]).sort(), [['a', 41], ['b', 42]], name);
  } finally {
    await target.stop(Date.now() + 1_000);
  }
}

test('remote-write-prometheus.yaml: /api/v1/write of a Prometheus with the receiver on', async () => {
  const prometheus = await startPrometheus();
  try {
    await pushAndFind('remote-write-prometheus.yaml', prometheus);
  } finally {
    await prometheus.stop();
  }
});

test('remote-write-victoriametrics.yaml: /api/v1/write of single-node VictoriaMetrics', async () => {
  const victoria = await startVictoriaMetrics();
  try {
    await pushAndFind('remote-write-victoriametrics.yaml', victoria, async () => {
      assert.is((await fetch(`${victoria.url}/internal/force_flush`)).status, 200);
    });
  } finally {
    await victoria.stop();
  }
});

runWhen(test, ['prometheus', 'victoria-metrics'], 'remote_write examples against real receivers');
