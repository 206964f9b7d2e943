import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { addNamespace, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';

/** Until the first collection ends /metrics and /healthz answer 503; the log says when it starts and ends. */
const test = suite('CLI: the first collection');

async function pullAgent(extra: Record<string, unknown>) {
  const port = await freePort();
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}first` },
    api_server: { enabled: true, server_address: '127.0.0.1', server_port: port },
    ...extra,
  }, 'first-cycle');
  return { agent: startAgent(['--config', config, '--log-format', 'json']), base: `http://127.0.0.1:${port}` };
}

interface LogLine { level: number; msg: string; [field: string]: unknown }
const lines = (output: string): LogLine[] => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);

test('503 from /metrics and /healthz before the first collection has ended', async () => {
  // A splay of up to a day delays the first collection: the log says by how much.
  const { agent, base } = await pullAgent({ interval: '24h', splay: '24h' });
  try {
    const started = await waitFor('the agent started', async () => lines(agent.output()).find((line) => line.msg === 'agent started') ?? null, { context: agent.output });
    assert.ok((started.splay_ms as number) > 10_000, `a splay long enough for this test (${started.splay_ms} ms)`);
    const metrics = await fetch(`${base}/metrics`);
    assert.is(metrics.status, 503);
    assert.match(await metrics.text(), /no collection finished yet/);
    const health = await fetch(`${base}/healthz`);
    assert.is(health.status, 503);
    assert.is(((await health.json()) as { status: string }).status, 'starting');
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

test('the first collection\'s start and end are logged at info with duration and counts; later ones are not', async () => {
  addNamespace('first-a');
  addNamespace('first-b');
  const { agent, base } = await pullAgent({ interval: '2s', read_timeout: '1s' });
  try {
    const done = await waitFor('the first collection done', async () => lines(agent.output()).find((line) => line.msg === 'first collection done') ?? null, { context: agent.output });
    const begun = lines(agent.output()).find((line) => /^first collection started/.test(line.msg));
    assert.ok(begun, 'its start is logged');
    assert.is(begun!.level, 30);
    assert.is(done.level, 30);
    assert.is(done.namespaces, 2);
    assert.is(done.failed, 0);
    assert.type(done.duration_ms, 'number');
    assert.type(done.collection_ms, 'number');
    assert.is((await fetch(`${base}/metrics`)).status, 200);
    // A few more cycles: nothing more at info per cycle.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    assert.is(lines(agent.output()).filter((line) => /collection (started|done)/.test(line.msg)).length, 2);
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

runWhen(test, ['root', 'ip'], 'first-cycle test');
