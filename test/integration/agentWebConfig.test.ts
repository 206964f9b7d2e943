import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, tempDir } from '../helpers/servers.js';
import { bcryptHash, CLIENT_NAME, makeCertificates, type TestCertificates } from '../helpers/webConfig.js';

/**
 * The listeners secured by an exporter-toolkit web config (`--web.config.file`), checked with curl
 * against the real agent: TLS, client certificates, basic auth, headers, the file re-read when it
 * changes and on SIGHUP, a broken file keeping the settings in force.
 */
const test = suite('agent listeners: web config (TLS, basic auth)');
let dir = '';
let certs: TestCertificates;
/** The certificates made first; `certs` moves to a second set when the rotation test swaps them. */
let first: TestCertificates;
let rotated: TestCertificates | null = null;
let webFile = '';
let apiPort = 0;
let healthPort = 0;
let agent: ReturnType<typeof startAgent> | null = null;
const HASH = { prometheus: '', lb: '' };

interface CurlResult { exit: number; status: number; headers: string; body: string; stderr: string }

/** curl against the agent: `args` come before the URL; the status is 0 when no answer came. */
function curl(url: string, args: string[] = []): CurlResult {
  const result = spawnSync('curl', ['-sS', '--max-time', '5', '-D', '-', '-o', '-', '--cacert', certs.caCert, ...args, url], { encoding: 'utf8' });
  const [headers = '', ...rest] = result.stdout.split('\r\n\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0);
  return { exit: result.status ?? -1, status, headers, body: rest.join('\r\n\r\n'), stderr: result.stderr };
}

const api = (route: string) => `https://127.0.0.1:${apiPort}${route}`;
const health = (route: string) => `https://127.0.0.1:${healthPort}${route}`;
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>) => waitUntil(what, probe, { context: () => agent?.output() ?? '' });

function writeWeb(text: string): void {
  // Written to a new file and renamed, as an editor or a config tool does.
  writeFileSync(`${webFile}.tmp`, text);
  spawnSync('mv', [`${webFile}.tmp`, webFile]);
}

function tlsLines(extra: string[] = []): string[] {
  return ['tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`, ...extra];
}

function usersLines(): string[] {
  return ['basic_auth_users:', `  prometheus: ${JSON.stringify(HASH.prometheus)}`, `  lb: ${JSON.stringify(HASH.lb)}`];
}

function agentConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const empty = path.join(dir, 'netns');
  mkdirSync(empty, { recursive: true });
  return {
    interval: '1s',
    netns_dirs: [empty],
    web_config_file: webFile,
    api_server: { server_address: '127.0.0.1', server_port: apiPort },
    health: { listen: `127.0.0.1:${healthPort}` },
    ...extra,
  };
}

