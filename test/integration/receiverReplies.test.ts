import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';

/**
 * The running agent, both push targets on, against small stand-in servers for the replies the real
 * Pushgateway and Prometheus cannot be made to give: a 429 with a Retry-After of a day.
 */
const test = suite('agent: replies only a stand-in gives (Retry-After of a day)');
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
  return { agent, health };
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
    const wait = Date.parse(target.next_attempt!) - seen[target.name as 'pushgateway' | 'remote_write'][0]!.atMs;
    assert.ok(wait > 0 && wait <= 2_100, `${target.name}: next attempt ${wait} ms after the 429 (ceiling 2 s)`);
  }
  await waitFor('both targets delivering again', async () => seen.pushgateway.length >= 2 && seen.remote_write.length >= 2, { context: agent.output, timeoutMs: 10_000 });
  for (const target of ['pushgateway', 'remote_write'] as const) {
    const gap = seen[target][1]!.atMs - seen[target][0]!.atMs;
    assert.ok(gap >= 1_500 && gap <= 4_000, `${target}: asked again ${gap} ms after a Retry-After of a day (ceiling 2 s)`);
  }
  await waitFor('/healthz without a wait once delivered', async () => (await health()).targets.every((target) => target.next_attempt == null && target.last_error === null), { context: agent.output });
  assert.not.match(agent.output(), /Invalid time value/);
});

runWhen(test, ['root'], 'agent against stand-in receivers');
