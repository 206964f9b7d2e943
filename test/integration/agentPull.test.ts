import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';

const test = suite('long-running agent: pull server, health, signals');
/** Waits with the agent's log as context for a timeout message. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 20_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => agent?.output() ?? '' });
let port = 0;
let configFile = '';
let agent: ReturnType<typeof startAgent>;

function get(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time, as a load balancer's probe makes: the listener closes idle
    // keep-alive connections to make room under a flood, and a pooled one may already be gone.
    const req = request({ host: '127.0.0.1', port, path, method, headers, timeout: 5_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}


function pullConfig(extra: Record<string, unknown> = {}) {
  return {
    interval: '1s',
    read_timeout: '1s',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}` },
    api_server: { server_address: '127.0.0.1', server_port: port, request_timeout: '2s' },
    // Conntrack is on by default; sockstat reads in every kernel, so its series prove the wiring.
    collectors: { sockstat: { enabled: true } },
    ...extra,
  };
}

test.before(async () => {
  const ns = addNamespace('pull');
  addVeth({ ns, dev: 'nxp0' }, { ns, dev: 'nxp1' });
  port = await freePort();
  configFile = writeConfig(pullConfig(), 'agent-pull');
  agent = startAgent(['--config', configFile, '--log-level', 'debug']);
  await waitFor('first collection', async () => ((await get('/metrics')).status === 200 ? true : null));
});

test.after(() => {
  agent?.child.kill('SIGKILL');
  cleanupNamespaces();
});

test('serves /metrics with the namespaces, / links to it', async () => {
  const metrics = await get('/metrics');
  assert.match(String(metrics.headers['content-type']), /text\/plain/);
  const samples = parseExposition(metrics.body);
  assert.is(find(samples, 'netns_network_up', { netns: `${TEST_PREFIX}pull`, device: 'nxp0' }).length, 1);
  assert.ok(find(samples, 'netns_exporter_process_resident_memory_bytes', {}).length === 1, 'process metrics');
  assert.is(find(samples, 'netns_sockstat_sockets_used', { netns: `${TEST_PREFIX}pull` }).length, 1, 'the collectors reach /metrics');
  const conntrackLoaded = existsSync('/proc/sys/net/netfilter/nf_conntrack_max');
  assert.is(find(samples, 'netns_nf_conntrack_entries_limit', { netns: `${TEST_PREFIX}pull` }).length, conntrackLoaded ? 1 : 0, 'conntrack, on by default');
  const index = await get('/');
  assert.is(index.status, 200);
  assert.match(index.body, /href="\/metrics"/);
});

test('/healthz is 200 with a JSON body while collections succeed; HEAD works', async () => {
  const health = await get('/healthz');
  assert.is(health.status, 200);
  const body = JSON.parse(health.body);
  assert.is(body.status, 'ok');
  assert.is(body.last_cycle.namespaces_found, 1);
  const head = await get('/healthz', 'HEAD');
  assert.is(head.status, 200);
  assert.is(head.body, '');
});

test('reader auto (the default) proves setns at start: /healthz, the self-metric and the start-up line say so', async () => {
  assert.is(JSON.parse((await get('/healthz')).body).reader, 'setns');
  const samples = parseExposition((await get('/metrics')).body);
  assert.equal(find(samples, 'netns_exporter_reader_info', {}).map((sample) => sample.labels.reader), ['setns']);
  const running = agent.output().split('\n').find((line) => line.includes('netns-exporter running'));
  assert.match(running ?? '', /"reader":"setns"/, agent.output());
  assert.match(running ?? '', /"reader_configured":"auto"/);
});

test('other methods and paths get 405 and 404', async () => {
  assert.is((await get('/healthz', 'POST')).status, 405);
  assert.is((await get('/metrics', 'DELETE')).status, 405);
  assert.is((await get('/nope')).status, 404);
});

test('a flood of bad requests leaves it answering', async () => {
  const bad: Promise<unknown>[] = [];
  for (let i = 0; i < 100; i += 1) bad.push(get('/healthz', 'PUT').catch(() => null));
  for (let i = 0; i < 20; i += 1) bad.push(get('/healthz', 'GET', { 'X-Huge': 'x'.repeat(64 * 1024) }).then((r) => r.status).catch(() => 'closed'));
  // Slow clients: open sockets that send half a request line and then nothing.
  const slow = Array.from({ length: 50 }, () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /heal');
    return socket;
  });
  const huge = await Promise.all(bad);
  assert.ok(huge.slice(100).every((status) => status === 431 || status === 'closed'), `huge headers: ${huge.slice(100).join(',')}`);
  const started = Date.now();
  const health = await get('/healthz');
  assert.is(health.status, 200);
  assert.ok(Date.now() - started < 2_000, 'answered promptly despite the slow clients');
  for (const socket of slow) socket.destroy();
});

test('SIGHUP with a broken config keeps the running one', async () => {
  writeFileSync(configFile, 'threads: 0\nnamespaces_filter: {whitelist_pattern: "(["}\n');
  agent.child.kill('SIGHUP');
  await waitFor('refusal in the log', async () => (agent.output().includes('new configuration refused') ? true : null));
  const before = Date.now();
  await waitFor('a newer collection', async () => {
    const body = JSON.parse((await get('/healthz')).body);
    return Date.parse(body.last_cycle.started) > before ? body : null;
  });
  assert.is((await get('/healthz')).status, 200);
  assert.match(agent.output(), /threads: expected a whole number/);
});

test('SIGHUP with a valid config applies it from the next cycle', async () => {
  writeFileSync(configFile, JSON.stringify(pullConfig({ interface_metrics: ['rx_bytes', 'tx_errors'] })));
  agent.child.kill('SIGHUP');
  await waitFor('tx_errors in /metrics', async () => ((await get('/metrics')).body.includes('netns_network_tx_errors_total{') ? true : null));
  assert.not.match((await get('/metrics')).body, /netns_network_tx_packets_total\{/);
});

test('SIGTERM exits 0 within a few seconds', async () => {
  const started = Date.now();
  agent.child.kill('SIGTERM');
  const code = await agent.exited;
  assert.is(code, 0);
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
});

runWhen(test, ['root', 'ip', 'nsenter'], 'agent pull tests');
