import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addBareNamespaces, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * A collection that really takes longer than the interval: 600 namespaces read one at a time by
 * the nsenter reader (about 3 ms each, more on a loaded machine) against a 1 s interval, so every
 * cycle overruns, as 3,000 namespaces do at the default 15 s on a real node.
 */
const test = suite('slow collections: pushes still land, SIGTERM does not wait for the collection');
const COUNT = 600;
const INSTANCE = `slow-cycle-${process.pid}`;
let gateway: RunningServer;
let healthPort = 0;
let agent: ReturnType<typeof startAgent>;
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 60_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => agent?.output() ?? '' });

async function health(): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(3_000) });
  return { status: response.status, body: await response.json() as Record<string, any> };
}

async function gatewaySamples() {
  return parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
}

test.before(async () => {
  addBareNamespaces('slow', COUNT);
  gateway = await startPushgateway();
  healthPort = await freePort();
  agent = startAgent(['--log-level', 'debug', '--config', writeConfig({
    interval: '1s',
    read_timeout: '1s', // the most a 1 s interval allows: a loaded machine must not turn slowness into failures
    threads: 1,
    reader: 'nsenter',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}slow-` },
    health: { listen: `127.0.0.1:${healthPort}`, max_age: '60s' },
    push: { pushgateway: { url: gateway.url, grouping: { instance: INSTANCE } } },
  }, 'slow-cycle')]);
});

test.after(async () => {
  agent?.child.kill('SIGKILL');
  await gateway?.stop();
  cleanupNamespaces();
});

test('a cycle longer than the interval still pushes, with the push given its own time', async () => {
  const healthy = await waitFor('a push to land', async () => {
    const result = await health();
    return result.status === 200 ? result : null;
  });
  const cycle = healthy.body.last_cycle;
  assert.ok(cycle.duration_seconds > 1, `the collection overran the 1 s interval (took ${cycle.duration_seconds} s)`);
  assert.is(cycle.namespaces_found, COUNT);
  const samples = await gatewaySamples();
  const read = find(samples, 'netns_exporter_namespaces', { instance: INSTANCE, state: 'read' })[0]!.value;
  assert.ok(read > 0);
  assert.is(find(samples, 'netns_network_namespace', { instance: INSTANCE }).length, read, 'every namespace read is on the gateway');
  assert.is(healthy.body.targets[0].last_error, null);
});

test('SIGTERM in the middle of a collection exits 0 at once and pushes no half-read cycle', async () => {
  // Cycles run back to back now: wait for one to finish collecting, then one second into the next.
  const collected = () => (agent.output().match(/"msg":"cycle collected"/g) ?? []).length;
  const before = collected();
  await waitFor('the next collection to start', async () => collected() > before);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const pushedAt = find(await gatewaySamples(), 'push_time_seconds', { instance: INSTANCE })[0]!.value;
  const signalled = Date.now();
  agent.child.kill('SIGTERM');
  const code = await agent.exited;
  const tookMs = Date.now() - signalled;
  assert.is(code, 0, agent.output().slice(-2000));
  assert.ok(tookMs < 3_000, `exited ${tookMs} ms after SIGTERM`);
  const afterSignal = agent.output().slice(agent.output().indexOf('"msg":"shutting down"'));
  assert.not.match(afterSignal, /"msg":"cycle collected"/, 'the collection in flight was abandoned, not awaited');
  assert.is(find(await gatewaySamples(), 'push_time_seconds', { instance: INSTANCE })[0]!.value, pushedAt, 'nothing was pushed after the signal');
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway'], 'slow cycle tests');
