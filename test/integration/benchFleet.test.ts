import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runWhen } from '../helpers/requirements.js';

/**
 * CI's smoke test of `npm run bench -- fleet`: a tiny fleet against the real Pushgateway for two
 * seconds. The figures are not judged (not a timed test); that the table comes out and that
 * nothing is left behind (receiver, its data folder, shard processes) is.
 */
const test = suite('bench fleet (smoke)');
const RUN = new URL('../../bench/run.js', import.meta.url).pathname;
const SHARD = new URL('../../bench/fleetShard.js', import.meta.url).pathname;

function shardProcesses(): string[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SHARD);
    } catch {
      return false;
    }
  });
}

test('a tiny fleet prints both tables and leaves no receiver, data folder or shard behind', () => {
  const started = Date.now();
  const run = spawnSync(process.execPath, [
    RUN, 'fleet', '--receivers', 'pushgateway', '--nodes', '3', '--namespaces', '5', '--devices', '2',
    '--duration', '2s', '--interval', '1s', '--splay', '0', '--jitter', '100ms', '--herd', '0', '--shard-size', '2',
  ], { encoding: 'utf8', timeout: 60_000 });
  assert.is(run.status, 0, run.stderr);
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  const out = run.stdout;
  // lo and one interface each: the example's device_filter drops lo.
  assert.match(out, /5 namespaces × 2 devices per node = 71 series per push/);
  assert.match(out, /^receiver\s+nodes\s+pushes\s+p50 ms\s+p99 ms\s+steady p50\s+steady p99\s+failed\s+retries\s+peak req\/s\s+client cores\s+node µs\/sample\s+whole run\s+client MiB\s+MiB\/node/m);
  const pushRow = /^pushgateway\s+3\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(out);
  assert.ok(pushRow, out);
  assert.ok(Number(pushRow![1]) >= 3, `every node pushed at least once: ${pushRow![0]}`);
  // The nodes' own cost, and where each side ran: on a machine with two CPUs or more, apart.
  const header = /^receiver\s+nodes\s+pushes.*$/m.exec(out)![0].split(/\s{2,}/);
  const row = /^pushgateway\s+3\s+\d+.*$/m.exec(out)![0].split(/\s{2,}/);
  const cell = (name: string) => row[header.indexOf(name)]!;
  assert.ok(Number(cell('MiB/node')) > 1, `MiB/node: ${cell('MiB/node')}`);
  assert.ok(Number(cell('whole run')) > 0, `node µs/sample over the whole run: ${cell('whole run')}`);
  if (cpus().length >= 2) {
    assert.match(out, /receiver pinned to CPU 0(,\d+)*, simulated nodes .* to CPU \d/);
    const [receiverCpus, nodeCpus] = cell('CPUs recv / nodes').split(' / ');
    assert.ok(receiverCpus!.startsWith('0') && !nodeCpus!.startsWith('0'), cell('CPUs recv / nodes'));
    if (cpus().length === 2) assert.equal([receiverCpus, nodeCpus], ['0', '1']);
  }
  const receiverRow = /^pushgateway\s+3\s+0\.00 M\s+[\d.]+\s+[\d.]+\s+\S+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+([\d.>]+)\s+(\d+) \/ [\d.]+$/m.exec(out);
  assert.ok(receiverRow, `receiver row with RSS and a scrape: ${out}`);
  assert.ok(Number(receiverRow![1]) > 0, 'the receiver\'s RSS was sampled');
  const stopped = /receivers stopped: pushgateway pid (\d+) \((\S+)\)/.exec(out);
  assert.ok(stopped, out);
  assert.not.ok(existsSync(`/proc/${stopped![1]}/cmdline`) && readFileSync(`/proc/${stopped![1]}/cmdline`, 'utf8').includes('pushgateway'), 'the gateway is gone');
  assert.not.ok(existsSync(stopped![2]!), `${stopped![2]} removed`);
  assert.equal(shardProcesses(), [], 'no shard process left');
});

test('a bad option is refused with the option named', () => {
  const run = spawnSync(process.execPath, [RUN, 'fleet', '--receivers', 'graphite'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(run.status, 1);
  assert.match(run.stderr, /--receivers: expected some of pushgateway, pushgateway-unchecked, prometheus, victoria-metrics/);
});

runWhen(test, ['pushgateway'], 'fleet benchmark smoke test');