test.before(async () => {
  dir = tempDir('web-config');
  certs = makeCertificates(dir);
  first = certs;
  HASH.prometheus = bcryptHash('scrape-secret');
  HASH.lb = bcryptHash('lb-secret');
  webFile = path.join(dir, 'web.yml');
  writeWeb([...tlsLines(), ...usersLines(), 'http_server_config:', '  headers:', '    X-Frame-Options: deny', '    X-Content-Type-Options: nosniff'].join('\n'));
  apiPort = await freePort();
  healthPort = await freePort();
  agent = startAgent(['--config', writeConfig(agentConfig(), 'web-config-agent')]);
  await waitFor('the TLS listener', async () => curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']).status === 200);
});

test.after(() => {
  agent?.child.kill('SIGKILL');
});

test('over TLS with the right password /metrics answers; configured headers on every answer', () => {
  const answer = curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']);
  assert.is(answer.status, 200, answer.stderr);
  assert.match(answer.body, /netns_exporter_build_info/);
  assert.match(answer.headers, /x-frame-options: deny/i);
  assert.match(answer.headers, /x-content-type-options: nosniff/i);
});

test('a wrong password, an unknown user and no credentials get 401 with WWW-Authenticate: Basic', () => {
  for (const args of [['-u', 'prometheus:wrong'], ['-u', 'nobody:scrape-secret'], []]) {
    const answer = curl(api('/metrics'), args);
    assert.is(answer.status, 401, `${args.join(' ')}: ${answer.stderr}`);
    assert.match(answer.headers, /www-authenticate: Basic/i);
    assert.match(answer.headers, /x-frame-options: deny/i, 'headers on refusals too');
    assert.not.match(answer.body, /netns_/);
  }
});

test('/healthz needs credentials too without the explicit exemption', () => {
  assert.is(curl(health('/healthz')).status, 401);
  assert.is(curl(api('/healthz')).status, 401);
  assert.is(curl(health('/healthz'), ['-u', 'lb:lb-secret']).status, 200);
});

test('failed attempts are counted in a self-metric and logged once per address, never with the password', async () => {
  for (let i = 0; i < 3; i++) curl(api('/metrics'), ['-u', 'prometheus:wrong-password-123']);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const metrics = await waitFor('the failures counted', async () => {
    const body = curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']).body;
    return /netns_exporter_http_auth_failures_total\{reason="wrong_password"\} [1-9]/.test(body) ? body : null;
  });
  assert.match(metrics, /netns_exporter_http_auth_failures_total\{reason="unknown_user"\} [1-9]/);
  const log = agent!.output();
  assert.not.match(log, /wrong-password-123|scrape-secret/);
  assert.is(log.split('\n').filter((line) => /authentication failed/.test(line) && /127\.0\.0\.1/.test(line)).length, 1, log);
});

test('plain HTTP on the TLS port gets no metrics', () => {
  const answer = spawnSync('curl', ['-sS', '--max-time', '5', '-u', 'prometheus:scrape-secret', `http://127.0.0.1:${apiPort}/metrics`], { encoding: 'utf8' });
  assert.not.match(answer.stdout, /netns_exporter_build_info/);
});

test('the file is re-read when it changes: the exemption of /healthz is the agent config\'s, a client certificate the file\'s', async () => {
  writeWeb([...tlsLines(['  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`]), ...usersLines()].join('\n'));
  await waitFor('client certificates required', async () => curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']).status === 0);
  const withCert = ['--cert', certs.clientCert, '--key', certs.clientKey];
  assert.is(curl(api('/metrics'), ['-u', 'prometheus:scrape-secret', ...withCert]).status, 200);
  assert.is(curl(api('/metrics'), ['-u', 'prometheus:wrong', ...withCert]).status, 401, 'a certificate does not replace the password');
  const noCert = curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']);
  assert.is(noCert.status, 0, 'no certificate: no answer');
  assert.ok(noCert.exit !== 0);
});

test('client_allowed_sans: a certificate without an allowed name is turned away', async () => {
  const withCert = ['--cert', certs.clientCert, '--key', certs.clientKey, '-u', 'prometheus:scrape-secret'];
  writeWeb([...tlsLines(['  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`, '  client_allowed_sans: [other.test]']), ...usersLines()].join('\n'));
  await waitFor('the SAN check', async () => curl(api('/metrics'), withCert).status === 0);
  writeWeb([...tlsLines(['  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`, `  client_allowed_sans: [${CLIENT_NAME}]`]), ...usersLines()].join('\n'));
  await waitFor('the allowed name', async () => curl(api('/metrics'), withCert).status === 200);
});

test('min_version TLS13 refuses a TLS 1.2 client', async () => {
  writeWeb([...tlsLines(['  min_version: TLS13']), ...usersLines()].join('\n'));
  await waitFor('TLS 1.3 only', async () => curl(api('/metrics'), ['-u', 'prometheus:scrape-secret', '--tls-max', '1.2']).status === 0);
  assert.is(curl(api('/metrics'), ['-u', 'prometheus:scrape-secret', '--tlsv1.3']).status, 200);
});

test('a broken new file keeps the settings in force and is warned about once', async () => {
  writeWeb([...tlsLines(), ...usersLines()].join('\n'));
  await waitFor('TLS 1.2 again', async () => curl(api('/metrics'), ['-u', 'prometheus:scrape-secret', '--tls-max', '1.2']).status === 200);
  writeWeb([...tlsLines(), ...usersLines(), 'basic_auth: {}'].join('\n'));
  for (let i = 0; i < 3; i++) assert.is(curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']).status, 200, 'the old settings stay');
  assert.is(curl(api('/metrics'), ['-u', 'prometheus:wrong']).status, 401, 'still secured');
  // curl ran synchronously: the agent's log is read while this test waits.
  const refusals = () => agent!.output().split('\n').filter((line) => /web config refused/.test(line) && /basic_auth: unknown key/.test(line));
  await waitFor('the warning', async () => refusals().length > 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.is(refusals().length, 1, agent!.output());
});

test('SIGHUP re-reads the file', async () => {
  writeWeb([...tlsLines(), 'basic_auth_users:', `  prometheus: ${JSON.stringify(bcryptHash('rotated-secret'))}`].join('\n'));
  agent!.child.kill('SIGHUP');
  await waitFor('the rotated password', async () => curl(api('/metrics'), ['-u', 'prometheus:rotated-secret']).status === 200);
  assert.is(curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']).status, 401);
});

test('health.allow_unauthenticated lets /healthz answer without credentials, nothing else', async () => {
  const port = await freePort();
  const exempt = startAgent(['--config', writeConfig(agentConfig({ api_server: { server_address: '127.0.0.1', server_port: port }, health: { listen: null, allow_unauthenticated: true } }), 'web-config-exempt')]);
  try {
    const url = (route: string) => `https://127.0.0.1:${port}${route}`;
    await waitUntil('the exempt listener', async () => curl(url('/healthz')).status === 200, { context: exempt.output });
    assert.is(curl(url('/metrics')).status, 401);
    assert.is(curl(url('/')).status, 401);
    assert.is(curl(url('/healthz?x=1')).status, 200);
  } finally {
    exempt.child.kill('SIGKILL');
  }
});

test('--check-config validates the web config: an unknown key exits 2 naming it', () => {
  const bad = path.join(dir, 'bad-web.yml');
  writeFileSync(bad, [...tlsLines(), '  client_auth: RequireAndVerifyClientCert'].join('\n'));
  const run = runAgent(['--check-config', '--config', writeConfig(agentConfig({ web_config_file: bad }), 'web-config-check')]);
  assert.is(run.status, 2, run.stderr);
  assert.match(run.stderr, /tls_server_config\.client_auth: unknown key/);
  const missing = runAgent(['--check-config', '--config', writeConfig(agentConfig(), 'web-config-check'), '--web.config.file', path.join(dir, 'absent.yml')]);
  assert.is(missing.status, 2, 'the flag wins over the config key');
  assert.match(missing.stderr, /absent\.yml/);
});

test('--check-config warns when basic auth guards the health listener without the exemption', () => {
  writeWeb([...tlsLines(), ...usersLines()].join('\n'));
  const run = runAgent(['--check-config', '--config', writeConfig(agentConfig(), 'web-config-check')]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /health\.allow_unauthenticated/);
  const exempt = runAgent(['--check-config', '--config', writeConfig(agentConfig({ health: { listen: `127.0.0.1:${healthPort}`, allow_unauthenticated: true } }), 'web-config-check')]);
  assert.is(exempt.status, 0, exempt.stderr);
  assert.not.match(exempt.stderr, /allow_unauthenticated/);
});

test('a rotated certificate applies to new connections; an open one keeps the session it agreed', async () => {
  writeWeb([...tlsLines(), ...usersLines()].join('\n'));
  const rotatedDir = path.join(dir, 'rotated');
  mkdirSync(rotatedDir);
  const other = makeCertificates(rotatedDir);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca: [readFileSync(certs.caCert), readFileSync(other.caCert)] });
  const fingerprintOf = () => new Promise<{ fingerprint: string; socket: unknown; status: number }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: apiPort, path: '/metrics', agent: keepAlive, auth: 'prometheus:scrape-secret' }, (res) => {
      const socket = res.socket as TLSSocket;
      res.resume();
      res.on('end', () => resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, socket, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
  const before = await fingerprintOf();
  assert.is(before.status, 200);
  // The new pair is renamed into place, key and certificate, as a rotation tool does.
  for (const [from, to] of [[other.serverKey, certs.serverKey], [other.serverCert, certs.serverCert]] as const) {
    writeFileSync(`${to}.new`, readFileSync(from));
    spawnSync('mv', [`${to}.new`, to]);
  }
  const onOpen = await fingerprintOf();
  assert.is(onOpen.socket, before.socket, 'the same keep-alive connection');
  assert.is(onOpen.fingerprint, before.fingerprint, 'an open connection keeps its session');
  assert.is(onOpen.status, 200);
  keepAlive.destroy();
  const fresh = new Agent({ ca: [readFileSync(other.caCert)] });
  const renewed = await new Promise<string>((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port: apiPort, path: '/healthz', agent: fresh, auth: 'lb:lb-secret' }, (res) => {
      res.resume();
      resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
    }).on('error', reject).end();
  });
  assert.is.not(renewed, before.fingerprint, 'a new connection gets the new certificate');
  fresh.destroy();
  // The listener's certificate now comes from the other CA: curl trusts that one from here on.
  certs = { ...certs, caCert: other.caCert };
  rotated = other;
});

test('VerifyClientCertIfGiven and RequireAnyClientCert: the certificate checks OpenSSL leaves to the agent', async () => {
  assert.ok(rotated !== null, 'runs after the rotation test');
  const fromFirstCa = ['--cert', first.clientCert, '--key', first.clientKey, '-u', 'prometheus:scrape-secret'];
  const fromOtherCa = ['--cert', rotated.clientCert, '--key', rotated.clientKey, '-u', 'prometheus:scrape-secret'];
  const none = ['-u', 'prometheus:scrape-secret'];
  writeWeb([...tlsLines(['  client_auth_type: VerifyClientCertIfGiven', `  client_ca_file: ${first.caCert}`]), ...usersLines()].join('\n'));
  await waitFor('an unverified certificate turned away', async () => curl(api('/metrics'), fromOtherCa).status === 0);
  assert.is(curl(api('/metrics'), none).status, 200, 'no certificate: none to verify');
  assert.is(curl(api('/metrics'), fromFirstCa).status, 200, 'a certificate the client CA signed');
  writeWeb([...tlsLines(['  client_auth_type: RequireAnyClientCert']), ...usersLines()].join('\n'));
  await waitFor('any certificate required', async () => curl(api('/metrics'), none).status === 0);
  assert.is(curl(api('/metrics'), fromOtherCa).status, 200, 'any certificate, verified or not');
});

test('rate_limit: beyond the burst a request is answered 429 and counted', async () => {
  writeWeb([...tlsLines(), ...usersLines(), 'rate_limit: {burst: 3, interval: 1m}'].join('\n'));
  await waitFor('the limit', async () => curl(health('/healthz'), ['-u', 'lb:lb-secret']).status === 429);
  assert.is(curl(health('/healthz'), ['-u', 'lb:lb-secret']).status, 429);
  writeWeb([...tlsLines(), ...usersLines()].join('\n'));
  // The self-metrics are those of the last cycle: wait for one after the refusals.
  const metrics = await waitFor('the limit lifted and the refusals counted', async () => {
    const answer = curl(api('/metrics'), ['-u', 'prometheus:scrape-secret']);
    return answer.status === 200 && /netns_exporter_http_refused_total\{reason="rate_limit"\} [1-9]/.test(answer.body) ? answer.body : null;
  });
  assert.match(metrics, /netns_exporter_http_refused_total\{reason="tls_handshake"\} [1-9]/, 'the refused handshakes earlier (no certificate, TLS 1.2)');
});

runWhen(test, ['openssl', 'curl'], 'web config');
