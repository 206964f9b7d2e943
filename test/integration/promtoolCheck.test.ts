import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';
import { addTcpPair } from '../helpers/tcpTraffic.js';

/**
 * `promtool check metrics` (Debian's prometheus package) on the whole exposition with every
 * collector on and every netstat field: it may report only what it reports for node_exporter,
 * camelCase in the kernel's own field names (`netns_netstat_TcpExt_ListenOverflows`), which are
 * kept as the kernel writes them so node_exporter's queries carry over. Anything else (a counter
 * without `_total`, a gauge with it) is a defect.
 */
const test = suite('promtool check metrics on the full exposition');
let exposition = '';

test.before(async () => {
  addTcpPair('prom'); // the server namespace tracks connections: conntrack statistics exist
  const port = await freePort();
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}prom` },
    collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true }, conntrack: { enabled: true } },
    api_server: { enabled: true, server_address: '127.0.0.1', server_port: port },
    interval: '2s',
    read_timeout: '1s',
  }, 'promtool');
  const agent = startAgent(['--config', config, '--log-format', 'json']);
  try {
    exposition = await waitFor('/metrics after the first collection', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      return response.status === 200 ? response.text() : null;
    }, { context: agent.output });
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

test.after(() => cleanupNamespaces());

test('the exposition holds every kind of family: netstat, sockstat, conntrack statistics, process', () => {
  for (const family of ['netns_netstat_TcpExt_ListenOverflows', 'netns_sockstat_TCP_inuse', 'netns_nf_conntrack_stat_found', 'netns_nf_conntrack_entries', 'netns_exporter_nodejs_eventloop_lag_seconds', 'netns_network_rx_bytes_total']) {
    assert.match(exposition, new RegExp(`^# TYPE ${family} `, 'm'), family);
  }
  assert.ok((exposition.match(/^# TYPE netns_netstat_/gm) ?? []).length > 100, 'every netstat field');
});

test('promtool reports nothing but camelCase in the kernel\'s netstat field names', () => {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 60_000 });
  const problems = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
  const camelCase = /^netns_netstat_[A-Za-z0-9]+_[A-Za-z0-9]+ metric names should be written in 'snake_case' not 'camelCase'$/;
  const others = problems.filter((line) => !camelCase.test(line));
  assert.equal(others, [], `${others.length} other problems, first: ${others.slice(0, 5).join(' | ')}`);
  assert.ok(problems.length > 100, `promtool ran and saw the netstat names (${problems.length} lines)`);
});

test('netstat families are untyped and conntrack statistics gauges, as node_exporter types them', () => {
  const types = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
  const netstat = [...types].filter(([name]) => name.startsWith('netns_netstat_'));
  assert.ok(netstat.length > 100);
  for (const [name, type] of netstat) assert.is(type, 'untyped', name);
  const conntrack = [...types].filter(([name]) => name.startsWith('netns_nf_conntrack_'));
  assert.is(conntrack.length, 10, conntrack.map(([name]) => name).join(', '));
  for (const [name, type] of conntrack) assert.is(type, 'gauge', name);
});

runWhen(test, ['root', 'ip', 'iptables', 'promtool'], 'promtool check metrics');
