import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { startSquid } from '../helpers/squid.js';
import { freePort } from '../helpers/servers.js';

/**
 * The running agent, both push targets on, against small stand-in servers for the replies the real
 * Pushgateway and Prometheus cannot be made to give: a 429 with a Retry-After of a day, a body of
 * 2 GB (plain, and through a proxy), a small gzip body that inflates past any error text.
 */
const test = suite('agent: replies only a stand-in gives (Retry-After of a day, a 2 GB body)');
const cleanup: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const task of cleanup.reverse()) await task();
});

interface Seen {
  path: string;
  atMs: number;
}

/** A stand-in for both receivers: `respond` gets the target ('pushgateway' | 'remote_write') and its request number (from 1). */
async function standIn(respond: (target: 'pushgateway' | 'remote_write', index: number, res: ServerResponse, req: IncomingMessage) => void) {
  const seen: Record<'pushgateway' | 'remote_write', Seen[]> = { pushgateway: [], remote_write: [] };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const target = req.url?.startsWith('/api/v1/write') ? 'remote_write' : 'pushgateway';
      seen[target].push({ path: req.url ?? '', atMs: Date.now() });
      respond(target, seen[target].length, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  cleanup.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url, seen };
}

const GIB = 1024 ** 3;

/**
 * Answers `status` with a body of `bytes` written as fast as the client reads it, never held in
 * memory; resolves with the bytes written when the client hung up or all were written.
 */
function streamBody(res: ServerResponse, status: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bytes) });
  return new Promise((resolve) => {
    let written = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(written);
    };
    res.on('close', finish);
    const pump = () => {
      while (!done && written < bytes) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (written >= bytes) res.end(finish);
    };
    pump();
  });
}

