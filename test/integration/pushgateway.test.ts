import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import type { Exposition as Registry } from '../../shared/metrics/exposition.js';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection } from '../../agent/collect.js';
import { readerOptions } from '../../agent/readers/options.js';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import type { PushOutcome } from '../../agent/targets/target.js';
import type { Config, PushgatewayConfig } from '../../shared/config/configTypes.js';
import { parseExposition } from '../helpers/exposition.js';
import { buildRegistry } from '../helpers/registry.js';
import type { Snapshot } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { addNamespace, addVeth, inNs, TEST_PREFIX, deleteNamespace } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { syntheticSnapshot } from '../helpers/snapshot.js';
import { makeCertificates, SERVER_NAME, writeWebConfig, type TestCertificates } from '../helpers/webConfig.js';

const BUILD = { version: '0.0.0-test', revision: 'test', nodeversion: process.version };
const PASSWORD = 'correct horse battery staple';
/** Every gateway here keeps its groups in memory only: Debian's default file is shared by all of them. */
const IN_MEMORY = ['--persistence.file='];

// ---------------------------------------------------------------------------------------------
// helpers

interface LogLine { level: number; msg: string; error?: string }

function captureLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, warnings: () => lines.filter((line) => line.level === 40) };
}

/** A Config through the real schema, reading only this process's namespaces. */
function fullConfig(pushgateway: Record<string, unknown>, extra: Record<string, unknown> = {}): Config {
  return configFrom({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}` },
    push: { pushgateway },
    ...extra,
  });
}

function gatewayConfig(pushgateway: Record<string, unknown>): PushgatewayConfig {
  return fullConfig(pushgateway).push.pushgateway!;
}

function registryOf(snapshot: Snapshot, config: Config = fullConfig({ url: 'http://127.0.0.1:1' })): Registry {
  return buildRegistry(snapshot, config, BUILD, null);
}

function target(config: PushgatewayConfig, extra: { env?: Record<string, string | undefined> } = {}) {
  const log = captureLogger();
  return { target: new PushgatewayTarget(config, { logger: log.logger, version: '0.0.0-test', env: extra.env ?? {} }), log };
}

/** Series as "name{a="1",b="2"}" → value, from the text the target pushed. */
async function pushedSeries(registry: Registry): Promise<Map<string, number>> {
  const series = new Map<string, number>();
  for (const sample of parseExposition(await registry.metrics())) series.set(seriesKey(sample.name, sample.labels), sample.value);
  return series;
}

interface GatewayGroup {
  labels: Record<string, string>;
  [family: string]: unknown;
}

async function gatewayGroups(gateway: string, fetchOptions: RequestInit = {}): Promise<GatewayGroup[]> {
  const response = await fetch(`${gateway}/api/v1/metrics`, fetchOptions);
  assert.is(response.status, 200, 'the gateway API answers');
  return ((await response.json()) as { data: GatewayGroup[] }).data;
}

function findGroup(groups: GatewayGroup[], grouping: Record<string, string>): GatewayGroup | undefined {
  return groups.find((group) => Object.entries(grouping).every(([name, value]) => group.labels[name] === value));
}

/** The group's series without the gateway's own and without the grouping labels it adds. */
function groupSeries(group: GatewayGroup): Map<string, number> {
  const series = new Map<string, number>();
  for (const [name, family] of Object.entries(group)) {
    if (name === 'labels' || name === 'last_push_successful' || name.startsWith('push_')) continue;
    for (const metric of (family as { metrics: { labels: Record<string, string>; value: string }[] }).metrics) {
      const labels = Object.fromEntries(Object.entries(metric.labels).filter(([label]) => !(label in group.labels)));
      series.set(seriesKey(name, labels), Number(metric.value));
    }
  }
  return series;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.keys(labels).sort().map((label) => `${label}=${JSON.stringify(String(labels[label]))}`).join(',')}}`;
}

/** A real gateway, memory only, started before `test` runs and stopped after. */
function gatewayFor(test: Test): () => RunningServer {
  let server: RunningServer | null = null;
  test.before(async () => {
    server = await startPushgateway(IN_MEMORY);
  });
  test.after(async () => {
    await server?.stop();
  });
  return () => server!;
}

function deadlineIn(ms: number): number {
  return Date.now() + ms;
}

/** A loopback HTTP server answering with `handler`; records every request it gets. */
async function faultServer(handler: (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void) {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer; atMs: number }[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks), atMs: Date.now() });
      handler(request, response, requests.length - 1);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A CONNECT proxy on loopback that only tunnels to loopback, recording what it was asked. */
