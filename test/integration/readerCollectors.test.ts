import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { Reader } from '../../agent/readers/reader.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import { collectorFiles, collectorSample } from '../../shared/collectors/collectorList.js';
import type { CollectorsConfig } from '../../shared/config/configTypes.js';
import type { CollectorSample, Namespace } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { cleanupNamespaces } from '../helpers/netns.js';
import { readAll, readOne, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { addTcpPair, CLOSED_PORT, connectFromClient, kernelCollectorFiles, startStuckListener, type TcpPair } from '../helpers/tcpTraffic.js';

/**
 * Both readers deliver the collector files as the kernel shows them inside each namespace, in the
 * same visit as the devices: with real TCP traffic between two test namespaces behind (a full
 * accept queue, a refused connection) and UDP traffic still flowing during the read, every value a
 * reader gives lies between `ip netns exec NS cat` just before and just after.
 */
const test = suite('both readers deliver the collectors\' files, equal to the kernel\'s');
const ALL_ON: CollectorsConfig = configFrom({
  collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true }, conntrack: { enabled: true } },
}).collectors;
const TIMEOUT_MS = 10_000;
let pair: TcpPair;

test.before(async () => {
  pair = addTcpPair('rc');
  const listener = await startStuckListener(pair);
  try {
    connectFromClient(pair, 6, 1_500);
  } finally {
    listener.stop();
  }
});

test.after(cleanupNamespaces);

function readers(): Record<'nsenter' | 'setns', Reader> {
  const options = testReaderOptions({ timeoutMs: TIMEOUT_MS, collectors: ALL_ON, workers: 1 });
  return { nsenter: new NsenterReader(options), setns: new SetnsReader(options) };
}

/** UDP datagrams from the client to a closed port on the server while `body` runs: counters move, no socket comes or goes. */
async function withUdpTraffic<T>(body: () => Promise<T>): Promise<T> {
  const script = `const s = require('dgram').createSocket('udp4');
    s.bind(0, () => { process.stdout.write('sending\\n'); setInterval(() => s.send('x', ${CLOSED_PORT}, '${pair.serverIp}'), 2); });`;
  const child = spawn('ip', ['netns', 'exec', pair.client, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('sending')) resolve(); });
      child.once('exit', (code) => reject(new Error(`UDP sender exited with ${code}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return await body();
  } finally {
    child.kill('SIGKILL');
  }
}

const kernel = (ns: string): CollectorSample => collectorSample(kernelCollectorFiles(ns, collectorFiles(ALL_ON).map((file) => file.procPath)), ALL_ON);

/** Every figure the reader gave lies between the kernel's before and after (gauges as well as counters), and no figure is missing. */
function assertBetween(label: string, read: CollectorSample, before: CollectorSample, after: CollectorSample): void {
  assert.equal(read.errors, [], `${label}: errors`);
  for (const part of ['netstat', 'sockstat', 'conntrack'] as const) {
    assert.equal(Object.keys(read[part]).sort(), Object.keys(before[part]).sort(), `${label}: the ${part} names`);
    for (const [name, value] of Object.entries(read[part])) {
      const [low, high] = [before[part][name]!, after[part][name]!].sort((a, b) => a - b);
      assert.ok(value >= low! && value <= high!, `${label}: ${part} ${name} = ${value}, the kernel showed ${before[part][name]} then ${after[part][name]}`);
    }
  }
}

for (const kind of ['nsenter', 'setns'] as const) {
  test(`${kind} reader: every netstat, sockstat and conntrack value lies between the kernel's before and after`, async () => {
    const reader = readers()[kind];
    const target = (ns: string): Namespace => ({ name: ns, path: `/run/netns/${ns}`, inode: statSync(`/run/netns/${ns}`).ino });
    try {
      await reader.start();
      const { before, results, after } = await withUdpTraffic(async () => {
        const before = { server: kernel(pair.server), client: kernel(pair.client) };
        // readAll fails the test unless the reader vouched for both (the setns workers did the reading).
        const results = await readAll(reader, [target(pair.server), target(pair.client)]);
        const after = { server: kernel(pair.server), client: kernel(pair.client) };
        return { before, results, after };
      });
      const [server, client] = results.map((result) => {
        assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
        return result.ok ? result.sample.collectors : undefined;
      });
      assert.ok(server && client, 'both samples carry the collectors');
      assertBetween('server', server!, before.server, after.server);
      assertBetween('client', client!, before.client, after.client);
      assert.ok(after.server.netstat.Udp_NoPorts! > before.server.netstat.Udp_NoPorts!, 'traffic moved the counters during the read');
      assert.ok(server!.netstat.TcpExt_ListenOverflows! > 0, 'the full accept queue shows');
      assert.ok(server!.netstat.Tcp_OutRsts! > 0, 'the refused connection shows');
      assert.ok(client!.netstat.Tcp_AttemptFails! >= 1);
      assert.is(client!.netstat.TcpExt_ListenOverflows, 0, 'each namespace its own figures');
      assert.ok(server!.conntrack.entries! > 0, 'the server tracks connections');
      assert.is(client!.conntrack.entries, 0);
      assert.is(client!.sockstat.UDP_inuse, 1, 'the sender\'s socket, in its own namespace only');
      assert.is(server!.sockstat.UDP_inuse, 0);
    } finally {
      await reader.stop();
    }
  });
}

/** The namespace's own nf_conntrack_count, which the readers no longer read: `ip netns exec NS cat`. */
function conntrackCount(ns: string): number {
  return Number(String(kernelCollectorFiles(ns, ['sys/net/netfilter/nf_conntrack_count'])['sys/net/netfilter/nf_conntrack_count']).trim());
}

test('nf_conntrack_max is the host\'s in a namespace, and read-only there: one read serves every namespace', () => {
  const hostMax = readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8');
  assert.is(kernelCollectorFiles(pair.server, ['sys/net/netfilter/nf_conntrack_max'])['sys/net/netfilter/nf_conntrack_max'], hostMax);
  assert.throws(() => execFileSync('ip', ['netns', 'exec', pair.server, 'sh', '-c', 'echo 1000 > /proc/sys/net/netfilter/nf_conntrack_max'], { stdio: 'ignore' }));
  assert.is(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'), hostMax);
});

for (const kind of ['nsenter', 'setns'] as const) {
  test(`${kind} reader: conntrack entries equal the namespace's own nf_conntrack_count, the limit the host's nf_conntrack_max`, async () => {
    const reader = readers()[kind];
    const target = (ns: string): Namespace => ({ name: ns, path: `/run/netns/${ns}`, inode: statSync(`/run/netns/${ns}`).ino });
    const hostMax = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'));
    try {
      await reader.start();
      for (const ns of [pair.server, pair.client]) {
        const before = conntrackCount(ns);
        const result = await readOne(reader, target(ns));
        const after = conntrackCount(ns);
        assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
        const { entries, entries_limit: limit } = result.ok ? result.sample.collectors.conntrack : {};
        const [low, high] = [before, after].sort((a, b) => a - b);
        assert.ok(entries !== undefined && entries >= low! && entries <= high!, `${ns}: entries ${entries}, nf_conntrack_count ${before} then ${after}`);
        assert.is(limit, hostMax);
      }
      assert.ok(conntrackCount(pair.server) > 0, 'the server namespace has entries, the client none: both cases are checked');
      assert.is(conntrackCount(pair.client), 0);
    } finally {
      await reader.stop();
    }
  });
}

runWhen(test, ['root', 'ip', 'nsenter', 'iptables'], 'readerCollectors.test');
