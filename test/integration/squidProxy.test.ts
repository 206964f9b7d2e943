import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import type { PushOutcome } from '../../agent/targets/target.js';
import { buildRegistry } from '../helpers/registry.js';
import { configFrom } from '../helpers/config.js';
import { memoryLogger, promQuery, remoteWriteConfig, syntheticCycle } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startPrometheus, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { syntheticSnapshot } from '../helpers/snapshot.js';
import { startSquid, type Squid } from '../helpers/squid.js';
import { makeCertificates, SERVER_NAME, writeWebConfig, type TestCertificates } from '../helpers/webConfig.js';

/**
 * Both push targets through a real squid with Debian's default ACLs, as operators behind a corporate
 * proxy have it: plain http goes as an absolute-URI request (squid refuses CONNECT to anything but
 * 443), https through a CONNECT tunnel to 443, with proxy_url or the environment variables, with
 * and without proxy authentication.
 *
 * The receivers listen on a loopback address of their own and are named `pushgateway.test` (the
 * name in the test certificate), which only squid's hosts_file knows: so the environment proxy
 * applies (loopback names never use it), and the https receivers can have port 443 to themselves.
 */
const test = suite('push targets through squid');

const ADDRESS = `127.${100 + (process.pid % 100)}.${1 + (Math.floor(process.pid / 100) % 250)}.1`;
const HOST = SERVER_NAME;
const PROXY_USER = 'netns';
const PROXY_PASSWORD = 'pr0xy:p@ss/word';
const BUILD = { version: '0.0.0-test', revision: 'test', nodeversion: process.version };

let squid: Squid;
let authSquid: Squid;
let gateway: RunningServer;
let prometheus: RunningServer;
let certs: TestCertificates;
const stops: (() => Promise<void>)[] = [];

test.before(async () => {
  certs = makeCertificates(tempDir('squid-certs'));
  squid = await startSquid({ hosts: { [HOST]: ADDRESS } });
  authSquid = await startSquid({ hosts: { [HOST]: ADDRESS }, users: { [PROXY_USER]: PROXY_PASSWORD } });
  gateway = await startPushgateway([], { host: ADDRESS });
  prometheus = await startPrometheus({ host: ADDRESS });
  stops.push(squid.stop, authSquid.stop, gateway.stop, prometheus.stop);
});
test.after(async () => {
  await Promise.all(stops.map((stop) => stop()));
});

const soon = (ms = 5_000) => Date.now() + ms;
const named = (server: RunningServer, scheme = 'http') => `${scheme}://${HOST}:${server.port}`;

async function pushToGateway(section: Record<string, unknown>, env: Record<string, string> = {}): Promise<PushOutcome> {
  const config = configFrom({ push: { pushgateway: { job: 'squid', ...section } } });
  const target = new PushgatewayTarget(config.push.pushgateway!, { logger: memoryLogger().logger, version: 'test', env });
  await target.start();
  try {
    const registry = buildRegistry(syntheticSnapshot({ names: ['squid-ns'], devices: 1 }), config, BUILD, null);
    return await target.push({ registry }, soon());
  } finally {
    await target.stop(soon(1_000));
  }
}

async function pushToRemoteWrite(url: string, section: Record<string, unknown>, env: Record<string, string>, series: string): Promise<PushOutcome> {
  const target = new RemoteWriteTarget(remoteWriteConfig(`${url}/api/v1/write`, section), { logger: memoryLogger().logger, version: 'test', env });
  await target.start();
  try {
    return await target.push(syntheticCycle(Date.now(), 'squid_test_value', { [series]: 42 }), soon());
  } finally {
    await target.stop(soon(1_000));
  }
}

async function groupInstances(): Promise<string[]> {
  const response = await fetch(`${gateway.url}/api/v1/metrics`);
  const groups = ((await response.json()) as { data: { labels: Record<string, string> }[] }).data;
  return groups.map((group) => group.labels.instance ?? '');
}

/** The squid access log once it shows `count` requests (squid writes a line when a request ends). */
async function squidRequests(proxy: Squid, count: number): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  while (proxy.requests().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return proxy.requests();
}

/** An https receiver on ADDRESS:443, the only port squid's default ACLs tunnel to. */
async function onPort443(start: (web: string) => Promise<RunningServer>, body: () => Promise<void>): Promise<void> {
  const web = writeWebConfig(path.join(tempDir('squid-web'), 'web.yml'), { tls: { cert: certs.serverCert, key: certs.serverKey } });
  const server = await start(web);
  try {
    await body();
  } finally {
    await server.stop();
  }
}
const httpsGateway = (web: string) => startPushgateway([`--web.config.file=${web}`], { host: ADDRESS, port: 443, scheme: 'https' });
const httpsPrometheus = (web: string) => startPrometheus({ host: ADDRESS, port: 443, scheme: 'https', extraArgs: [`--web.config.file=${web}`] });

test('http:// Pushgateway via proxy_url: an absolute-URI PUT, not CONNECT', async () => {
  const before = squid.requests().length;
  const outcome = await pushToGateway({ url: named(gateway), proxy_url: squid.proxyUrl(), grouping: { instance: 'squid-http' } });
  assert.ok(outcome.ok, outcome.error ?? '');
  assert.is(outcome.attempts, 1);
  const requests = (await squidRequests(squid, before + 1)).slice(before);
  assert.equal(requests, [`PUT http://${HOST}:${gateway.port}/metrics/job/squid/instance/squid-http 200`]);
  assert.ok((await groupInstances()).includes('squid-http'), 'the group arrived');
});

