import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { Reader } from '../../agent/readers/reader.js';
import { discoverNamespaces } from '../../agent/discover.js';
import type { Namespace } from '../../shared/snapshot.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, addVeth, cleanupNamespaces, deleteNamespace, inNs, kernelStat, sh, TEST_PREFIX } from '../helpers/netns.js';
import { collectCycle, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

const test = suite('collection against the kernel (nsenter reader)');
const only = { whitelist: new RegExp(`^${TEST_PREFIX}`), blacklist: null };
const noFilter = { whitelist: null, blacklist: null };
let left = '';
let right = '';
let down = '';
let odd = '';

test.before(() => {
  left = addNamespace('left');
  right = addNamespace('right');
  down = addNamespace('down');
  odd = addNamespace('we"ird \\ näme');
  addVeth({ ns: left, dev: 'nxa0' }, { ns: right, dev: 'nxb0' });
  inNs(left, ['ip', 'addr', 'add', '10.199.7.1/30', 'dev', 'nxa0']);
  inNs(right, ['ip', 'addr', 'add', '10.199.7.2/30', 'dev', 'nxb0']);
  // Fixed MACs and permanent neighbours: no ARP probe moves a counter after the pings.
  inNs(left, ['ip', 'link', 'set', 'nxa0', 'address', '02:00:00:00:07:01']);
  inNs(right, ['ip', 'link', 'set', 'nxb0', 'address', '02:00:00:00:07:02']);
  inNs(left, ['ip', 'neigh', 'add', '10.199.7.2', 'lladdr', '02:00:00:00:07:02', 'dev', 'nxa0', 'nud', 'permanent']);
  inNs(right, ['ip', 'neigh', 'add', '10.199.7.1', 'lladdr', '02:00:00:00:07:01', 'dev', 'nxb0', 'nud', 'permanent']);
  for (const [ns, dev] of [[left, 'nxa0'], [right, 'nxb0'], [left, 'lo']] as const) inNs(ns, ['ip', 'link', 'set', dev, 'up']);
  addVeth({ ns: down, dev: 'nxd0' }, { ns: down, dev: 'nxd1' }); // both ends in one namespace, left down
  addVeth({ ns: odd, dev: 'nxo0' }, { ns: odd, dev: 'nxo1' });
  inNs(odd, ['ip', 'link', 'set', 'nxo0', 'up']);
  inNs(odd, ['ip', 'link', 'set', 'nxo1', 'up']);
  // Traffic between the test namespaces' own addresses only; it stops before anything is compared.
  inNs(left, ['ping', '-c', '5', '-i', '0.2', '-W', '1', '10.199.7.2']);
});

test.after(cleanupNamespaces);

test('--dry-run prints every statistic exactly as the kernel counts it', () => {
  const config = writeConfig({
    interface_metrics: [...INTERFACE_STATS],
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}` },
    device_filter: { blacklist_pattern: '^$' },
    labels: { device_ip: 'deviceIP' },
  });
  const run = runAgent(['--dry-run', '--config', config]);
  assert.is(run.status, 0, run.stderr);
  const samples = parseExposition(run.stdout);
  const devices: [string, string][] = [[left, 'nxa0'], [left, 'lo'], [right, 'nxb0'], [down, 'nxd0'], [down, 'nxd1'], [odd, 'nxo0'], [odd, 'nxo1']];
  for (const [ns, dev] of devices) {
    for (const stat of INTERFACE_STATS) {
      const found = find(samples, `netns_network_${stat}_total`, { netns: ns, device: dev });
      assert.is(found.length, 1, `${stat} of ${ns}/${dev}`);
      assert.is(found[0]!.value, kernelStat(ns, dev, stat), `${stat} of ${ns}/${dev}`);
    }
  }
  assert.ok(find(samples, 'netns_network_rx_packets_total', { netns: right, device: 'nxb0' })[0]!.value >= 5, 'the pings arrived');
  assert.is(find(samples, 'netns_network_up', { netns: left, device: 'nxa0' })[0]!.value, 1);
  assert.is(find(samples, 'netns_network_up', { netns: down, device: 'nxd0' })[0]!.value, 0);
  assert.is(find(samples, 'netns_network_rx_bytes_total', { netns: left, device: 'nxa0' })[0]!.labels.deviceIP, '10.199.7.1');
  assert.is(find(samples, 'netns_network_namespace', {}).filter((s) => s.labels.netns!.startsWith(TEST_PREFIX)).length, 4);
  assert.is(find(samples, 'netns_network_namespace', { netns: odd }).length, 1, 'odd name comes back intact after escaping');
});

test('host devices never appear; only the namespace\'s own', () => {
  const hostDevices = sh('ls', ['/sys/class/net']).trim().split('\n');
  const config = writeConfig({ namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}` } });
  const samples = parseExposition(runAgent(['--dry-run', '--config', config]).stdout);
  const seen = new Set(find(samples, 'netns_network_rx_bytes_total', {}).map((s) => `${s.labels.netns}/${s.labels.device}`));
  assert.equal([...seen].sort(), [`${down}/nxd0`, `${down}/nxd1`, `${left}/nxa0`, `${odd}/nxo0`, `${odd}/nxo1`, `${right}/nxb0`].sort());
  for (const dev of hostDevices) if (!dev.startsWith('nx')) assert.not.ok([...seen].some((key) => key.endsWith(`/${dev}`)), `host device ${dev} leaked`);
});

