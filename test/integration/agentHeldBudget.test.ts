import { request } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addBareNamespaces, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';

/**
 * The descriptor budget for real: the agent runs under a hard RLIMIT_NOFILE (prlimit) too small to
 * hold every namespace open. It holds what fits, enters the rest at every cycle, reads them all,
 * says so once in its log, and shows the figures on /healthz and in netns_exporter_held_namespaces.
 */
const test = suite('agent: descriptor budget');
const COUNT = 12;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test.after(cleanupNamespaces);

test('past the budget: some namespaces held, the rest entered each cycle, all read; said once, on /healthz and as a metric', async () => {
  addBareNamespaces('budget', COUNT);
  const port = await freePort();
  const config = writeConfig({
    reader: 'setns',
    interval: '1s',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}budget` },
    api_server: { server_address: '127.0.0.1', server_port: port, request_timeout: '2s' },
    collectors: { sockstat: { enabled: true }, netstat: { enabled: true } },
  }, 'agent-budget');
  // 560 descriptors: 512 kept back, 48 left for namespaces at several descriptors each.
  const agent = startAgent(['--config', config], {}, ['prlimit', '--nofile=560:560', '--']);
  try {
    const health = await waitFor('three cycles', async () => {
      const response = await get(port, '/healthz');
      const body = JSON.parse(response.body) as { held_namespaces?: { held: number; limit: number }; last_cycle: unknown };
      const metrics = parseExposition((await get(port, '/metrics')).body);
      return (find(metrics, 'netns_exporter_cycles_total', {})[0]?.value ?? 0) >= 3 ? { body, metrics } : null;
    }, { context: agent.output });
    const held = health.body.held_namespaces!;
    assert.ok(held.limit > 0 && held.limit < COUNT, JSON.stringify(held));
    assert.is(held.held, held.limit);
    assert.is(find(health.metrics, 'netns_exporter_held_namespaces', {})[0]?.value, held.limit);
    assert.is(find(health.metrics, 'netns_exporter_namespaces', { state: 'read' })[0]?.value, COUNT);
    assert.is(find(health.metrics, 'netns_exporter_namespaces', { state: 'failed' })[0]?.value, 0);
    const notices = agent.output().split('\n').filter((line) => line.includes('descriptor budget is spent'));
    assert.is(notices.length, 1, agent.output().slice(-2000));
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

runWhen(test, ['root', 'ip', 'nsenter'], 'agent: descriptor budget');