test('http:// remote_write via HTTP_PROXY: an absolute-URI POST; the samples arrive', async () => {
  const before = squid.requests().length;
  const series = `http-${process.pid}`;
  const outcome = await pushToRemoteWrite(named(prometheus), {}, { HTTP_PROXY: squid.proxyUrl() }, series);
  assert.ok(outcome.ok, outcome.error ?? '');
  const requests = (await squidRequests(squid, before + 1)).slice(before);
  assert.equal(requests, [`POST http://${HOST}:${prometheus.port}/api/v1/write 204`]);
  const result = await promQuery(prometheus.url, `squid_test_value{series="${series}"}`);
  assert.is(result[0]?.value?.[1], '42');
});

test('https:// Pushgateway on 443 via HTTPS_PROXY: a CONNECT tunnel', async () => {
  await onPort443(httpsGateway, async () => {
    const before = squid.requests().length;
    const outcome = await pushToGateway(
      { url: `https://${HOST}`, tls_config: { ca_file: certs.caCert }, grouping: { instance: 'squid-https' } },
      { HTTPS_PROXY: squid.proxyUrl(), HTTP_PROXY: 'http://127.0.0.1:1' },
    );
    assert.ok(outcome.ok, outcome.error ?? '');
    const requests = (await squidRequests(squid, before + 1)).slice(before);
    assert.equal(requests, [`CONNECT ${HOST}:443 200`]);
  });
});

test('https:// remote_write on 443 via proxy_url with user:password@: a CONNECT tunnel with Proxy-Authorization', async () => {
  await onPort443(httpsPrometheus, async () => {
    const before = authSquid.requests().length;
    const outcome = await pushToRemoteWrite(`https://${HOST}`, {
      proxy_url: authSquid.proxyUrl({ user: PROXY_USER, password: PROXY_PASSWORD }), tls_config: { ca_file: certs.caCert },
    }, {}, `https-${process.pid}`);
    assert.ok(outcome.ok, outcome.error ?? '');
    const requests = (await squidRequests(authSquid, before + 1)).slice(before);
    assert.equal(requests, [`CONNECT ${HOST}:443 200`]);
  });
});

test('http:// through an authenticating proxy: HTTP_PROXY with user:password@ works, a wrong password is a 407 tried once', async () => {
  const good = await pushToGateway(
    { url: named(gateway), grouping: { instance: 'squid-auth' } },
    { HTTP_PROXY: authSquid.proxyUrl({ user: PROXY_USER, password: PROXY_PASSWORD }) },
  );
  assert.ok(good.ok, good.error ?? '');
  assert.ok((await groupInstances()).includes('squid-auth'));

  const bad = await pushToGateway({ url: named(gateway), proxy_url: authSquid.proxyUrl({ user: PROXY_USER, password: 'wrong-password' }) });
  assert.not.ok(bad.ok);
  assert.is(bad.attempts, 1, 'not retried');
  assert.match(bad.error ?? '', /^HTTP 407 Proxy Authentication Required/);
  assert.match(bad.error ?? '', /proxy/i);
  assert.not.match(bad.error ?? '', /<html|<!DOCTYPE/i, 'squid\'s error page is not pasted into the log');
});

test('https:// through an authenticating proxy without credentials: the tunnel is refused with 407, tried once', async () => {
  const outcome = await pushToGateway({ url: `https://${HOST}`, proxy_url: authSquid.proxyUrl() });
  assert.not.ok(outcome.ok);
  assert.is(outcome.attempts, 1, 'not retried');
  assert.match(outcome.error ?? '', /proxy refused the tunnel \(407/);
  assert.not.match(outcome.error ?? '', new RegExp(PROXY_PASSWORD.replace(/[/]/g, '\\/')));
});

test('https:// to a port other than 443: squid\'s default ACL answers 403, which is not retried and says why', async () => {
  const before = squid.requests().length;
  const outcome = await pushToGateway({ url: `https://${HOST}:9443`, proxy_url: squid.proxyUrl() });
  assert.not.ok(outcome.ok);
  assert.is(outcome.attempts, 1, 'a 403 from the proxy is not transient');
  assert.match(outcome.error ?? '', /proxy refused the tunnel \(403: .*port 443\)/);
  assert.equal((await squidRequests(squid, before + 1)).slice(before), [`CONNECT ${HOST}:9443 403`]);
});

test('NO_PROXY: a listed host goes direct, the proxy sees nothing', async () => {
  // This host's own name, which /etc/hosts maps to loopback (so no DNS query leaves the machine).
  const name = hostname();
  const hosts = readFileSync('/etc/hosts', 'utf8').split('\n').map((line) => line.replace(/#.*/, '').trim().split(/\s+/));
  const entry = hosts.find((fields) => fields.slice(1).includes(name));
  assert.ok(entry && /^127\./.test(entry[0]!), `/etc/hosts must map this host's name (${name}) to a loopback address`);
  const local = await startPushgateway([], { host: entry![0]! });
  try {
    const before = squid.requests().length;
    const outcome = await pushToGateway(
      { url: `http://${name}:${local.port}`, grouping: { instance: 'squid-noproxy' } },
      { HTTP_PROXY: squid.proxyUrl(), NO_PROXY: `other.example,${name}` },
    );
    assert.ok(outcome.ok, outcome.error ?? '');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.is(squid.requests().length, before, 'nothing went through squid');
  } finally {
    await local.stop();
  }
});

runWhen(test, ['root', 'squid', 'pushgateway', 'prometheus', 'openssl'], 'squid proxy integration');