async function connectProxy() {
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_request, response) => {
    response.statusCode = 405;
    response.end('CONNECT only');
  });
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    connects.push(request.url ?? '');
    const [host, port] = (request.url ?? '').split(/:(?=\d+$)/);
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connects,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

function assertNoSecret(outcome: PushOutcome, state: unknown, lines: LogLine[]): void {
  for (const text of [outcome.error ?? '', JSON.stringify(state), JSON.stringify(lines)]) {
    assert.not.ok(text.includes(PASSWORD), 'the password never shows');
    assert.not.ok(text.includes(Buffer.from(`alice:${PASSWORD}`).toString('base64')), 'nor its basic-auth form');
  }
}

// ---------------------------------------------------------------------------------------------
// against a plain real gateway

const plain = suite('pushgateway: real gateway');
const plainGateway = gatewayFor(plain);

plain('values at the gateway equal what was pushed (gzip on by default)', async () => {
  const config = gatewayConfig({ url: plainGateway().url, grouping: { instance: 'values-node' } });
  assert.ok(config.gzip, 'gzip is the default');
  const registry = registryOf(syntheticSnapshot({ names: [`${TEST_PREFIX}a`, `${TEST_PREFIX}b`], devices: 3 }));
  const { target: pg } = target(config);
  await pg.start();
  const outcome = await pg.push({ registry }, deadlineIn(5_000));
  await pg.stop(deadlineIn(1_000));
  assert.equal({ ok: outcome.ok, error: outcome.error, attempts: outcome.attempts }, { ok: true, error: null, attempts: 1 });
  const group = findGroup(await gatewayGroups(plainGateway().url), { job: 'netns_exporter', instance: 'values-node' });
  assert.ok(group, 'the group exists');
  const expected = await pushedSeries(registry);
  assert.ok(expected.size > 2 * 3 * 5, `a real registry (${expected.size} series)`);
  assert.equal(Object.fromEntries(groupSeries(group!)), Object.fromEntries(expected));
});

plain('grouping instance "rack/7" goes base64 and arrives as it is', async () => {
  const config = gatewayConfig({ url: plainGateway().url, job: 'netns/test', grouping: { instance: 'rack/7', zone: 'eu west' } });
  const { target: pg } = target(config);
  const outcome = await pg.push({ registry: registryOf(syntheticSnapshot({ names: ['x'], devices: 1 })) }, deadlineIn(5_000));
  await pg.stop(deadlineIn(1_000));
  assert.ok(outcome.ok, outcome.error ?? '');
  const group = findGroup(await gatewayGroups(plainGateway().url), { job: 'netns/test', instance: 'rack/7' });
  assert.ok(group, 'group with job "netns/test" and instance "rack/7"');
  assert.equal(group!.labels, { job: 'netns/test', instance: 'rack/7', zone: 'eu west' });
});

