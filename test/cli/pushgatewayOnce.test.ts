import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig, type AgentRun } from '../helpers/agent.js';
import { addNamespace, addVeth, deleteNamespace, inNs, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { writeWebConfig } from '../helpers/webConfig.js';

/** `netns-exporter --once` against a real Pushgateway, as an operator runs it from cron or a script. */
const test = suite('CLI: --once with push.pushgateway');
const PASSWORD = 'once-password-Zq9';
let gateway: RunningServer;

test.before(async () => {
  const web = writeWebConfig(path.join(tempDir('pg-once-web'), 'web.yml'), { users: { agent: PASSWORD } });
  gateway = await startPushgateway(['--persistence.file=', `--web.config.file=${web}`]);
});
test.after(async () => {
  await gateway?.stop();
});

const INTERVAL_MS = 3_000;

function config(pushgateway: Record<string, unknown>, instance: string) {
  return writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}pgo` },
    interval: `${INTERVAL_MS / 1000}s`,
    read_timeout: '2s',
    log_level: 'warn',
    push: { pushgateway: { grouping: { instance }, basic_auth: { username: 'agent', password: PASSWORD }, ...pushgateway } },
  }, 'pg-once');
}

/**
 * A --once run at debug level, and the ms from its first log line to its exit: the agent's own time,
 * without node's start-up, which a loaded host stretches by seconds.
 */
function runOnce(file: string): AgentRun & { agentMs: number } {
  const run = runAgent(['--once', '--config', file, '--log-level', 'debug']);
  const exited = Date.now();
  const first = /"time":"([^"]+)"/.exec(run.stderr)?.[1];
  assert.ok(first !== undefined, `a log line: ${run.stderr}`);
  return { ...run, agentMs: exited - Date.parse(first!) };
}

/** The namespaces (netns_network_namespace) and MTUs of one group, read back through the gateway's API. */
async function groupOf(instance: string): Promise<{ netns: Set<string>; mtu: Map<string, number> } | null> {
  const response = await fetch(`${gateway.url}/api/v1/metrics`, { headers: { authorization: `Basic ${Buffer.from(`agent:${PASSWORD}`).toString('base64')}` } });
  const groups = ((await response.json()) as { data: { labels: Record<string, string>; [name: string]: unknown }[] }).data;
  const group = groups.find((candidate) => candidate.labels.instance === instance);
  if (!group) return null;
  type Family = { metrics: { labels: Record<string, string>; value: string }[] } | undefined;
  const mtu = new Map(((group.netns_network_mtu_bytes as Family)?.metrics ?? []).map((metric) => [`${metric.labels.netns}/${metric.labels.device}`, Number(metric.value)]));
  return { netns: new Set(((group.netns_network_namespace as Family)?.metrics ?? []).map((metric) => metric.labels.netns!)), mtu };
}

test('exit 0 when pushed; the next run\'s PUT removes a namespace that went away', async () => {
  const kept = addNamespace('pgo-kept');
  const gone = addNamespace('pgo-gone');
  const device = `pgo${process.pid % 100_000}`;
  addVeth({ ns: kept, dev: device }, { ns: gone, dev: `${device}p` });
  inNs(kept, ['ip', 'link', 'set', device, 'mtu', '1333']);
  const instance = `once-${process.pid}`;
  const file = config({ url: gateway.url }, instance);

  const first = runAgent(['--once', '--config', file]);
  assert.is(first.status, 0, first.stderr);
  const before = await groupOf(instance);
  assert.ok(before, 'the group exists');
  assert.equal([...before!.netns].sort(), [gone, kept].sort());
  assert.is(before!.mtu.get(`${kept}/${device}`), 1333);

  deleteNamespace(gone);
  const second = runAgent(['--once', '--config', file]);
  assert.is(second.status, 0, second.stderr);
  const after = await groupOf(instance);
  deleteNamespace(kept);
  assert.equal([...after!.netns], [kept], 'the vanished namespace is gone from the gateway');
});

test('gateway down: non-zero within the interval, saying why', async () => {
  const run = runOnce(config({ url: `http://127.0.0.1:${await freePort()}`, timeout: '1s' }, 'down'));
  assert.is(run.status, 1);
  assert.ok(run.agentMs < INTERVAL_MS + 4_000, `exited ${run.agentMs} ms after its first log line`);
  assert.match(run.stderr, /push to pushgateway failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
});

test('gateway that never answers: non-zero within the interval, no hang', async () => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket)); // accepts, never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const run = runOnce(config({ url: `http://127.0.0.1:${port}`, timeout: '1s' }, 'stall'));
    assert.is(run.status, 1);
    assert.ok(run.agentMs < INTERVAL_MS + 4_000, `exited ${run.agentMs} ms after its first log line`);
    assert.match(run.stderr, /push to pushgateway failed: no response within \d+ ms/);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('a wrong password: non-zero at once, 401 reported, password never printed', async () => {
  const wrong = 'not-the-password-42';
  const run = runOnce(config({ url: gateway.url, basic_auth: { username: 'agent', password: wrong } }, 'wrong'));
  assert.is(run.status, 1);
  assert.not.match(run.stderr, /attempt failed, retrying/, 'no retries on 401');
  assert.ok(run.agentMs < INTERVAL_MS, `no retries on 401 (${run.agentMs} ms after its first log line)`);
  assert.match(run.stderr, /push to pushgateway failed: HTTP 401 Unauthorized/);
  assert.not.ok(run.stderr.includes(wrong) || run.stdout.includes(wrong), 'no password in the output');
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway'], 'Pushgateway --once CLI');
