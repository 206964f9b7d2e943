import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { freePort, tempDir } from '../helpers/servers.js';

/**
 * The long-running agent against hostile clients and broken reloads, at a low open-file limit
 * (64) so that leaked sockets show as EMFILE within a few hundred connections.
 */
const test = suite('long-running agent: hostile clients and reloads at RLIMIT_NOFILE 64');
const FD_LIMIT = 64;
let port = 0;
let configFile = '';
let log = '';
let agentPid = 0;
let exited: Promise<number | null>;
let kill: (signal: NodeJS.Signals) => void;
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 20_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => log });

function get(path: string): Promise<{ status: number; body: string }> {
  return rawRequest(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`).then((text) => ({
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    body: text.slice(text.indexOf('\r\n\r\n') + 4),
  }));
}

/** Sends bytes as they are (node:http would refuse to send a malformed target) and reads to the end. */
function rawRequest(bytes: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 40))}`)));
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(bytes);
  });
}

const healthy = async () => ((await get('/healthz')).status === 200 ? true : null);

test.before(async () => {
  port = await freePort();
  configFile = writeConfig({
    interval: '1s', read_timeout: '1s', netns_dirs: [tempDir('hostile-netns')],
    api_server: { server_address: '127.0.0.1', server_port: port, request_timeout: '1s' },
  }, 'agent-hostile');
  const child = spawn('bash', ['--norc', '--noprofile', '-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'bash', process.execPath, AGENT, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  agentPid = child.pid!;
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  kill = (signal) => child.kill(signal);
  process.on('exit', () => child.kill('SIGKILL'));
  await waitFor('a healthy agent', healthy);
});

test.after(() => kill?.('SIGKILL'));

test('clients answered 400 or 408 are closed: 190 of them leave /healthz and discovery working', async () => {
  const sockets: Socket[] = [];
  const answered = new Set<Socket>();
  const open = (bytes: string) => {
    // allowHalfOpen: like the clients seen in the field, these never close their side.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    socket.on('data', () => answered.add(socket));
    if (bytes !== '') socket.write(bytes);
    sockets.push(socket);
  };
  for (let i = 0; i < 170; i += 1) open('NOT HTTP AT ALL\r\n\r\n');
  for (let i = 0; i < 20; i += 1) open('');
  await waitFor('answers (400 or 408) or closes for every client', async () => sockets.every((socket) => answered.has(socket) || socket.destroyed || socket.readableEnded), 15_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = Date.now();
  await waitFor('/healthz after the flood', healthy, 5_000);
  assert.ok(Date.now() - before < 2_000, 'answered promptly');
  const fds = readdirSync(`/proc/${agentPid}/fd`).length;
  assert.ok(fds < FD_LIMIT - 8, `${fds} descriptors open`);
  assert.not.match(log, /EMFILE/);
  for (const socket of sockets) socket.destroy();
});

test('slow clients beyond the connection cap cannot lock /healthz out', async () => {
  const slow = Array.from({ length: 100 }, () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /heal');
    return socket;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = Date.now();
  assert.is((await get('/healthz')).status, 200);
  assert.ok(Date.now() - before < 2_000, 'answered promptly');
  assert.ok(readdirSync(`/proc/${agentPid}/fd`).length < FD_LIMIT - 8);
  for (const socket of slow) socket.destroy();
});

test('only exact paths: //healthz and other look-alikes are 404, a malformed target is 400', async () => {
  for (const path of ['//healthz', '//', '/healthz/', '/./healthz', '/metrics/', '//metrics', '/%68ealthz']) {
    assert.is((await get(path)).status, 404, path);
  }
  assert.is((await get('/healthz?verbose=1')).status, 200);
  assert.is((await get('http://agent/healthz')).status, 200, 'absolute form, as a proxy sends it');
  for (const target of ['http://[', 'http://[::1', '*', 'healthz', 'http:']) {
    const status = (await get(target)).status;
    assert.is(status, 400, `${target} → ${status}`);
  }
  assert.not.match(log, /"level":50/, 'no error-level log line');
});

test('SIGHUP with a YAML alias typo or an alias bomb keeps the agent and its config', async () => {
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i += 1) bomb.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  for (const [text, expected] of [['threads: &b 2\nread_timeout: *B\n', /config\.yaml:2:15: invalid YAML: alias \*B/], [`${bomb.join('\n')}\n`, /aliases expand to more than 100/]] as const) {
    writeFileSync(configFile, text);
    const seen = log.length;
    kill('SIGHUP');
    await waitFor('the refusal in the log', async () => expected.test(log.slice(seen)));
    assert.match(log.slice(seen), /new configuration refused; the running one stays/);
    await waitFor('/healthz after the reload', healthy, 5_000);
  }
  const started = Date.now();
  kill('SIGTERM');
  assert.is(await exited, 0, 'still running until told to stop');
  assert.ok(Date.now() - started < 5_000);
});

test.run();
