import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { Collection } from '../../agent/collect.js';
import type { ReaderOptions } from '../../agent/readers/options.js';
import type { Reader } from '../../agent/readers/reader.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import { threadProcPath } from '../../agent/readers/setnsProtocol.js';
import type { CollectorsConfig, ProcMetricConfig } from '../../shared/config/configTypes.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { addNamespace, addVeth, cleanupNamespaces, deleteNamespace, inNs, kernelStat, sh, TEST_PREFIX } from '../helpers/netns.js';
import { collectCycle, readAll, readerCycle, readOne, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * The setns reader against the nsenter reader on the same real namespaces: identical samples,
 * the kernel's own counters, and the safety net (timeouts, lying or missing workers, vanished
 * namespaces, thousands of enter/leave cycles) that keeps every thread in its own namespace.
 * test/integration/collect.test.ts covers the nsenter reader alone.
 */
const test = suite('setns reader against nsenter');
// Only this suite's namespaces: other suites of the same run share TEST_PREFIX.
const only = { whitelist: new RegExp(`^${TEST_PREFIX}r-`), blacklist: null };
// Device names carry the pid: veth pairs are born on the host, where other test runs create theirs.
const tag = String(process.pid % 100_000);
const dev = (suffix: string) => `s${tag}${suffix}`;
/** Follows the thread only through /proc/thread-self; a namespace without IPv6 has it empty. */
const PROC: ProcMetricConfig[] = [
  { name: 'if_inet6', file: 'net/if_inet6', type: 'gauge' },
  { name: 'missing', file: 'sys/net/nothing/here', type: 'gauge' },
];
/** Every collector and every netstat field: both readers must agree on all of them. */
const ALL_COLLECTORS: CollectorsConfig = configFrom({
  collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true }, conntrack: { enabled: true } },
}).collectors;
let left = '';
let right = '';
let down = '';
let odd = '';
const silentLogger = () => {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), lines };
};

const options = (overrides: Partial<ReaderOptions> = {}) => testReaderOptions({ procMetrics: PROC, collectors: ALL_COLLECTORS, ...overrides });
const setnsReader = (overrides: Partial<ReaderOptions> = {}) => new SetnsReader(options(overrides));

/** A cycle of this reader alone: readerCycle fails the test when it hands a namespace back (no nsenter behind its back). */
function collect(reader: Reader): Promise<{ results: NamespaceResult[] }> {
  return readerCycle(reader, only);
}

/** A cycle of the collection with `setting`: the setns reader, and nsenter for what it hands back. */
function collectWith(collection: Collection) {
  return collectCycle(collection, only);
}

/** The results as plain data: a reader may hand samples over packed, made into objects when asked. */
const comparable = (results: readonly NamespaceResult[]) => results.map((result) => ({
  ...result,
  durationMs: 0,
  ...(result.ok ? { sample: { interfaces: result.sample.interfaces, proc: result.sample.proc, procErrors: result.sample.procErrors, collectors: result.sample.collectors } } : {}),
}));

/** Namespace inodes of every thread of this process: after any read, all must be the process's own. */
function threadNamespaces(): number[] {
  return readdirSync('/proc/self/task').map((tid) => statSync(`/proc/self/task/${tid}/ns/net`).ino);
}

