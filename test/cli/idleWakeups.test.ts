import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { freePort } from '../helpers/servers.js';

/**
 * Between two cycles the agent has nothing to do, and its main thread should sleep. prom-client's
 * event-loop lag gauges sample the loop with a timer, every 10 ms unless told otherwise: on this VM
 * that woke an idle agent ~100 times a second and cost 3.5 ms of CPU per second, ~55 ms per 15 s
 * cycle, as much as reading 500 namespaces. The gauges stay; they sample once a second.
 */
const test = suite('CLI: an idle agent sleeps between cycles');

/** Context switches of the process's main thread (a thread that wakes up and sleeps again counts one). */
function mainThreadSwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const count = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)$`, 'm').exec(status)?.[1] ?? NaN);
  return count('voluntary_ctxt_switches') + count('nonvoluntary_ctxt_switches');
}

/** A pull-mode agent that reads nothing, every 15 s, once its first collection is done. */
async function idleAgent(label: string): Promise<{ agent: ReturnType<typeof startAgent>; port: number }> {
  const port = await freePort();
  const file = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` },
    interval: '15s',
    api_server: { server_address: '127.0.0.1', server_port: port },
  }, label);
  const agent = startAgent(['--config', file]);
  try {
    await waitFor('the first collection', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, { context: agent.output });
  } catch (error) {
    // The callers stop the agent only once they have it.
    agent.child.kill('SIGTERM');
    await agent.exited;
    throw error;
  }
  return { agent, port };
}

test('its main thread wakes fewer than 10 times a second, and the lag gauges are still served', async () => {
  const { agent, port } = await idleAgent('idle');
  try {
    // The scrape's own work is over once its reply is read; then the loop has only its timers.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^netns_exporter_nodejs_eventloop_lag_p99_seconds \S+$/m);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const pid = agent.child.pid!;
    const before = mainThreadSwitches(pid);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const wakeups = mainThreadSwitches(pid) - before;
    assert.ok(Number.isFinite(wakeups), 'context switches read from /proc');
    assert.ok(wakeups < 30, `the idle main thread switched ${wakeups} times in 3 s`);
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

/** One gauge's value from a text exposition; NaN when absent. */
function gauge(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

test('the lag gauges report lag, not the sampling interval: none while idle, a stall when stopped', async () => {
  const { agent, port } = await idleAgent('lag');
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  try {
    // Each scrape reads the figures since the one before; a few samples of an idle loop first.
    await scrape();
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const idle = await scrape();
    for (const part of ['min', 'mean', 'p50']) {
      const value = gauge(idle, `netns_exporter_nodejs_eventloop_lag_${part}_seconds`);
      assert.ok(value >= 0 && value < 0.1, `idle lag ${part}: ${value} s`);
    }
    // A stopped process is a stalled loop: the sample taken when it runs again shows the stall.
    // Stopped for 2 s right after a scrape: a sample fell due in the first second of it, so it is
    // at least 1 s late when the process runs again.
    agent.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    agent.child.kill('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stalled = await scrape();
    const max = gauge(stalled, 'netns_exporter_nodejs_eventloop_lag_max_seconds');
    assert.ok(max >= 0.9 && max < 5, `lag max after a 2 s stop: ${max} s`);
  } finally {
    agent.child.kill('SIGCONT');
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

test.run();
