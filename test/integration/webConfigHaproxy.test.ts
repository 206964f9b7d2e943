import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, tempDir } from '../helpers/servers.js';
import { bcryptHash, makeCertificates, type TestCertificates } from '../helpers/webConfig.js';

/**
 * haproxy's own health check (`option httpchk` with `check-ssl` and a client certificate) against
 * the agent's health listener secured by a web config that requires client certificates and sets
 * basic_auth_users: up with health.allow_unauthenticated, down without a certificate, and down
 * (401) once a reload takes the exemption away.
 */
const test = suite('haproxy health checks the secured health listener');
let dir = '';
let certs: TestCertificates;
let healthPort = 0;
let apiPort = 0;
let configFile = '';
let agent: ReturnType<typeof startAgent> | null = null;
let haproxy: ChildProcess | null = null;
let haproxyLog = '';
const context = () => `${agent?.output().slice(-2000) ?? ''}\n${haproxyLog.slice(-2000)}`;

function agentConfig(allowUnauthenticated: boolean): Record<string, unknown> {
  const empty = path.join(dir, 'netns');
  mkdirSync(empty, { recursive: true });
  return {
    interval: '1s',
    netns_dirs: [empty],
    web_config_file: path.join(dir, 'web.yml'),
    api_server: { server_address: '127.0.0.1', server_port: apiPort },
    health: { listen: `127.0.0.1:${healthPort}`, allow_unauthenticated: allowUnauthenticated },
  };
}

/** haproxy's view of each server of the backend: "UP", "DOWN", "UP 1/2"... by server name. */
function serverStates(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = connect(path.join(dir, 'haproxy.sock'));
    let text = '';
    socket.on('connect', () => socket.write('show stat\n'));
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [header, ...rows] = text.replace(/^# /, '').trim().split('\n').map((line) => line.split(','));
      const name = header!.indexOf('svname');
      const status = header!.indexOf('status');
      const check = header!.indexOf('check_status');
      resolve(Object.fromEntries(rows.filter((row) => row[0] === 'agents').map((row) => [row[name], `${row[status]} ${row[check]}`])));
    });
  });
}

/**
 * Waits until haproxy reports `server` in `state` (UP or DOWN) once a check has ended, with its check
 * status. A server starts UP, and shows UP while its first check runs ("UP * L4CON" as the connect of
 * an agent that does not listen yet fails, seen under load): that says nothing about the agent. A
 * check in progress is marked "* ", one not yet run INI.
 */
function waitState(server: string, state: 'UP' | 'DOWN'): Promise<string> {
  return waitUntil(`haproxy: ${server} ${state}`, async () => {
    const status = (await serverStates())[server];
    return status !== undefined && status.startsWith(`${state} `) && !/^\w+ (\* |INI)/.test(status) ? status : null;
  }, { context, timeoutMs: 20_000 });
}

test.before(async () => {
  dir = tempDir('web-haproxy');
  certs = makeCertificates(dir);
  [healthPort, apiPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(dir, 'web.yml'), [
    'tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`,
    '  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`,
    'basic_auth_users:', `  prometheus: ${JSON.stringify(bcryptHash('scrape-secret'))}`,
  ].join('\n'));
  configFile = writeConfig(agentConfig(true), 'web-haproxy');
  agent = startAgent(['--config', configFile]);
  const clientPem = path.join(dir, 'lb-client.pem');
  writeFileSync(clientPem, readFileSync(certs.clientCert, 'utf8') + readFileSync(certs.clientKey, 'utf8'));
  const server = (name: string, tls: string) => `  server ${name} 127.0.0.1:${healthPort} check check-ssl verify required ca-file ${certs.caCert} ${tls} inter 200ms fall 1 rise 1`;
  writeFileSync(path.join(dir, 'haproxy.cfg'), [
    'global',
    `  stats socket ${path.join(dir, 'haproxy.sock')} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    '  timeout check 2s',
    'backend agents',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    server('with_certificate', `crt ${clientPem}`),
    server('without_certificate', ''),
  ].join('\n') + '\n');
  haproxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy.stdout!.on('data', (chunk) => (haproxyLog += chunk));
  haproxy.stderr!.on('data', (chunk) => (haproxyLog += chunk));
  process.on('exit', () => haproxy?.kill('SIGKILL'));
});

test.after(() => {
  agent?.child.kill('SIGKILL');
  haproxy?.kill('SIGKILL');
});

test('check-ssl with a client certificate: UP, /healthz exempt from basic auth by the explicit option', async () => {
  const status = await waitState('with_certificate', 'UP');
  assert.match(status, /L7OK/);
});

test('check-ssl without a client certificate: DOWN in the TLS handshake', async () => {
  const status = await waitState('without_certificate', 'DOWN');
  assert.match(status, /L6RSP|L6TOUT|L4CON|SOCKERR|L7RSP/);
});

test('a reload that takes the exemption away: the check gets 401 and the node goes DOWN', async () => {
  writeFileSync(configFile, JSON.stringify(agentConfig(false)));
  agent!.child.kill('SIGHUP');
  const status = await waitState('with_certificate', 'DOWN');
  assert.match(status, /L7STS/, 'an HTTP status the check did not expect (401)');
});

runWhen(test, ['openssl', 'haproxy'], 'haproxy against the web config');
