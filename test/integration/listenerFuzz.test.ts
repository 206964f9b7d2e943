import { connect } from 'node:net';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentHttpServer } from '../../agent/httpServer.js';
import { mutate, pick, seededRandom } from '../helpers/fuzz.js';

/**
 * Random bytes and malformed HTTP at the real listener on loopback (seeded, bounded): it never
 * answers 500, never logs an error, and answers /healthz after every case.
 */
const test = suite('listener fuzz (seeded, bounded)');
const logLines: string[] = [];
let server: AgentHttpServer;
let port = 0;

const VALID = [
  'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n',
  'HEAD /metrics HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
  'GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
];
const MALFORMED = [
  'GET http://[ HTTP/1.1\r\nHost: a\r\n\r\n', 'GET //healthz HTTP/1.1\r\n\r\n', 'GET * HTTP/1.1\r\n\r\n', 'GET healthz HTTP/1.1\r\n\r\n',
  'GET /healthz HTTP/9.9\r\n\r\n', 'GET /healthz\r\n\r\n', 'G\u0000T / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\r\nNo-Colon\r\n\r\n',
  'GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
  'GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`,
  `GET / HTTP/1.1\r\nX: ${'b'.repeat(20_000)}\r\n\r\n`, 'GET /\u00e9\u{1f600} HTTP/1.1\r\n\r\n', 'GET /%zz%00 HTTP/1.1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n', 'GET / HTTP/1.1\nHost: a\n\n',
  'GET /healthz HTTP/1.1\r\n\r\n'.repeat(50), '\r\n\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000',
];
const HTTP_BITS = ['\r\n', '\n', '\r', ' ', ':', '\u0000', '%', '/', '//', '[', 'http://', 'Content-Length: 9\r\n', 'Transfer-Encoding: chunked\r\n', '\u00ff', '?', '#', 'HTTP/1.1'];

function exchange(bytes: Buffer | string, waitMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = () => {
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.end(bytes);
  });
}

test.before(async () => {
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
  server = new AgentHttpServer({
    host: '127.0.0.1', port: 0, requestTimeoutMs: 1_000, logger,
    routes: {
      metrics: { path: '/metrics', render: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }) },
      health: () => ({ status: 'ok', max_age_seconds: 45, targets: [], last_cycle: null, problems: [] }),
    },
  });
  port = (await server.start()).port;
});

test.after(() => server.stop());

test('1,000 cases of random bytes and malformed or mutated requests', async () => {
  const random = seededRandom(0x417);
  const started = Date.now();
  const cases: (Buffer | string)[] = [...MALFORMED];
  while (cases.length < 1_000) {
    const kind = random();
    if (kind < 0.3) cases.push(Buffer.from(Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256))));
    else cases.push(mutate(random, pick(random, [...VALID, ...MALFORMED]), HTTP_BITS));
  }
  for (const [index, bytes] of cases.entries()) {
    const reply = await exchange(bytes);
    const statuses = [...reply.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((match) => Number(match[1]));
    assert.ok(statuses.every((status) => status < 500), `case ${index} ${JSON.stringify(String(bytes).slice(0, 120))} → ${statuses.join(',')}`);
    const health = await exchange('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', 2_000);
    assert.match(health, /^HTTP\/1\.1 200 /, `/healthz after case ${index} ${JSON.stringify(String(bytes).slice(0, 120))}`);
  }
  assert.equal(logLines.filter((line) => JSON.parse(line).level >= 50), [], 'no error-level log line');
  assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
});

test.run();