test('namespace and device filters; the blacklist wins', () => {
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}`, blacklist_pattern: 'right|down' },
    device_filter: { whitelist_pattern: '^nx', blacklist_pattern: 'nxo1' },
  });
  const samples = parseExposition(runAgent(['--dry-run', '--config', config]).stdout);
  const seen = find(samples, 'netns_network_rx_bytes_total', {}).map((s) => `${s.labels.netns}/${s.labels.device}`).sort();
  assert.equal(seen, [`${left}/nxa0`, `${odd}/nxo0`].sort());
});

test('proc_metrics are read inside each namespace', async () => {
  inNs(left, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  inNs(right, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
  inNs(left, ['sysctl', '-q', '-w', 'net.core.somaxconn=4096']); // several digits: a 1-byte reader would see 4
  inNs(right, ['sysctl', '-q', '-w', 'net.core.somaxconn=123457']);
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}(left|right)$` },
    proc_metrics: {
      ip_forward: { file: 'sys/net/ipv4/ip_forward', type: 'gauge' },
      somaxconn: { file: '/proc/sys/net/core/somaxconn', type: 'gauge' },
      missing: { file: 'sys/net/nothing/here' },
    },
  });
  const run = runAgent(['--dry-run', '--config', config]);
  const samples = parseExposition(run.stdout);
  assert.is(find(samples, 'netns_network_ip_forward', { netns: left })[0]?.value, 1);
  assert.is(find(samples, 'netns_network_ip_forward', { netns: right })[0]?.value, 0);
  assert.is(find(samples, 'netns_network_somaxconn', { netns: left })[0]?.value, 4096);
  assert.is(find(samples, 'netns_network_somaxconn', { netns: right })[0]?.value, 123457);
  assert.is(find(samples, 'netns_network_missing_total', {}).length, 0, 'an unreadable file is omitted, not -1');
  assert.is(find(samples, 'netns_exporter_read_errors_total', { reason: 'proc_file' })[0]?.value, 2);
});

test('a namespace deleted during the cycle is skipped and counted, the rest is read', async () => {
  const doomed = addNamespace('doomed');
  const options = testReaderOptions({ threads: 2 });
  const nsenter = new NsenterReader(options);
  const reader: Reader = {
    inUse: 'nsenter',
    held: null,
    start: async () => {},
    stop: async () => {},
    collect: async (namespaces) => {
      if (namespaces.some((ns) => ns.name === doomed)) deleteNamespace(doomed); // gone after listing, before reading
      return nsenter.collect(namespaces);
    },
  };
  const snapshot = await collectCycle(await startedCollection('nsenter', options, reader), only);
  const result = snapshot.results.find((r) => r.ns.name === doomed);
  assert.ok(result !== undefined && !result.ok);
  if (!result.ok) assert.is(result.reason, 'vanished');
  assert.is(snapshot.results.filter((r) => r.ok).length, 4);
});

