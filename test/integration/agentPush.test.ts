import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { writeWebConfig } from '../helpers/webConfig.js';

/** The agent as a load balancer sees it: a real process pushing to a real Pushgateway. */
const test = suite('long-running agent pushing: /healthz follows the gateway');
/** Waits with the agent's log as context for a timeout message. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 20_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => agent?.output() ?? '' });
const PASSWORD = 'hunter2-Very-Secret';
const INSTANCE = `health-test-${process.pid}`;
let gatewayPort = 0;
let healthPort = 0;
let webConfig = '';
let gateway: RunningServer | null = null;
let agent: ReturnType<typeof startAgent>;
const healthBodies: string[] = [];

async function health(): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(3_000) });
  const text = await response.text();
  healthBodies.push(text);
  return { status: response.status, body: JSON.parse(text) };
}

async function gatewayMetrics(): Promise<string> {
  const auth = Buffer.from(`netns:${PASSWORD}`).toString('base64');
  const response = await fetch(`http://127.0.0.1:${gatewayPort}/metrics`, { headers: { authorization: `Basic ${auth}` } });
  return response.text();
}


/** The first start binds port 0; a restart comes back on the port the agent pushes to. */
const startGateway = async () => {
  const started = await startPushgateway([`--web.config.file=${webConfig}`], gatewayPort === 0 ? {} : { port: gatewayPort });
  gatewayPort = started.port;
  return started;
};

test.before(async () => {
  const ns = addNamespace('push');
  addVeth({ ns, dev: 'nxh0' }, { ns, dev: 'nxh1' });
  const dir = tempDir('agent-push');
  webConfig = writeWebConfig(path.join(dir, 'web.yml'), { users: { netns: PASSWORD } });
  const passwordFile = path.join(dir, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  healthPort = await freePort();
  gateway = await startGateway();
  const config = writeConfig({
    interval: '1s',
    read_timeout: '900ms',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}` },
    health: { listen: `127.0.0.1:${healthPort}`, max_age: '3s' },
    push: {
      pushgateway: {
        url: `http://127.0.0.1:${gatewayPort}`,
        grouping: { instance: INSTANCE },
        timeout: '800ms',
        basic_auth: { username: 'netns', password_file: passwordFile },
        delete_on_shutdown: true,
      },
    },
  }, 'agent-push');
  agent = startAgent(['--config', config, '--log-level', 'debug']);
});

test.after(async () => {
  agent?.child.kill('SIGKILL');
  await gateway?.stop();
  cleanupNamespaces();
});

test('200 once the first push lands; the figures are on the gateway', async () => {
  await waitFor('healthy', async () => ((await health()).status === 200 ? true : null));
  const samples = parseExposition(await gatewayMetrics());
  const up = find(samples, 'netns_network_up', { netns: `${TEST_PREFIX}push`, device: 'nxh0', instance: INSTANCE, job: 'netns_exporter' });
  assert.is(up.length, 1);
  assert.ok(find(samples, 'netns_exporter_pushes_total', { instance: INSTANCE, target: 'pushgateway' }).length === 1, 'self-metrics are pushed too');
});

test('503 when the gateway has been away longer than max_age, with the reason', async () => {
  await gateway!.stop();
  gateway = null;
  const stoppedAt = Date.now();
  const failing = await waitFor('503', async () => {
    const result = await health();
    return result.status === 503 ? result : null;
  });
  assert.ok(Date.now() - stoppedAt >= 2_000, 'not before max_age has passed');
  assert.is(failing.body.status, 'failing');
  const target = failing.body.targets[0];
  assert.is(target.name, 'pushgateway');
  assert.is(target.healthy, false);
  assert.ok(target.consecutive_failures >= 1);
  assert.match(String(target.last_error), /ECONNREFUSED|connect/i);
});

test('200 again when the gateway returns, without restarting the agent', async () => {
  gateway = await startGateway();
  await waitFor('healthy again', async () => ((await health()).status === 200 ? true : null));
  assert.is(agent.child.exitCode, null, 'the same agent process');
});

test('the password never reaches the logs or /healthz', () => {
  assert.ok(agent.output().length > 0);
  assert.not.ok(agent.output().includes(PASSWORD), 'password in the logs');
  assert.not.ok(healthBodies.some((body) => body.includes(PASSWORD)), 'password in /healthz');
  assert.not.ok(agent.output().includes(Buffer.from(`netns:${PASSWORD}`).toString('base64')), 'encoded credentials in the logs');
});

test('SIGTERM exits 0 and, with delete_on_shutdown, removes the group', async () => {
  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);
  const samples = parseExposition(await gatewayMetrics());
  assert.is(find(samples, 'netns_network_up', { instance: INSTANCE }).length, 0);
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway'], 'agent push tests');
