import { createServer, type Server } from 'node:net';
import { renameSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { faultServer, promQuery, startVictoriaMetrics } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * SIGHUP through the reload step, against a real agent, a real Pushgateway and VictoriaMetrics:
 * every key a reload can apply is applied, the rest are named in one line.
 */
const test = suite('SIGHUP: hostname, listeners and the keys that need a restart');
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 20_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => agent?.output() ?? '' });
let gateway: RunningServer | null = null;
let victoria: RunningServer | null = null;
let agent: ReturnType<typeof startAgent> | null = null;
let configFile = '';
let blocker: Server | null = null;
const ports = { health: 0, api: 0, health2: 0, api2: 0, blocked: 0 };
const HOST_A = `reload-a-${process.pid}`;
const HOST_B = `reload-b-${process.pid}`;
const HOST_C = `reload-c-${process.pid}`;

function config(overrides: { hostname: string; health: number; api: number; deleteOnShutdown: boolean; splay?: string }): Record<string, unknown> {
  return {
    interval: '1s',
    read_timeout: '900ms',
    hostname: overrides.hostname,
    ...(overrides.splay ? { splay: overrides.splay } : {}),
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}reload$` },
    api_server: { enabled: true, server_address: '127.0.0.1', server_port: overrides.api },
    health: { listen: `127.0.0.1:${overrides.health}` },
    push: {
      pushgateway: { url: `http://127.0.0.1:${gateway!.port}`, timeout: '800ms', delete_on_shutdown: overrides.deleteOnShutdown },
      remote_write: { url: `http://127.0.0.1:${victoria!.port}/api/v1/write`, timeout: '800ms' },
    },
  };
}

async function groups(): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${gateway!.port}/api/v1/metrics`);
  const body = (await response.json()) as { data: { labels: Record<string, string> }[] };
  return body.data.map((group) => group.labels.instance ?? '');
}

async function answers(port: number, path: string): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

async function remoteWriteInstances(): Promise<string[]> {
  const results = await promQuery(`http://127.0.0.1:${victoria!.port}`, 'count by (instance) (netns_network_up)');
  return results.map((result) => result.metric.instance ?? '');
}

/** As an editor or config manager saves: a reload never reads a file half written. */
function writeAtomically(text: string): void {
  writeFileSync(`${configFile}.new`, text);
  renameSync(`${configFile}.new`, configFile);
}

function reload(next: Record<string, unknown>): number {
  writeAtomically(stringify(next));
  const seen = agent!.output().length;
  agent!.child.kill('SIGHUP');
  return seen;
}

test.before(async () => {
  const ns = addNamespace('reload');
  addVeth({ ns, dev: 'rlh0' }, { ns, dev: 'rlh1' });
  [gateway, victoria] = await Promise.all([startPushgateway(), startVictoriaMetrics()]);
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
  configFile = writeConfig(config({ hostname: HOST_A, health: ports.health, api: ports.api, deleteOnShutdown: true }), 'reload');
  agent = startAgent(['--config', configFile, '--log-format', 'json']);
  await waitFor('the first push under the first hostname', async () => (await groups()).includes(HOST_A));
});

test.after(async () => {
  agent?.child.kill('SIGKILL');
  blocker?.close();
  await Promise.all([gateway?.stop(), victoria?.stop()]);
  cleanupNamespaces();
});

test('a new hostname moves the Pushgateway group (the old one deleted) and the remote_write instance', async () => {
  const seen = reload(config({ hostname: HOST_B, health: ports.health, api: ports.api, deleteOnShutdown: true }));
  await waitFor('the group under the new hostname', async () => (await groups()).includes(HOST_B));
  await waitFor('the old group deleted', async () => !(await groups()).includes(HOST_A));
  await waitFor('remote_write series under the new instance', async () => (await remoteWriteInstances()).includes(HOST_B));
  const log = agent!.output().slice(seen);
  assert.match(log, /deleted the old group/);
  assert.not.match(log, /need a restart/, 'every changed key was applied');
});

