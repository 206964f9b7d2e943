import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startServer, tempDir, type RunningServer } from '../helpers/servers.js';
import { bcryptHash, makeCertificates, type TestCertificates } from '../helpers/webConfig.js';

/**
 * Prometheus from Debian scraping the agent's /metrics through the web config: over TLS with basic
 * auth and a client certificate it gets the figures; with a wrong password, without a certificate
 * or with TLS 1.2 against min_version TLS13 the target is down, for the reason the agent gave.
 */
const test = suite('Prometheus scrapes the secured listener');
let dir = '';
let certs: TestCertificates;
let port = 0;
let tls13Port = 0;
let agent: ReturnType<typeof startAgent> | null = null;
let tls13Agent: ReturnType<typeof startAgent> | null = null;
let prometheus: RunningServer | null = null;
const context = () => `${agent?.output().slice(-1500) ?? ''}\n${prometheus?.output().slice(-1500) ?? ''}`;

interface Target { labels: { job: string }; health: string; lastError: string }

async function targets(): Promise<Target[]> {
  const response = await fetch(`${prometheus!.url}/api/v1/targets`);
  return ((await response.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

/** The job's target once it has been scraped (its health no longer "unknown"). */
function scraped(job: string): Promise<Target> {
  return waitUntil(`a scrape of ${job}`, async () => (await targets()).find((target) => target.labels.job === job && target.health !== 'unknown') ?? null, { context });
}

function job(name: string, target: number, tls: Record<string, string>, password: string): string {
  return [
    `  - job_name: ${name}`,
    '    scheme: https',
    '    scrape_interval: 1s',
    '    scrape_timeout: 1s',
    `    tls_config: ${JSON.stringify({ ca_file: certs.caCert, ...tls })}`,
    `    basic_auth: ${JSON.stringify({ username: 'prometheus', password })}`,
    `    static_configs: [{targets: ['127.0.0.1:${target}']}]`,
  ].join('\n');
}

function startSecuredAgent(listenPort: number, tlsExtra: string[], label: string): ReturnType<typeof startAgent> {
  const web = path.join(dir, `${label}.yml`);
  writeFileSync(web, [
    'tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`, ...tlsExtra,
    'basic_auth_users:', `  prometheus: ${JSON.stringify(bcryptHash('scrape-secret'))}`,
  ].join('\n'));
  const empty = path.join(dir, 'netns');
  mkdirSync(empty, { recursive: true });
  return startAgent(['--web.config.file', web, '--config', writeConfig({ interval: '1s', netns_dirs: [empty], api_server: { server_address: '127.0.0.1', server_port: listenPort } }, label)]);
}

test.before(async () => {
  dir = tempDir('web-prometheus');
  certs = makeCertificates(dir);
  [port, tls13Port] = [await freePort(), await freePort()];
  agent = startSecuredAgent(port, ['  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`], 'client-cert');
  tls13Agent = startSecuredAgent(tls13Port, ['  min_version: TLS13'], 'tls13');
  const client = { cert_file: certs.clientCert, key_file: certs.clientKey };
  const scrapeConfig = [
    'scrape_configs:',
    job('good', port, client, 'scrape-secret'),
    job('wrong_password', port, client, 'not-the-password'),
    job('no_certificate', port, {}, 'scrape-secret'),
    job('tls13_only', tls13Port, {}, 'scrape-secret'),
    job('tls12_client', tls13Port, { max_version: 'TLS12' }, 'scrape-secret'),
  ].join('\n');
  prometheus = await startServer('prometheus', (listen, promDir) => {
    writeFileSync(path.join(promDir, 'prometheus.yml'), `${scrapeConfig}\n`);
    return [`--web.listen-address=127.0.0.1:${listen}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--config.file=${path.join(promDir, 'prometheus.yml')}`];
  }, { readyPath: '/-/ready', label: 'prometheus-web' });
});

test.after(async () => {
  agent?.child.kill('SIGKILL');
  tls13Agent?.child.kill('SIGKILL');
  await prometheus?.stop();
});

test('with the client certificate and the password: up, and the agent\'s figures are stored', async () => {
  const good = await waitUntil('the good target up', async () => ((await scraped('good')).health === 'up' ? scraped('good') : null), { context });
  assert.is(good.lastError, '');
  const stored = await waitUntil('netns_exporter_build_info stored', async () => {
    const response = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent('netns_exporter_build_info{job="good"}')}`);
    const body = (await response.json()) as { data: { result: unknown[] } };
    return body.data.result.length === 1;
  }, { context });
  assert.ok(stored);
});

test('a wrong password: down with 401', async () => {
  const target = await scraped('wrong_password');
  assert.is(target.health, 'down');
  assert.match(target.lastError, /401/);
});

test('no client certificate: down, refused in the TLS handshake', async () => {
  const target = await scraped('no_certificate');
  assert.is(target.health, 'down');
  assert.match(target.lastError, /tls: certificate required/);
});

test('min_version TLS13: a TLS 1.3 scrape is up, a client limited to TLS 1.2 is refused', async () => {
  const modern = await waitUntil('the TLS 1.3 target up', async () => ((await scraped('tls13_only')).health === 'up' ? true : null), { context });
  assert.ok(modern);
  const old = await scraped('tls12_client');
  assert.is(old.health, 'down');
  assert.match(old.lastError, /protocol version not supported/);
});

runWhen(test, ['prometheus', 'openssl'], 'Prometheus against the web config');
