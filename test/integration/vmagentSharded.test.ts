import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import { memoryLogger, remoteWriteConfig, remoteWriteFigures, syntheticCycle } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startShardedTier, type ShardedTier } from '../helpers/vmagentSharded.js';

/**
 * The way past one receiver, for real: agents → haproxy → two vmagents → two VictoriaMetrics
 * storage nodes, each series sharded by a hash of its labels. One vmagent is stopped (SIGTERM)
 * and started again mid-run: haproxy sends the agents to the other one meanwhile.
 */
const test = suite('remote_write through haproxy, two vmagents and two sharded VictoriaMetrics');
let tier: ShardedTier | null = null;
const targets: RemoteWriteTarget[] = [];
test.after(async () => {
  for (const target of targets) await target.stop(Date.now() + 1_000);
  await tier?.stop();
});

const METRIC = 'sharded_test';
const SERIES = Array.from({ length: 40 }, (_, index) => `s${String(index).padStart(2, '0')}`);
const CYCLES = 12;
const STEP_MS = 10_000;

interface Exported {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

async function exported(url: string): Promise<Exported[]> {
  await fetch(`${url}/internal/force_flush`);
  const response = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': `{__name__="${METRIC}"}` })}`);
  const text = await response.text();
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Exported);
}

const valueOf = (cycle: number, node: number, series: number) => cycle * 1_000 + series + node * 0.5;

test('every series lands on exactly one shard with every sample, while a vmagent is stopped and started again', async () => {
  tier = await startShardedTier();
  const instances = ['shard-node-a', 'shard-node-b'];
  for (const instance of instances) {
    const target = new RemoteWriteTarget(
      remoteWriteConfig(tier.writeUrl, { external_labels: { instance }, min_backoff: '100ms', max_backoff: '500ms', max_samples_per_send: 25 }),
      { logger: memoryLogger().logger, version: 'test' },
    );
    await target.start();
    targets.push(target);
  }
  const t0 = Date.now() - CYCLES * STEP_MS - 60_000;
  const push = async (cycle: number) => {
    for (const [node, target] of targets.entries()) {
      const values = Object.fromEntries(SERIES.map((name, index) => [name, valueOf(cycle, node, index)]));
      await target.push(syntheticCycle(t0 + cycle * STEP_MS, METRIC, values), Date.now() + 3_000);
    }
  };
  for (let cycle = 0; cycle < 4; cycle++) await push(cycle);
  await tier.stopAgent(0);
  for (let cycle = 4; cycle < 8; cycle++) await push(cycle);
  await tier.startAgent(0);
  for (let cycle = 8; cycle < CYCLES; cycle++) await push(cycle);
  // Whatever a push could not deliver is in the agents' buffers: the next pushes carry it.
  for (let round = 0; round < 20 && targets.some((target) => remoteWriteFigures(target).samples > 0); round++) {
    for (const target of targets) await target.push(syntheticCycle(t0 + (CYCLES - 1) * STEP_MS, METRIC, {}), Date.now() + 3_000);
  }
  for (const target of targets) assert.is(remoteWriteFigures(target).samples, 0, 'nothing left in a buffer');

  const want = SERIES.length * instances.length;
  let shards: Exported[][] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    shards = await Promise.all(tier.storage.map((server) => exported(server.url)));
    const complete = shards.flat().filter((series) => new Set(series.timestamps).size >= CYCLES).length;
    if (complete >= want || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const where = new Map<string, number[]>();
  shards.forEach((list, shard) => list.forEach((series) => {
    const key = `${series.metric.instance}/${series.metric.series}`;
    where.set(key, [...(where.get(key) ?? []), shard]);
  }));
  assert.is(where.size, want, `every series stored (${where.size} of ${want}); haproxy: ${tier.log().slice(-500)}`);
  for (const [key, found] of where) assert.is(found.length, 1, `${key} on exactly one shard, found on ${found.join(', ')}`);
  assert.ok(shards.every((list) => list.length > 0), `both shards hold series: ${shards.map((list) => list.length).join(', ')}`);
  for (const series of shards.flat()) {
    const node = instances.indexOf(series.metric.instance!);
    const index = SERIES.indexOf(series.metric.series!);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const at = series.timestamps.indexOf(t0 + cycle * STEP_MS);
      assert.ok(at >= 0, `${series.metric.instance}/${series.metric.series}: cycle ${cycle}'s sample missing`);
      assert.is(series.values[at], valueOf(cycle, node, index));
    }
  }
});

runWhen(test, ['victoria-metrics', 'haproxy'], 'vmagent-sharded central tier');