test('without delete_on_shutdown the old group stays and the log says so', async () => {
  // The next write must wait for this reload to finish: the agent reads the file when the signal
  // arrives, so a write before then would be read in its place, from the config that deletes.
  const first = reload(config({ hostname: HOST_B, health: ports.health, api: ports.api, deleteOnShutdown: false }));
  await waitFor('the reload that turns delete_on_shutdown off done', async () => /"SIGHUP: configuration reloaded/.test(agent!.output().slice(first)));
  const seen = reload(config({ hostname: HOST_C, health: ports.health, api: ports.api, deleteOnShutdown: false }));
  await waitFor('the group under the third hostname', async () => (await groups()).includes(HOST_C));
  assert.ok((await groups()).includes(HOST_B), `the old group is left on the gateway; groups: ${(await groups()).join(', ')}\n${agent!.output().slice(seen)}`);
  await waitFor('the line about the old group', async () => /old group .*left on the Pushgateway/.test(agent!.output().slice(seen)));
});

test('health.listen and api_server move to their new addresses; splay is named as needing a restart', async () => {
  const seen = reload(config({ hostname: HOST_C, health: ports.health2, api: ports.api2, deleteOnShutdown: false, splay: '5s' }));
  await waitFor('/healthz on the new health address', async () => (await answers(ports.health2, '/healthz')) !== null);
  await waitFor('/metrics on the new api_server address', async () => (await answers(ports.api2, '/metrics')) !== null);
  await waitFor('the old addresses closed', async () => (await answers(ports.health, '/healthz')) === null && (await answers(ports.api, '/metrics')) === null);
  await waitFor('the restart line', async () => /"msg":"SIGHUP: these keys need a restart to take effect: splay"/.test(agent!.output().slice(seen)));
  const lines = agent!.output().slice(seen).split('\n').filter((line) => line.includes('need a restart'));
  assert.is(lines.length, 1, 'one line');
});

test('a health.listen address that cannot be bound keeps the old listener and names the key', async () => {
  blocker = createServer();
  await new Promise<void>((resolve) => blocker!.listen(ports.blocked, '127.0.0.1', resolve));
  const seen = reload(config({ hostname: HOST_C, health: ports.blocked, api: ports.api2, deleteOnShutdown: false, splay: '5s' }));
  await waitFor('the refusal', async () => /health\.listen.*cannot listen|cannot listen.*health\.listen/.test(agent!.output().slice(seen)));
  assert.ok((await answers(ports.health2, '/healthz')) !== null, 'the old health listener still answers');
  assert.ok((await answers(ports.api2, '/metrics')) !== null, 'the api_server listener is untouched');
});

test('a SIGHUP while a reload runs is queued and applied after it, none lost', async () => {
  blocker?.close();
  // A receiver that holds each request: a reload that rebuilds the targets waits for the push in flight.
  const slow = await faultServer((_index, res) => setTimeout(() => res.writeHead(204).end(), 2_500));
  const slowConfig = (hostname: string) => {
    const next = config({ hostname, health: ports.health, api: ports.api2, deleteOnShutdown: false, splay: '5s' });
    const push = next.push as { remote_write: Record<string, unknown> };
    push.remote_write = { url: slow.url, timeout: '3s' };
    return { ...next, interval: '4s' };
  };
  try {
    reload(slowConfig(HOST_C));
    const held = slow.requests.length;
    await waitFor('a push held by the slow receiver', async () => slow.requests.length > held);
    const seen = reload(slowConfig(HOST_A));
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeAtomically(stringify(slowConfig(HOST_B)));
    agent!.child.kill('SIGHUP');
    await waitFor('the queued reload done', async () => (agent!.output().slice(seen).match(/"SIGHUP: configuration reloaded/g) ?? []).length >= 2);
    const log = agent!.output().slice(seen);
    assert.match(log, /SIGHUP: a reload is running; this one follows it/);
    await waitFor('the group under the last hostname', async () => (await groups()).includes(HOST_B));
    assert.ok((await answers(ports.health, '/healthz')) !== null, 'the health listener moved back');
  } finally {
    await slow.close();
  }
});

runWhen(test, ['root', 'ip', 'pushgateway', 'victoria-metrics'], 'SIGHUP reload');