test('a hung read is killed at the timeout and does not hold up the others', async () => {
  const dir = tempDir('hang');
  const fakeIp = path.join(dir, 'ip');
  // Hangs only inside the `down` namespace (recognised by its inode), like a wedged netlink dump.
  const inode = sh('stat', ['-L', '-c', '%i', `/run/netns/${down}`]).trim();
  writeFileSync(fakeIp, `#!/bin/sh\n[ "$(readlink /proc/self/ns/net)" = "net:[${inode}]" ] && sleep 30\nexec ip "$@"\n`);
  chmodSync(fakeIp, 0o755);
  const reader = await startedCollection('nsenter', testReaderOptions({ timeoutMs: 800, commands: { ip: fakeIp } }));
  const started = Date.now();
  const snapshot = await collectCycle(reader, only);
  const elapsed = Date.now() - started;
  const hung = snapshot.results.find((r) => r.ns.name === down);
  assert.ok(hung !== undefined && !hung.ok, 'the hung read failed');
  if (!hung.ok) assert.is(hung.reason, 'timeout');
  assert.ok(elapsed < 5_000, `cycle took ${elapsed} ms`);
  assert.is(snapshot.results.filter((r) => r.ok).length, 3);
  await reader.stop();
  const chain = () => readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(fakeIp);
    } catch {
      return false;
    }
  });
  // A killed process is gone once its parent reaps it: wait for that (bounded) instead of a fixed sleep.
  let survivors = chain();
  for (const deadline = Date.now() + 2_000; survivors.length > 0 && Date.now() < deadline; survivors = chain()) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.equal(survivors, [], 'no process of the hung chain is left');
});

/**
 * A stand-in setns worker: answers every read with a made-up device `fake0` and honest bookkeeping
 * (the pool takes those readings as the workers'), except for the namespace `doubtful`, for which it
 * claims another inode (the pool's doubt).
 */
function doubtfulWorker(doubtful: number): URL {
  const home = statSync('/proc/self/ns/net').ino;
  const file = path.join(tempDir('doubt-worker'), 'worker.mjs');
  writeFileSync(file, [
    `import { parentPort } from 'node:worker_threads';`,
    `parentPort.postMessage({ kind: 'ready', homeInode: ${home} });`,
    `parentPort.on('message', (batch) => parentPort.postMessage({ kind: 'batch', numbers: Float64Array.from([27, ...new Array(27).fill(0), 0, 0, 0, 0]), names: [], texts: ['fake0\\0UP\\0\\0ether\\0'], replies: Array.from({ length: batch.reads.length / 3 }, (_, i) => ({ id: batch.reads[3 * i], inode: batch.reads[3 * i + 1] })).map((r) => ({ id: r.id, durationMs: 1,`,
    `  entered: true, heldFds: null, insideInode: r.inode === ${doubtful} ? r.inode + 1 : r.inode, afterInode: ${home}, poisoned: false,`,
    `  outcome: { ok: true, at: 0, text: 0 } })) }));`,
  ].join('\n'));
  return new URL(`file://${file}`);
}

test('fallback is the collection\'s policy: nsenter reads exactly what the setns reader hands back, the doubtful one and the rest of its cycle', async () => {
  const { namespaces } = await discoverNamespaces({ netnsDirs: ['/run/netns'], filter: only, procRoot: '/proc' });
  assert.is(namespaces.length, 4);
  // One worker, batches of 2: a doubt about the last namespace hands back that one alone; about the
  // first, the rest of its batch and the queued batch with it (the rest of the cycle).
  for (const [doubtful, handedBack] of [[namespaces[3]!, [namespaces[3]!]], [namespaces[0]!, namespaces]] as const) {
    const options = testReaderOptions({ workers: 1, workerUrl: doubtfulWorker(doubtful.inode) });
    const real = new NsenterReader(options);
    const nsenterRead: Namespace[][] = [];
    const nsenter: Reader = { inUse: 'nsenter', held: null, start: () => real.start(), stop: () => real.stop(), collect: (list) => {
      nsenterRead.push([...list]);
      return real.collect(list);
    } };
    const collection = await startedCollection('setns', options, nsenter);
    try {
      const snapshot = await collectCycle(collection, only);
      assert.equal(nsenterRead.map((list) => list.map((ns) => ns.name).sort()), [handedBack.map((ns) => ns.name).sort()], `doubt about ${doubtful.name}`);
      assert.equal(snapshot.results.map((result) => result.ns.name), namespaces.map((ns) => ns.name), 'one result per namespace, in discovery order');
      for (const result of snapshot.results) {
        assert.ok(result.ok, result.ns.name);
        const byWorker = result.ok && result.sample.interfaces.some((device) => device.name === 'fake0');
        assert.is(byWorker, !handedBack.some((ns) => ns.name === result.ns.name), `${result.ns.name}: read by ${byWorker ? 'the worker' : 'nsenter'}`);
      }
    } finally {
      await collection.stop();
    }
  }
});

runWhen(test, ['root', 'ip', 'nsenter', 'ping'], 'collection tests');