/** The agent's peak resident memory (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

async function startWith(url: string, targets: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const healthPort = await freePort();
  const configFile = writeConfig({
    interval: '1s',
    read_timeout: '900ms',
    // No namespace matches: the agent's own series are what is pushed.
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}replies-none$` },
    health: { listen: `127.0.0.1:${healthPort}` },
    push: {
      pushgateway: { url, timeout: '500ms', ...(targets.pushgateway as object) },
      remote_write: { url: `${url}/api/v1/write`, timeout: '500ms', ...(targets.remote_write as object) },
    },
    ...extra,
  }, 'replies');
  const agent = startAgent(['--config', configFile]);
  cleanup.push(async () => {
    agent.child.kill('SIGKILL');
    await agent.exited;
  });
  const health = async () => (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as {
    targets: { name: string; next_attempt?: string | null; last_error: string | null }[];
  };
  const lastErrors = async () => Object.fromEntries((await health()).targets.map((target) => [target.name, target.last_error ?? '']));
  return { agent, health, lastErrors };
}

test('429 with Retry-After of a day (seconds, an absurd number, an HTTP date): capped by max_retry_after, /healthz says when, both targets', async () => {
  const day = new Date(Date.now() + 86_400_000).toUTCString();
  const { url, seen } = await standIn((target, index, res) => {
    if (index === 1) res.writeHead(429, { 'retry-after': target === 'pushgateway' ? day : '9999999999999' }).end('slow down');
    else res.writeHead(target === 'pushgateway' ? 200 : 204).end();
  });
  const { agent, health } = await startWith(url, { pushgateway: { max_retry_after: '2s' }, remote_write: { max_retry_after: '2s' } });
  const due = await waitFor('/healthz naming the next attempt of both targets', async () => {
    const report = await health();
    const times = report.targets.map((target) => target.next_attempt);
    return times.length === 2 && times.every((time) => typeof time === 'string') ? { report, at: Date.now() } : null;
  }, { context: agent.output });
  for (const target of due.report.targets) {
    // The agent saw the 429 after the stand-in sent it and before /healthz showed the wait.
    const next = Date.parse(target.next_attempt!);
    const sent = seen[target.name as 'pushgateway' | 'remote_write'][0]!.atMs;
    assert.ok(next - sent >= 1_600, `${target.name}: next attempt ${next - sent} ms after the 429 was sent (ceiling 2 s, spread down by at most 20%)`);
    assert.ok(next - due.at <= 2_000, `${target.name}: next attempt ${next - due.at} ms after /healthz showed it (ceiling 2 s)`);
  }
  await waitFor('both targets delivering again', async () => seen.pushgateway.length >= 2 && seen.remote_write.length >= 2, { context: agent.output, timeoutMs: 10_000 });
  for (const target of ['pushgateway', 'remote_write'] as const) {
    const gap = seen[target][1]!.atMs - seen[target][0]!.atMs;
    assert.ok(gap >= 1_500 && gap <= 4_000, `${target}: asked again ${gap} ms after a Retry-After of a day (ceiling 2 s)`);
  }
  await waitFor('/healthz without a wait once delivered', async () => (await health()).targets.every((target) => target.next_attempt == null && target.last_error === null), { context: agent.output });
  assert.not.match(agent.output(), /Invalid time value/);
});

test('a 2 GB answer and a gzip body inflating to 10 MB: at most 64 KiB read, on the wire and inflated; "response body too large", both targets', async () => {
  let mode: 'huge' | 'bomb' = 'huge';
  const written: number[] = [];
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, ' '));
  const { url } = await standIn((_target, _index, res) => {
    if (mode === 'huge') void streamBody(res, 503, 2 * GIB).then((bytes) => written.push(bytes));
    else res.writeHead(500, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(bomb);
  });
  const { agent, lastErrors } = await startWith(url, { pushgateway: { timeout: '3s' }, remote_write: { timeout: '3s' } });
  const huge = await waitFor('both targets failing on the 2 GB answer', async () => {
    const errors = await lastErrors();
    return Object.values(errors).length === 2 && Object.values(errors).every((error) => error !== '') ? errors : null;
  }, { context: agent.output, timeoutMs: 30_000 });
  for (const [target, error] of Object.entries(huge)) assert.match(error, /^HTTP 503 Service Unavailable: response body too large/, `${target}: ${error}`);
  await waitFor('the stand-in seeing the agent hang up', async () => written.length >= 2, { context: agent.output });
  // The kernel's socket buffers hold a few MiB; a body read whole would be 2 GiB.
  assert.ok(Math.max(...written) < 32 * 1024 * 1024, `the stand-in wrote ${written.join(', ')} bytes before the agent hung up`);
  const peak = peakRssMiB(agent.child.pid!);
  assert.ok(peak < 400, `peak RSS ${peak.toFixed(0)} MiB`);

  mode = 'bomb';
  const inflated = await waitFor('both targets failing on the gzip body', async () => {
    const errors = await lastErrors();
    return Object.values(errors).every((error) => error.startsWith('HTTP 500')) ? errors : null;
  }, { context: agent.output, timeoutMs: 30_000 });
  for (const [target, error] of Object.entries(inflated)) assert.match(error, /^HTTP 500 Internal Server Error: response body too large/, `${target}: ${error}`);
});

test('through a proxy (squid, absolute-URI requests): the 2 GB answer is cut at 64 KiB too, both targets', async () => {
  const written: number[] = [];
  const { url } = await standIn((_target, _index, res) => void streamBody(res, 503, 2 * GIB).then((bytes) => written.push(bytes)));
  const port = new URL(url).port;
  const squid = await startSquid({ hosts: { 'receiver.test': '127.0.0.1' } });
  cleanup.push(() => squid.stop());
  const proxied = `http://receiver.test:${port}`;
  const healthPort = await freePort();
  const configFile = writeConfig({
    interval: '1s', read_timeout: '900ms',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}replies-none$` },
    health: { listen: `127.0.0.1:${healthPort}` },
    push: {
      pushgateway: { url: proxied, timeout: '3s', proxy_url: squid.url },
      remote_write: { url: `${proxied}/api/v1/write`, timeout: '3s', proxy_url: squid.url },
    },
  }, 'replies-proxy');
  const agent = startAgent(['--config', configFile]);
  cleanup.push(async () => {
    agent.child.kill('SIGKILL');
    await agent.exited;
  });
  const errors = await waitFor('both targets failing on the 2 GB answer through the proxy', async () => {
    const report = (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as { targets: { name: string; last_error: string | null }[] };
    return report.targets.every((target) => target.last_error !== null) ? report.targets : null;
  }, { context: agent.output, timeoutMs: 30_000 });
  for (const target of errors) assert.match(target.last_error!, /^HTTP 503 Service Unavailable: response body too large/, `${target.name}: ${target.last_error}`);
  assert.ok(squid.requests().some((line) => line.startsWith('PUT http://receiver.test')), squid.requests().join('\n'));
  const peak = peakRssMiB(agent.child.pid!);
  assert.ok(peak < 400, `peak RSS ${peak.toFixed(0)} MiB`);
});

test('a redirect (307, 308) is not followed, and the error names its Location, both targets', async () => {
  const { url } = await standIn((target, _index, res) => {
    if (target === 'pushgateway') res.writeHead(307, { location: 'http://gateway.moved.test:9091/metrics/job/x' }).end();
    else res.writeHead(308, { location: '/api/v2/write' }).end();
  });
  const { agent, lastErrors } = await startWith(url, {});
  const errors = await waitFor('both targets failing on the redirect', async () => {
    const found = await lastErrors();
    return Object.values(found).length === 2 && Object.values(found).every((error) => error !== '') ? found : null;
  }, { context: agent.output });
  assert.match(errors.pushgateway!, /^HTTP 307 Temporary Redirect.*http:\/\/gateway\.moved\.test:9091\/metrics\/job\/x/, errors.pushgateway);
  assert.match(errors.remote_write!, /^HTTP 308 Permanent Redirect.*\/api\/v2\/write/, errors.remote_write);
});

runWhen(test, ['root', 'squid'], 'agent against stand-in receivers');