test.before(() => {
  left = addNamespace('r-l');
  right = addNamespace('r-r');
  down = addNamespace('r-d');
  // `ip netns add` takes any name that is a valid file name: no '/', not '.' or '..'.
  odd = addNamespace(`r-o d'd"ü`);
  addVeth({ ns: left, dev: dev('a') }, { ns: right, dev: dev('b') });
  inNs(left, ['ip', 'addr', 'add', '10.199.9.1/30', 'dev', dev('a')]);
  inNs(right, ['ip', 'addr', 'add', '10.199.9.2/30', 'dev', dev('b')]);
  // Fixed MACs and permanent neighbours: no ARP probes move a counter after the pings are over.
  inNs(left, ['ip', 'link', 'set', dev('a'), 'address', '02:00:00:00:09:01']);
  inNs(right, ['ip', 'link', 'set', dev('b'), 'address', '02:00:00:00:09:02']);
  inNs(left, ['ip', 'neigh', 'add', '10.199.9.2', 'lladdr', '02:00:00:00:09:02', 'dev', dev('a'), 'nud', 'permanent']);
  inNs(right, ['ip', 'neigh', 'add', '10.199.9.1', 'lladdr', '02:00:00:00:09:01', 'dev', dev('b'), 'nud', 'permanent']);
  // addNamespace turns IPv6 off (no autoconfiguration chatter); on lo it stays quiet, so it may
  // carry the IPv6 addresses whose spelling both readers must agree on.
  for (const ns of [left, odd]) inNs(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.lo.disable_ipv6=0']);
  for (const [ns, device] of [[left, dev('a')], [right, dev('b')], [left, 'lo'], [odd, 'lo']] as const) inNs(ns, ['ip', 'link', 'set', device, 'up']);
  inNs(left, ['ip', 'addr', 'add', 'fd00:9::1/64', 'dev', 'lo']);
  addVeth({ ns: down, dev: dev('c') }, { ns: down, dev: dev('d') }); // both ends inside, one up: LOWERLAYERDOWN
  inNs(down, ['ip', 'link', 'set', dev('c'), 'up']);
  // Traffic between the test namespaces' own addresses only; it is over before anything is compared.
  inNs(left, ['ping', '-c', '5', '-i', '0.2', '-W', '1', '10.199.9.2']);
});

test.after(cleanupNamespaces);

test('both readers give identical samples: devices, states, MACs, addresses, 24 statistics, proc values, collectors', async () => {
  let setns = setnsReader();
  const nsenter = new NsenterReader(options());
  try {
    // IPv6 neighbour discovery can still move a counter between the two reads: compare again then.
    let a: { results: NamespaceResult[] } | null = null;
    let b: { results: NamespaceResult[] } | null = null;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      setns = setnsReader();
      await setns.start();
      // The first cycle opens each namespace's handles, the second reads them without entering.
      await collect(setns);
      // The setns workers did the reading (collect fails the test when one is handed back).
      a = await collect(setns);
      assert.is(setns.held.held, 4);
      // The held sockets count in their namespaces' `sockets: used` while open (the setns reader
      // leaves its own out), and a closed one for a moment after: let them go before nsenter reads.
      await setns.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      b = await collect(nsenter);
      if (JSON.stringify(comparable(a.results)) === JSON.stringify(comparable(b.results))) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.is(a!.results.length, 4);
    assert.ok(a!.results.every((result) => result.ok), JSON.stringify(a!.results.filter((r) => !r.ok)));
    assert.equal(comparable(a!.results), comparable(b!.results));
    const byName = new Map(a!.results.map((result) => [result.ns.name, result.ok ? result.sample : null]));
    const states = (ns: string) => Object.fromEntries(byName.get(ns)!.interfaces.map((i) => [i.name, i.operstate]));
    assert.equal(states(down), { lo: 'DOWN', [dev('c')]: 'LOWERLAYERDOWN', [dev('d')]: 'DOWN' });
    assert.is(states(left)[dev('a')], 'UP');
    const addresses = (device: string) => byName.get(left)!.interfaces.find((i) => i.name === device)!.addresses.map((x) => `${x.address}/${x.prefixLength}`);
    assert.equal(addresses(dev('a')), ['10.199.9.1/30']);
    assert.equal(addresses('lo'), ['127.0.0.1/8', 'fd00:9::1/64', '::1/128']);
    assert.is(byName.get(odd)!.proc.if_inet6, 1, 'only ::1 in the odd namespace');
    const collectors = byName.get(left)!.collectors;
    assert.equal(collectors.errors, []);
    assert.ok(collectors.netstat.Ip_InReceives! >= 5, 'the pings\' IP packets, counted in the namespace');
    assert.ok(Object.keys(collectors.netstat).length > 100, 'every netstat field');
    assert.type(collectors.sockstat.sockets_used, 'number');
  } finally {
    await setns.stop();
  }
});

test('every statistic equals the kernel\'s own counter; host devices never appear', async () => {
  const setns = setnsReader();
  try {
    const snapshot = await collect(setns);
    const hostOnly = sh('ls', ['/sys/class/net']).trim().split('\n').filter((name) => name !== 'lo');
    for (const result of snapshot.results) {
      assert.ok(result.ok, result.ns.name);
      if (!result.ok) continue;
      const own = inNs(result.ns.name, ['ls', '/sys/class/net']).trim().split('\n').sort();
      assert.equal(result.sample.interfaces.map((i) => i.name).sort(), own, `devices of ${result.ns.name}`);
      for (const device of result.sample.interfaces) {
        assert.not.ok(hostOnly.includes(device.name), `host device ${device.name} in ${result.ns.name}`);
        for (const stat of INTERFACE_STATS) {
          assert.is(device.stats[stat], kernelStat(result.ns.name, device.name, stat), `${stat} of ${result.ns.name}/${device.name}`);
        }
      }
    }
    const rightSample = snapshot.results.find((r) => r.ns.name === right);
    assert.ok(rightSample?.ok && rightSample.sample.interfaces.find((i) => i.name === dev('b'))!.stats.rx_packets >= 5, 'the pings arrived');
  } finally {
    await setns.stop();
  }
});

test('proc_metrics follow the worker thread: /proc/sys/net and /proc/net are the namespace\'s', async () => {
  inNs(left, ['sysctl', '-q', '-w', 'net.core.somaxconn=1111']);
  inNs(right, ['sysctl', '-q', '-w', 'net.core.somaxconn=2222']);
  const procMetrics: ProcMetricConfig[] = [...PROC, { name: 'somaxconn', file: 'sys/net/core/somaxconn', type: 'gauge' }];
  const setns = setnsReader({ procMetrics });
  try {
    const snapshot = await collect(setns);
    const proc = (ns: string) => {
      const result = snapshot.results.find((r) => r.ns.name === ns);
      return result?.ok ? result.sample : null;
    };
    for (const ns of [left, right, down, odd]) {
      assert.is(proc(ns)?.proc.somaxconn, Number(inNs(ns, ['sysctl', '-n', 'net.core.somaxconn']).trim()), ns);
    }
    assert.is(proc(left)?.proc.somaxconn, 1111);
    assert.is(proc(right)?.proc.somaxconn, 2222);
    // The main thread's /proc/net/if_inet6 lists the host's addresses; the down namespace has none.
    assert.ok(readFileSync('/proc/net/if_inet6', 'utf8').length > 0);
    assert.ok(proc(down)?.procErrors.includes('if_inet6'));
    assert.ok(proc(down)?.procErrors.includes('missing'));
  } finally {
    await setns.stop();
  }
  assert.is(threadProcPath('/proc', 'net/dev'), '/proc/thread-self/net/dev');
  assert.is(threadProcPath('/proc', 'self/net/snmp'), '/proc/thread-self/net/snmp');
  assert.is(threadProcPath('/proc', 'sys/net/ipv4/ip_forward'), '/proc/sys/net/ipv4/ip_forward');
});

test('a namespace deleted between listing and reading is "vanished"; a reused file too', async () => {
  const doomed = addNamespace('r-gone');
  const setns = setnsReader();
  try {
    const ns: Namespace = { name: doomed, path: `/run/netns/${doomed}`, inode: statSync(`/run/netns/${doomed}`).ino };
    deleteNamespace(doomed);
    // readOne fails the test if the workers hand the namespace back: they answer for it themselves.
    const gone = await readOne(setns, ns);
    assert.is(gone.ok ? 'ok' : gone.reason, 'vanished', JSON.stringify(gone).slice(0, 300));
    // The file now names another namespace (another inode): never read it under the old name.
    const other = await readOne(setns, { ...ns, path: `/run/netns/${left}` });
    assert.is(other.ok ? 'ok' : other.reason, 'vanished');
  } finally {
    await setns.stop();
  }
});

test('thousands of enter/leave cycles: every sample names its own namespace, every thread ends at home', async () => {
  const setns = setnsReader({ workers: 3 });
  const home = statSync('/proc/self/ns/net').ino;
  try {
    const snapshot = await collect(setns);
    const namespaces = snapshot.results.map((result) => result.ns);
    const expected = new Map(snapshot.results.map((r) => [r.ns.name, r.ok ? r.sample.interfaces.map((i) => i.name).join(',') : '']));
    let reads = 0;
    for (let round = 0; round < 600; round += 1) {
      const results = await readAll(setns, namespaces, true);
      for (const result of results) {
        assert.ok(result.ok, result.ns.name);
        if (result.ok) assert.is(result.sample.interfaces.map((i) => i.name).join(','), expected.get(result.ns.name));
        reads += 1;
      }
    }
    assert.is(reads, 2_400);
    assert.ok(threadNamespaces().every((ino) => ino === home), 'some thread was left in another namespace');
  } finally {
    await setns.stop();
  }
});

/** A stand-in worker script: `body` runs in a worker_threads worker with `parentPort` in scope. */
function standInWorker(name: string, body: string): URL {
  const file = path.join(tempDir('setns-worker'), `${name}.mjs`);
  writeFileSync(file, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
  return new URL(`file://${file}`);
}

test('a hung worker is terminated on the timeout; the rest of the cycle reads with nsenter, the next with setns', async () => {
  const home = statSync('/proc/self/ns/net').ino;
  // Answers ready, then never answers a read.
  const hung = standInWorker('hung', `parentPort.postMessage({ kind: 'ready', homeInode: ${home} });\nparentPort.on('message', () => {});`);
  const { logger, lines } = silentLogger();
  const setns = await startedCollection('setns', options({ workerUrl: hung, workers: 1, timeoutMs: 300, logger }));
  try {
    const snapshot = await collectWith(setns);
    const failed = snapshot.results.filter((r) => !r.ok);
    assert.is(failed.length, 1, 'only the first read waited for the hung worker');
    assert.is(failed[0]!.ok ? '' : failed[0]!.reason, 'timeout');
    assert.is(snapshot.results.filter((r) => r.ok).length, 3, 'the rest came from nsenter');
    assert.ok(lines.some((line) => line.includes('timed out')), lines.join(''));
    assert.ok(lines.some((line) => line.includes('the rest of this cycle reads with nsenter')), 'the rest of the cycle went to nsenter');
    await collectWith(setns);
    assert.ok(lines.some((line) => line.includes('this cycle reads with setns workers again')), 'the next cycle tries the (replaced) worker again');
  } finally {
    await setns.stop();
  }
});

test('a worker that reports the wrong namespace is replaced and its read is done again with nsenter', async () => {
  const home = statSync('/proc/self/ns/net').ino;
  // Claims to have read another namespace than the one asked for (inode + 1) with a made-up device.
  const liar = standInWorker('liar', [
    `parentPort.postMessage({ kind: 'ready', homeInode: ${home} });`,
    `parentPort.on('message', (batch) => parentPort.postMessage({ kind: 'batch', numbers: Float64Array.from([27, ...new Array(27).fill(0), 0, 0, 0, 0]), names: [], texts: ['wrong0\\0UP\\0\\0ether\\0'], replies: Array.from({ length: batch.reads.length / 3 }, (_, i) => ({ id: batch.reads[3 * i], inode: batch.reads[3 * i + 1] })).map((r) => ({ id: r.id, durationMs: 1,`,
    `  entered: true, heldFds: null, insideInode: r.inode + 1, afterInode: ${home}, poisoned: false,`,
    `  outcome: { ok: true, at: 0, text: 0 } })) }));`,
  ].join('\n'));
  const { logger, lines } = silentLogger();
  const setns = await startedCollection('setns', options({ workerUrl: liar, workers: 2, logger, procMetrics: [] }));
  try {
    const snapshot = await collectWith(setns);
    assert.is(snapshot.results.length, 4);
    for (const result of snapshot.results) {
      assert.ok(result.ok, result.ns.name);
      if (result.ok) assert.not.ok(result.sample.interfaces.some((i) => i.name === 'wrong0'), `a lie reached ${result.ns.name}`);
    }
    assert.ok(lines.some((line) => line.includes('not ')), lines.join(''));
  } finally {
    await setns.stop();
  }
});

test('when the workers cannot load koffi, the reader says so once and reads everything with nsenter', async () => {
  const broken = standInWorker('nokoffi', `parentPort.postMessage({ kind: 'init-failed', message: 'Cannot find module koffi' });`);
  const { logger, lines } = silentLogger();
  const setns = await startedCollection('setns', options({ workerUrl: broken, workers: 2, logger, procMetrics: [] }));
  try {
    const first = await collectWith(setns);
    const second = await collectWith(setns);
    assert.is(first.results.length, 4);
    assert.ok([...first.results, ...second.results].every((r) => r.ok));
    assert.is(setns.inUse, 'nsenter');
    assert.is(lines.filter((line) => line.includes('setns reader unavailable')).length, 1, lines.join(''));
    assert.ok(lines.some((line) => line.includes('Cannot find module koffi')));
  } finally {
    await setns.stop();
  }
});

runWhen(test, ['root', 'ip', 'nsenter', 'ping'], 'setns reader integration tests');