plain('PUT replaces the group: a namespace missing from the next push vanishes', async () => {
  const config = gatewayConfig({ url: plainGateway().url, grouping: { instance: 'put-node' } });
  const { target: pg } = target(config);
  const first = registryOf(syntheticSnapshot({ names: ['ns-kept', 'ns-gone'], devices: 2 }));
  // The second push also lacks a whole family: POST would keep that one, PUT must not.
  const second = registryOf(syntheticSnapshot({ names: ['ns-kept'], devices: 2, offset: 7 }), fullConfig({ url: plainGateway().url }, { interface_metrics: ['rx_bytes'] }));
  const snapshot = syntheticSnapshot({ names: [], devices: 0 });
  assert.ok((await pg.push({ registry: first }, deadlineIn(5_000))).ok);
  const before = groupSeries(findGroup(await gatewayGroups(plainGateway().url), { instance: 'put-node' })!);
  assert.ok([...before.keys()].some((key) => key.includes('"ns-gone"')), 'ns-gone was pushed');
  assert.ok((await pg.push({ registry: second }, deadlineIn(5_000))).ok);
  await pg.stop(deadlineIn(1_000));
  const after = groupSeries(findGroup(await gatewayGroups(plainGateway().url), { instance: 'put-node' })!);
  assert.not.ok([...after.keys()].some((key) => key.includes('"ns-gone"')), 'ns-gone is gone');
  assert.not.ok([...after.keys()].some((key) => key.startsWith('netns_network_tx_bytes_total')), 'the family left out is gone');
  assert.equal(Object.fromEntries(after), Object.fromEntries(await pushedSeries(second)), 'exactly the second push');
});

plain('POST merges: a family missing from the next push stays (why PUT is the default)', async () => {
  const withMtu = fullConfig({ url: plainGateway().url }, { interface_metrics: ['rx_bytes', 'tx_bytes'] });
  const onlyRx = fullConfig({ url: plainGateway().url }, { interface_metrics: ['rx_bytes'] });
  const { target: pg } = target(gatewayConfig({ url: plainGateway().url, method: 'post', grouping: { instance: 'post-node' } }));
  // lo and veth1: the families leave lo out (the default device filter), veth1's series are pushed.
  const snapshot = syntheticSnapshot({ names: ['p'], devices: 2 });
  assert.ok((await pg.push({ registry: registryOf(snapshot, withMtu) }, deadlineIn(5_000))).ok);
  assert.ok((await pg.push({ registry: registryOf(snapshot, onlyRx) }, deadlineIn(5_000))).ok);
  await pg.stop(deadlineIn(1_000));
  const group = findGroup(await gatewayGroups(plainGateway().url), { instance: 'post-node' })!;
  assert.ok('netns_network_tx_bytes_total' in group, 'tx_bytes from the first push is still there');
});

