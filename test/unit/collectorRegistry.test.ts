import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectorSample } from '../../shared/collectors/collectorList.js';
import { buildRegistry } from '../helpers/registry.js';
import type { NamespaceResult } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { ALL_COLLECTOR_FILES, procFixture } from '../helpers/fixtures.js';
import { readOk, snapshotOf } from '../helpers/samples.js';

const test = suite('registry: collector families');
const build = { version: '0.1.0', revision: 'abc', nodeversion: 'v20.0.0' };
const RAW = { hostname: 'node-1', labels: { preset: 'openstack' }, collectors: { netstat: { enabled: true }, sockstat: { enabled: true } } };
const ROUTER = 'qrouter-27e6b9c0-73c4-4624-9481-eb5c90f109bd';

function withCollectors(name: string, fixtureName: string): NamespaceResult {
  const result = readOk(name, []);
  if (result.ok) result.sample.collectors = collectorSample(procFixture(fixtureName, ALL_COLLECTOR_FILES), configFrom(RAW).collectors);
  return result;
}

async function exposition(results: NamespaceResult[]): Promise<string[]> {
  return (await buildRegistry(snapshotOf(results), configFrom(RAW), build, null).metrics()).split('\n');
}

test('netstat, sockstat and conntrack series carry netns and the preset\'s labels, typed', async () => {
  const lines = await exposition([withCollectors(ROUTER, 'busy')]);
  const labels = `{host="node-1",netns="${ROUTER}",router="27e6b9c0-73c4-4624-9481-eb5c90f109bd"}`;
  for (const line of [
    '# HELP netns_netstat_Tcp_RetransSegs Statistic TcpRetransSegs in the network namespace.',
    '# TYPE netns_netstat_Tcp_RetransSegs untyped',
    `netns_netstat_Tcp_RetransSegs${labels} 3`,
    '# TYPE netns_netstat_TcpExt_ListenOverflows untyped',
    `netns_netstat_TcpExt_ListenOverflows${labels} 6`,
    '# TYPE netns_netstat_Tcp_CurrEstab untyped',
    '# TYPE netns_netstat_Ip_Forwarding untyped',
    `netns_netstat_Ip_Forwarding${labels} 2`,
    '# TYPE netns_sockstat_TCP_tw gauge',
    `netns_sockstat_sockets_used${labels} 0`,
    '# HELP netns_nf_conntrack_entries Number of currently allocated flow entries for connection tracking in the network namespace.',
    '# TYPE netns_nf_conntrack_entries gauge',
    `netns_nf_conntrack_entries${labels} 5`,
    `netns_nf_conntrack_entries_limit${labels} 262144`,
    '# TYPE netns_nf_conntrack_stat_drop gauge',
    `netns_nf_conntrack_stat_drop${labels} 0`,
  ]) assert.ok(lines.includes(line), `missing: ${line}`);
  const families = lines.filter((line) => /^# TYPE netns_(netstat|sockstat|nf_conntrack)_/.test(line)).length;
  assert.is(families, 42 + 14 + 10);
});

test('a namespace without conntrack or without collectors has none of those series', async () => {
  const lines = await exposition([withCollectors('bare', 'bare'), readOk('old-reader', [])]);
  assert.not.ok(lines.some((line) => line.startsWith('netns_nf_conntrack_')));
  assert.not.ok(lines.some((line) => line.includes('netns="old-reader"') && !line.startsWith('netns_network_namespace')));
  assert.ok(lines.includes('netns_netstat_Tcp_RetransSegs{host="node-1",netns="bare"} 3'));
});

test('netstat figures are written as the kernel gives them, a negative one too (untyped, not a counter)', async () => {
  const odd = readOk('odd', []);
  if (odd.ok) odd.sample.collectors = { netstat: { Tcp_InSegs: -4, Tcp_MaxConn: -1 }, sockstat: {}, conntrack: {}, errors: [] };
  const lines = await exposition([odd]);
  assert.ok(lines.includes('netns_netstat_Tcp_MaxConn{host="node-1",netns="odd"} -1'));
  assert.ok(lines.includes('netns_netstat_Tcp_InSegs{host="node-1",netns="odd"} -4'));
});

test.run();
