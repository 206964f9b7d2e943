import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectorSample } from '../../shared/collectors/collectorList.js';
import { ALL_COLLECTOR_FILES } from '../helpers/fixtures.js';
import { configFrom } from '../helpers/config.js';
import { cleanupNamespaces } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { addTcpPair, connectFromClient, kernelCollectorFiles, startStuckListener, type TcpPair } from '../helpers/tcpTraffic.js';

/**
 * The kernel keeps these figures per namespace, and the parsers read them as it writes them: real
 * TCP traffic between two test namespaces (a full accept queue, a refused connection) moves the
 * right namespace's counters only. The readers' tests compare their output with the same helpers.
 */
const test = suite('collectors against the kernel: per-namespace TCP and conntrack figures');
const ALL_FILES = ALL_COLLECTOR_FILES;
const config = configFrom({ collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true } } }).collectors;
let pair: TcpPair;

test.before(() => {
  pair = addTcpPair();
});

test.after(() => cleanupNamespaces());

test('a full accept queue and a refused connection move the server\'s counters, not the client\'s', async () => {
  const before = { server: collectorSample(kernelCollectorFiles(pair.server, ALL_FILES), config), client: collectorSample(kernelCollectorFiles(pair.client, ALL_FILES), config) };
  assert.equal(before.server.errors, []);
  assert.is(before.server.netstat.TcpExt_ListenOverflows, 0);
  const listener = await startStuckListener(pair);
  try {
    connectFromClient(pair, 6, 1_500);
  } finally {
    listener.stop();
  }
  const server = collectorSample(kernelCollectorFiles(pair.server, ALL_FILES), config);
  const client = collectorSample(kernelCollectorFiles(pair.client, ALL_FILES), config);
  assert.ok(server.netstat.TcpExt_ListenOverflows! > 0, `ListenOverflows ${server.netstat.TcpExt_ListenOverflows}`);
  assert.ok(server.netstat.TcpExt_ListenDrops! >= server.netstat.TcpExt_ListenOverflows!);
  assert.ok(server.netstat.Tcp_OutRsts! > before.server.netstat.Tcp_OutRsts!, 'the refused connection was answered with a reset');
  assert.ok(client.netstat.Tcp_ActiveOpens! >= 7);
  assert.ok(client.netstat.Tcp_AttemptFails! >= 1);
  assert.ok(client.netstat.TcpExt_TCPSynRetrans! > 0, 'dropped SYNs were retransmitted');
  assert.is(client.netstat.TcpExt_ListenOverflows, 0, 'the client namespace has no listener');
  assert.is(server.netstat.Tcp_ActiveOpens, before.server.netstat.Tcp_ActiveOpens);
});

test('conntrack: the namespace with a stateful rule tracks its connections, the other does not', () => {
  const server = collectorSample(kernelCollectorFiles(pair.server, ALL_FILES), config);
  const client = collectorSample(kernelCollectorFiles(pair.client, ALL_FILES), config);
  assert.ok(server.conntrack.entries! > 0, `entries ${server.conntrack.entries}`);
  assert.ok(server.conntrack.entries_limit! > server.conntrack.entries!);
  assert.is(client.conntrack.entries, 0);
  assert.type(server.conntrack.stat_drop, 'number');
  assert.is(server.sockstat.TCP_inuse, 0, 'every socket of the test is closed');
});

runWhen(test, ['root', 'ip', 'iptables'], 'collectorsKernel.test');
