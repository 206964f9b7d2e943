import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HealthReport } from '../../agent/health.js';
import { AgentHttpServer } from '../../agent/httpServer.js';
import { createLogger } from '../../agent/log.js';
import { WebConfigSource } from '../../agent/webConfigFile.js';
import { WebSecurity } from '../../agent/webSecurity.js';
import { tempDir } from '../helpers/servers.js';
import { bcryptHash } from '../helpers/webConfig.js';

/**
 * bcrypt never runs on the main thread: eight wrong passwords at once (each a full bcrypt compare
 * at cost 12, about half a second of CPU) leave the event loop free, and /healthz answers throughout.
 * The bound calibrates itself: on the main thread the eight would run one after another, each
 * stalling the loop for an eighth of the whole; off it, no stall comes near that.
 */
const test = suite('basic auth: bcrypt off the main thread');
const COST = 12;
let server: AgentHttpServer;
let security: WebSecurity;
let port = 0;

const REPORT: HealthReport = { status: 'ok', max_age_seconds: 45, problems: [], targets: [], last_cycle: null };

function get(route: string, auth?: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers = auth === undefined ? {} : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
    const req = request({ host: '127.0.0.1', port, path: route, headers, agent: false, timeout: 20_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });
}

test.before(async () => {
  const dir = tempDir('web-lag');
  const file = path.join(dir, 'web.yml');
  writeFileSync(file, `basic_auth_users:\n  prometheus: ${JSON.stringify(bcryptHash('right', COST))}\n`);
  const { logger } = createLogger('error', null, 'json');
  security = new WebSecurity(new WebConfigSource(file, logger), { allowUnauthenticatedHealth: true, logger });
  server = new AgentHttpServer({ host: '127.0.0.1', port: 0, requestTimeoutMs: 20_000, routes: { metrics: null, health: () => REPORT }, logger, security });
  port = (await server.start()).port;
});

test.after(async () => {
  await server.stop();
  await security.stop();
});

test('eight concurrent wrong passwords: the loop never stalls, /healthz answers throughout', async () => {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const wrong = Array.from({ length: 8 }, (_, i) => get('/', `prometheus:wrong-${i}`));
  const health: number[] = [];
  let done = false;
  void Promise.all(wrong).then(() => (done = true));
  while (!done) {
    const answer = await get('/healthz');
    assert.is(answer.status, 200);
    health.push(answer.ms);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const refused = await Promise.all(wrong);
  const elapsed = performance.now() - started;
  delay.disable();
  for (const answer of refused) assert.is(answer.status, 401);
  const maxDelayMs = delay.max / 1e6;
  // What one compare would stall the loop for, were the eight run on it one after another.
  const oneCompareMs = elapsed / refused.length;
  assert.ok(oneCompareMs > 50, `the compares took ${Math.round(elapsed)} ms: too fast to have run bcrypt at cost ${COST}`);
  assert.ok(maxDelayMs < oneCompareMs, `the event loop stalled ${Math.round(maxDelayMs)} ms, as long as a compare (${Math.round(oneCompareMs)} ms)`);
  assert.ok(health.length >= 3, `/healthz answered ${health.length} times while the compares ran`);
  assert.ok(Math.max(...health) < oneCompareMs, `/healthz took up to ${Math.round(Math.max(...health))} ms`);
  console.log(`  8 wrong passwords at cost ${COST}: ${Math.round(elapsed)} ms; event loop max delay ${Math.round(maxDelayMs)} ms; /healthz ${health.length}× max ${Math.round(Math.max(...health))} ms`);
});

test('a right password after the first check is remembered: no second compare', async () => {
  const first = await get('/', 'prometheus:right');
  assert.is(first.status, 200);
  const second = await get('/', 'prometheus:right');
  assert.is(second.status, 200);
  assert.ok(second.ms < first.ms / 2, `first ${Math.round(first.ms)} ms, second ${Math.round(second.ms)} ms`);
  assert.is((await get('/', 'prometheus:right-but-not')).status, 401);
});

test.run();