plain('gzip off sends plain text, accepted alike', async () => {
  const { target: pg } = target(gatewayConfig({ url: plainGateway().url, gzip: false, grouping: { instance: 'plain-node' } }));
  const registry = registryOf(syntheticSnapshot({ names: ['g'], devices: 1 }));
  const outcome = await pg.push({ registry }, deadlineIn(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');
  await pg.stop(deadlineIn(1_000));
  assert.equal(Object.fromEntries(groupSeries(findGroup(await gatewayGroups(plainGateway().url), { instance: 'plain-node' })!)), Object.fromEntries(await pushedSeries(registry)));
});

plain('stop() deletes the group only with delete_on_shutdown', async () => {
  const registry = registryOf(syntheticSnapshot({ names: ['d'], devices: 1 }));
  const snapshot = syntheticSnapshot({ names: [], devices: 0 });
  const keep = target(gatewayConfig({ url: plainGateway().url, grouping: { instance: 'keep-node' } })).target;
  const remove = target(gatewayConfig({ url: plainGateway().url, delete_on_shutdown: true, grouping: { instance: 'delete-node' } }));
  assert.ok((await keep.push({ registry }, deadlineIn(5_000))).ok);
  assert.ok((await remove.target.push({ registry }, deadlineIn(5_000))).ok);
  assert.ok(findGroup(await gatewayGroups(plainGateway().url), { instance: 'delete-node' }), 'pushed first');
  await keep.stop(deadlineIn(2_000));
  await remove.target.stop(deadlineIn(2_000));
  const groups = await gatewayGroups(plainGateway().url);
  assert.ok(findGroup(groups, { instance: 'keep-node' }), 'the default keeps the group');
  assert.is(findGroup(groups, { instance: 'delete-node' }), undefined, 'delete_on_shutdown removes it');
  assert.ok(remove.log.lines.some((line) => /deleted this node's group/.test(line.msg)));
});

// Pushes through a real squid (absolute-URI requests for http, CONNECT for https, authentication,
// the environment variables) are in squidProxy.test.ts.
plain('an environment proxy is not used for a loopback gateway (as in Go)', async () => {
  const proxy = await connectProxy();
  try {
    const registry = registryOf(syntheticSnapshot({ names: ['p'], devices: 1 }));
    const snapshot = syntheticSnapshot({ names: [], devices: 0 });
    const fromEnv = target(gatewayConfig({ url: plainGateway().url, grouping: { instance: 'env-node' } }), { env: { HTTP_PROXY: proxy.url } }).target;
    const outcome = await fromEnv.push({ registry }, deadlineIn(5_000));
    await fromEnv.stop(deadlineIn(1_000));
    assert.ok(outcome.ok, outcome.error ?? '');
    assert.is(proxy.connects.length, 0, 'the proxy saw nothing');
    assert.ok(findGroup(await gatewayGroups(plainGateway().url), { instance: 'env-node' }), 'and the push arrived');
  } finally {
    await proxy.close();
  }
});

plain('a proxy refusing the tunnel is a clear error', async () => {
  const proxy = await connectProxy();
  try {
    // The proxy only tunnels to 127.0.0.1; "localhost" makes it answer 403 (https: a tunnel).
    const { target: pg } = target(gatewayConfig({ url: `https://localhost:${plainGateway().port}`, proxy_url: proxy.url }));
    const outcome = await pg.push({ registry: registryOf(syntheticSnapshot({ names: ['p'], devices: 1 })) }, deadlineIn(1_000));
    await pg.stop(deadlineIn(500));
    assert.not.ok(outcome.ok);
    assert.match(outcome.error ?? '', /proxy refused the tunnel \(403: .*\) via proxy http:\/\/127\.0\.0\.1:\d+/);
    assert.is(outcome.attempts, 1, 'a 403 from the proxy is not retried');
  } finally {
    await proxy.close();
  }
});

runWhen(plain, ['pushgateway'], 'pushgateway integration');

// ---------------------------------------------------------------------------------------------
// faults, on small loopback servers

const faults = suite('pushgateway: faults');
const snapshot0 = syntheticSnapshot({ names: [], devices: 0 });
const registry1 = () => registryOf(syntheticSnapshot({ names: ['f'], devices: 1 }));

faults('gateway down: fails within the deadline after retrying, error says why', async () => {
  const port = await freePort();
  const { target: pg, log } = target(gatewayConfig({ url: `http://127.0.0.1:${port}` }));
  const started = Date.now();
  const outcome = await pg.push({ registry: registry1() }, deadlineIn(1_500));
  const elapsed = Date.now() - started;
  await pg.stop(deadlineIn(500));
  assert.not.ok(outcome.ok);
  assert.ok(elapsed < 1_800, `gave up by the deadline (${elapsed} ms)`);
  assert.ok(outcome.attempts >= 2, `retried (${outcome.attempts} attempts)`);
  assert.match(outcome.error ?? '', /ECONNREFUSED 127\.0\.0\.1/);
  assert.is(pg.state().consecutiveFailures, 1);
  assert.is(log.warnings().length, 1);
});

/** One push (or `cycles` pushes) to a fault server answering with `handler`; the server is closed after. */
async function pushToFault(
  handler: Parameters<typeof faultServer>[0],
  config: Record<string, unknown> = {},
  options: { deadlineMs?: number; cycles?: number; registry?: Registry; urlPath?: string } = {},
) {
  const server = await faultServer(handler);
  try {
    const { target: pg, log } = target(gatewayConfig({ url: `${server.url}${options.urlPath ?? ''}`, ...config }));
    const registry = options.registry ?? registry1();
    const outcomes: PushOutcome[] = [];
    const started = Date.now();
    for (let cycle = 0; cycle < (options.cycles ?? 1); cycle++) {
      outcomes.push(await pg.push({ registry }, deadlineIn(options.deadlineMs ?? 5_000)));
    }
    const elapsedMs = Date.now() - started;
    await pg.stop(deadlineIn(500));
    return { outcome: outcomes[0]!, outcomes, elapsedMs, requests: server.requests, state: pg.state(), log };
  } finally {
    await server.close();
  }
}

faults('a stalling gateway times out each attempt, never hangs', async () => {
  const { outcome, elapsedMs, requests } = await pushToFault(() => undefined, { timeout: '300ms' }, { deadlineMs: 1_200 });
  assert.not.ok(outcome.ok);
  assert.match(outcome.error ?? '', /no response within 300 ms/);
  assert.ok(elapsedMs < 1_500, `bounded by the deadline (${elapsedMs} ms)`);
  assert.ok(outcome.attempts >= 2 && requests.length === outcome.attempts, `${outcome.attempts} attempts, ${requests.length} seen`);
});

faults('an attempt never outlives the deadline, even with a longer timeout', async () => {
  const { outcome, elapsedMs } = await pushToFault(() => undefined, { timeout: '30s' }, { deadlineMs: 700 });
  assert.not.ok(outcome.ok);
  assert.ok(elapsedMs < 1_000, `${elapsedMs} ms`);
});

faults('500 then 200: retried, two attempts, success', async () => {
  const { outcome, requests, state } = await pushToFault((_request, response, index) => {
    response.statusCode = index === 0 ? 500 : 200;
    response.end(index === 0 ? 'storage hiccup' : '');
  });
  assert.ok(outcome.ok, outcome.error ?? '');
  assert.is(outcome.attempts, 2);
  assert.equal(requests.map((request) => request.method), ['PUT', 'PUT']);
  assert.is(requests[0]!.url, '/metrics/job/netns_exporter/instance/node-1');
  assert.is(state.lastError, null);
  assert.ok(state.lastSuccessMs !== null);
});

faults('429 with Retry-After: waits as asked, then succeeds', async () => {
  const { outcome, requests } = await pushToFault((_request, response, index) => {
    if (index === 0) response.writeHead(429, { 'retry-after': '1' });
    response.end();
  });
  assert.ok(outcome.ok, outcome.error ?? '');
  assert.is(outcome.attempts, 2);
  const gap = requests[1]!.atMs - requests[0]!.atMs;
  assert.ok(gap >= 950 && gap < 1_500, `waited ${gap} ms for Retry-After: 1`);
});

faults('429 asking to wait past the deadline: gives up at once', async () => {
  const { outcome, elapsedMs } = await pushToFault((_request, response) => {
    response.writeHead(429, { 'retry-after': '60' });
    response.end();
  });
  assert.not.ok(outcome.ok);
  assert.is(outcome.attempts, 1);
  assert.ok(elapsedMs < 1_000);
  assert.match(outcome.error ?? '', /^HTTP 429 Too Many Requests/);
});

faults('400 is not retried; the gateway\'s text is reported, and logged once however often it repeats', async () => {
  const body = 'text format parsing error in line 3: second TYPE line for metric name "x", or TYPE reported after samples';
  const { outcomes, requests, state, log } = await pushToFault((_request, response) => {
    response.statusCode = 400;
    response.end(`${body}\n`);
  }, {}, { cycles: 3 });
  assert.equal(outcomes.map((outcome) => outcome.attempts), [1, 1, 1]);
  assert.is(requests.length, 3);
  assert.is(outcomes[0]!.error, `HTTP 400 Bad Request: ${body}`);
  assert.is(state.lastError, `HTTP 400 Bad Request: ${body}`);
  assert.is(state.consecutiveFailures, 3);
  assert.is(log.warnings().length, 1, 'one warning for three identical failures');
  assert.is(log.warnings()[0]!.error, `HTTP 400 Bad Request: ${body}`);
});

faults('a long error page is cut short', async () => {
  const { outcome } = await pushToFault((_request, response) => {
    response.statusCode = 400;
    response.end('x'.repeat(100_000));
  });
  assert.ok((outcome.error ?? '').length < 600, `${outcome.error?.length} chars`);
});

faults('the request: gzip body, text format, user agent, user headers, bearer token', async () => {
  const registry = registry1();
  const { outcome, requests } = await pushToFault((_request, response) => response.end(), {
    bearer_token: 'tok-123456', headers: { 'X-Scope-OrgID': 'team-a' }, grouping: { instance: 'rack/7' },
  }, { registry, urlPath: '/prefix/' });
  assert.ok(outcome.ok, outcome.error ?? '');
  const request = requests[0]!;
  assert.is(request.url, '/prefix/metrics/job/netns_exporter/instance@base64/cmFjay83');
  assert.is(request.headers['content-encoding'], 'gzip');
  assert.match(String(request.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.is(request.headers['user-agent'], 'netns-exporter/0.0.0-test');
  assert.is(request.headers['x-scope-orgid'], 'team-a');
  assert.is(request.headers.authorization, 'Bearer tok-123456');
  const text = gunzipSync(request.body).toString('utf8');
  assert.is(text, await registry.metrics());
  assert.not.match(text, /^\w+(\{[^}]*\})? \S+ \d+$/m, 'no timestamps');
  assert.ok(request.body.length < text.length / 2, `gzip shrinks ${text.length} to ${request.body.length}`);
  // The gzip header's XFL byte says how hard the compressor worked: 4 is zlib's fastest level.
  assert.is(request.body[8], 4, 'compressed at the fastest level (XFL 4): half the CPU of the default level for a text that still shrinks ~13×');
});

faults('stop() ends a push still in flight: shutdown is not held up, and no failure is reported', async () => {
  let stalled!: () => void;
  const arrived = new Promise<void>((resolve) => { stalled = resolve; });
  const server = await faultServer(() => stalled()); // every request stalls
  try {
    const { target: pg, log } = target(gatewayConfig({ url: server.url, timeout: '10s' }));
    const push = pg.push({ registry: registry1() }, deadlineIn(10_000));
    await arrived;
    const started = Date.now();
    await pg.stop(deadlineIn(500));
    const outcome = await push;
    assert.ok(Date.now() - started < 1_000, 'the push in flight did not hold up stop()');
    assert.not.ok(outcome.ok);
    assert.match(outcome.error ?? '', /stopped before it finished/);
    assert.is(pg.state().lastError, null, 'shutting down is no failure of the gateway');
    assert.equal(log.warnings(), [], 'nothing to warn about');
  } finally {
    await server.close();
  }
});

faults('an unreadable TLS file fails start() naming the file', async () => {
  const { target: pg } = target(gatewayConfig({ url: 'https://127.0.0.1:1', tls_config: { ca_file: '/nonexistent/ca.pem' } }));
  try {
    await pg.start();
    assert.unreachable('start() should throw');
  } catch (error) {
    assert.is((error as Error).message, 'push.pushgateway.tls_config.ca_file: cannot read "/nonexistent/ca.pem" (ENOENT)');
  }
  const outcome = await pg.push({ registry: registry1() }, deadlineIn(1_000));
  assert.not.ok(outcome.ok, 'push() reports it too, without throwing');
  assert.match(outcome.error ?? '', /ca_file: cannot read/);
});

faults.run();

// ---------------------------------------------------------------------------------------------
// TLS and basic auth against the real gateway's --web.config.file

const secured = suite('pushgateway: TLS and basic auth');
let securedGateway: RunningServer;
let mtlsGateway: RunningServer;
let certs: TestCertificates;
let certDir: string;

secured.before(async () => {
  certDir = tempDir('pushgateway-tls');
  certs = makeCertificates(certDir);
  const web = writeWebConfig(path.join(certDir, 'web.yml'), { tls: { cert: certs.serverCert, key: certs.serverKey }, users: { alice: PASSWORD } });
  const mtls = writeWebConfig(path.join(certDir, 'web-mtls.yml'), { tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert } });
  securedGateway = await startPushgateway([...IN_MEMORY, `--web.config.file=${web}`], { scheme: 'https' });
  mtlsGateway = await startPushgateway([...IN_MEMORY, `--web.config.file=${mtls}`], { scheme: 'https' });
});
secured.after(async () => {
  await securedGateway.stop();
  await mtlsGateway.stop();
  rmSync(certDir, { recursive: true, force: true });
});

const pushOnce = async (config: Record<string, unknown>, deadlineMs = 3_000) => {
  const { target: pg, log } = target(gatewayConfig(config));
  const outcome = await pg.push({ registry: registryOf(syntheticSnapshot({ names: ['s'], devices: 1 })) }, deadlineIn(deadlineMs));
  const state = pg.state();
  await pg.stop(deadlineIn(500));
  return { outcome, state, log };
};

secured('https with the CA and the right password: pushed', async () => {
  const { outcome } = await pushOnce({
    url: securedGateway.url, grouping: { instance: 'tls-node' },
    tls_config: { ca_file: certs.caCert }, basic_auth: { username: 'alice', password: PASSWORD },
  });
  assert.ok(outcome.ok, outcome.error ?? '');
  const auth = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
  // Node's fetch cannot take a CA, so the group is read back with node:https.
  const response = await new Promise<string>((resolve, reject) => {
    https.get(`${securedGateway.url}/api/v1/metrics`, { ca: readFileSync(certs.caCert), headers: { authorization: auth } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  const groups = (JSON.parse(response) as { data: GatewayGroup[] }).data;
  assert.ok(findGroup(groups, { instance: 'tls-node' }), 'the group arrived');
});

secured('a wrong password: HTTP 401, no retry, no secret in error, state or log', async () => {
  const { outcome, state, log } = await pushOnce({
    url: securedGateway.url, tls_config: { ca_file: certs.caCert }, basic_auth: { username: 'alice', password: 'wrong password!' },
  });
  assert.not.ok(outcome.ok);
  assert.is(outcome.attempts, 1);
  assert.match(outcome.error ?? '', /^HTTP 401 Unauthorized/);
  assert.not.ok((outcome.error ?? '').includes('wrong password!'));
  assertNoSecret(outcome, state, log.lines);
});

secured('an untrusted certificate: a clear error, no retry', async () => {
  for (const tls of [{}, { ca_file: certs.otherCaCert }]) {
    const { outcome, state, log } = await pushOnce({ url: securedGateway.url, tls_config: tls, basic_auth: { username: 'alice', password: PASSWORD } });
    assert.not.ok(outcome.ok);
    assert.is(outcome.attempts, 1, 'not retried: the certificate will not change within the cycle');
    assert.match(outcome.error ?? '', /untrusted certificate: set tls_config\.ca_file/);
    assertNoSecret(outcome, state, log.lines);
  }
});

secured('server_name is what the certificate is checked against', async () => {
  const good = await pushOnce({ url: securedGateway.url, tls_config: { ca_file: certs.caCert, server_name: SERVER_NAME }, basic_auth: { username: 'alice', password: PASSWORD } });
  assert.ok(good.outcome.ok, good.outcome.error ?? '');
  const bad = await pushOnce({ url: securedGateway.url, tls_config: { ca_file: certs.caCert, server_name: 'other.test' }, basic_auth: { username: 'alice', password: PASSWORD } });
  assert.not.ok(bad.outcome.ok);
  assert.match(bad.outcome.error ?? '', /certificate does not name this host/);
});

secured('insecure_skip_verify accepts the untrusted certificate', async () => {
  const { outcome } = await pushOnce({ url: securedGateway.url, tls_config: { insecure_skip_verify: true }, basic_auth: { username: 'alice', password: PASSWORD } });
  assert.ok(outcome.ok, outcome.error ?? '');
});

secured('client certificate (mTLS): pushed with cert_file/key_file, refused without', async () => {
  const withCert = await pushOnce({ url: mtlsGateway.url, tls_config: { ca_file: certs.caCert, cert_file: certs.clientCert, key_file: certs.clientKey } });
  assert.ok(withCert.outcome.ok, withCert.outcome.error ?? '');
  const without = await pushOnce({ url: mtlsGateway.url, tls_config: { ca_file: certs.caCert } }, 1_000);
  assert.not.ok(without.outcome.ok);
  assert.is(without.outcome.attempts, 1, 'not retried');
  assert.is(without.outcome.error, 'TLS: sslv3 alert bad certificate (the server refused our client certificate: check tls_config.cert_file and key_file)');
});

secured('https through the CONNECT proxy', async () => {
  const proxy = await connectProxy();
  try {
    const { outcome } = await pushOnce({
      url: securedGateway.url, proxy_url: proxy.url, tls_config: { ca_file: certs.caCert }, basic_auth: { username: 'alice', password: PASSWORD },
    });
    assert.ok(outcome.ok, outcome.error ?? '');
    assert.equal(proxy.connects, [`127.0.0.1:${securedGateway.port}`]);
  } finally {
    await proxy.close();
  }
});

runWhen(secured, ['pushgateway', 'openssl'], 'pushgateway TLS integration');

// ---------------------------------------------------------------------------------------------
// a real collection from this process's own namespaces

const collected = suite('pushgateway: real namespaces');
const collectedGateway = gatewayFor(collected);

collected('a collection of real namespaces arrives at the gateway as collected', async () => {
  const a = addNamespace('pga');
  const b = addNamespace('pgb');
  try {
    await pushRealCollection(a, b);
  } finally {
    deleteNamespace(a);
    deleteNamespace(b);
  }
});

async function pushRealCollection(a: string, b: string): Promise<void> {
  addVeth({ ns: a, dev: `pga${process.pid % 100000}` }, { ns: b, dev: `pgb${process.pid % 100000}` });
  inNs(a, ['ip', 'link', 'set', `pga${process.pid % 100000}`, 'up']);
  // Other suites of this process make namespaces with the same prefix: read only these two.
  const config = fullConfig({ url: collectedGateway().url, grouping: { instance: 'real-node' } }, { namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}pg[ab]$` } });
  const collection = new Collection('nsenter', readerOptions(config, pino({ level: 'silent' })));
  const snapshot = await collection.collect({
    discovery: { netnsDirs: config.netnsDirs, filter: config.namespacesFilter, procRoot: '/proc' },
  }).finally(() => collection.stop());
  assert.equal(snapshot.results.map((result) => result.ns.name).sort(), [a, b].sort(), 'only this process\'s namespaces');
  assert.ok(snapshot.results.every((result) => result.ok));
  const registry = registryOf(snapshot, config);
  const { target: pg } = target(config.push.pushgateway!);
  const outcome = await pg.push({ registry }, deadlineIn(5_000));
  await pg.stop(deadlineIn(1_000));
  assert.ok(outcome.ok, outcome.error ?? '');
  const series = groupSeries(findGroup(await gatewayGroups(collectedGateway().url), { instance: 'real-node' })!);
  assert.equal(Object.fromEntries(series), Object.fromEntries(await pushedSeries(registry)));
  assert.ok(series.has(`netns_network_up{device="pga${process.pid % 100000}",netns="${a}"}`) || [...series.keys()].some((key) => key.includes(`pga${process.pid % 100000}`)), 'the veth is there');
}

runWhen(collected, ['root', 'ip', 'nsenter', 'pushgateway'], 'pushgateway real-namespace integration');
