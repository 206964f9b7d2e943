import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { ReaderOptions } from '../../agent/readers/options.js';
import type { Reader } from '../../agent/readers/reader.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import { compareProofReadings } from '../../shared/readerProof.js';
import type { CollectorsConfig, ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { NamespaceResult, NamespaceSample } from '../../shared/snapshot.js';
import { waitFor } from '../helpers/agent.js';
import { configFrom } from '../helpers/config.js';
import { addBareNamespaces, addNamespace, addVeth, cleanupNamespaces, deleteNamespace, inNs, sh, TEST_PREFIX } from '../helpers/netns.js';
import { collectCycle, readerCycle, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';

/**
 * The setns reader keeps each namespace's socket and files open between cycles and re-reads them
 * without entering it; it must never keep a deleted namespace alive (a held socket would), must
 * give the values the entering readers give, and must leave no descriptor behind.
 */
const test = suite('held handles');
const only = (tag: string) => ({ whitelist: new RegExp(`^${TEST_PREFIX}${tag}`), blacklist: null });
const tag = String(process.pid % 100_000);
const dev = (suffix: string) => `h${tag}${suffix}`;
const PROC: ProcMetricConfig[] = [{ name: 'conntrack_count', file: 'sys/net/netfilter/nf_conntrack_count', type: 'gauge' }];
const ALL_COLLECTORS: CollectorsConfig = configFrom({
  collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true }, conntrack: { enabled: true } },
}).collectors;
const options = (overrides: Partial<ReaderOptions> = {}) => testReaderOptions({ procMetrics: PROC, collectors: ALL_COLLECTORS, ...overrides });
const setnsReader = (overrides: Partial<ReaderOptions> = {}) => new SetnsReader(options(overrides));

/** A cycle of this reader alone: every namespace read by it (readerCycle fails the test otherwise). */
function collect(reader: Reader, prefix: string): Promise<{ results: NamespaceResult[] }> {
  return readerCycle(reader, only(prefix));
}

const openFds = () => readdirSync('/proc/self/fd').length;
const sockets = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}).length;
const hostLinkExists = (name: string) => sh('ip', ['-o', 'link', 'show']).split('\n').some((line) => line.split(': ')[1]?.split('@')[0] === name);

/** How long the host's end of a veth outlives `ip netns delete` of the namespace holding the other end. */
async function vethGoneAfterDelete(ns: string, hostEnd: string, limitMs: number): Promise<number | null> {
  const started = Date.now();
  deleteNamespace(ns);
  while (Date.now() - started < limitMs) {
    if (!hostLinkExists(hostEnd)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

function sampleOf(snapshot: { results: readonly NamespaceResult[] }, name: string): NamespaceSample {
  const result = snapshot.results.find((r) => r.ns.name === name);
  assert.ok(result?.ok, `${name}: ${JSON.stringify(result)}`);
  return (result as { sample: NamespaceSample }).sample;
}

test.after(cleanupNamespaces);

test('a namespace is entered once: its socket and files stay open, later cycles open nothing', async () => {
  addBareNamespaces('hk-', 3);
  const reader = setnsReader();
  try {
    await reader.start();
    const before = sockets();
    const first = await collect(reader, 'hk-');
    assert.is(first.results.filter((r) => r.ok).length, 3);
    assert.equal(reader.held, { held: 3, limit: reader.held.limit });
    assert.is(sockets() - before, 3, 'one rtnetlink socket held per namespace');
    const fds = openFds();
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const next = await collect(reader, 'hk-');
      assert.is(next.results.filter((r) => r.ok).length, 3);
      assert.is(openFds(), fds, 'a steady cycle opens and keeps nothing new');
    }
  } finally {
    await reader.stop();
  }
});

test('addresses of a held namespace: its address dump is kept while nothing changes, and every change shows at the next cycle', async () => {
  const [ns] = addBareNamespaces('ha-', 1);
  const addresses = (snapshot: { results: readonly NamespaceResult[] }) => sampleOf(snapshot, ns!).interfaces.flatMap((device) => device.addresses.map((a) => `${device.name} ${a.address}/${a.prefixLength}`));
  const reader = setnsReader();
  try {
    await reader.start();
    assert.equal(addresses(await collect(reader, 'ha-')), []);
    inNs(ns!, ['ip', 'link', 'set', 'lo', 'up']);
    const up = ['lo 127.0.0.1/8', 'lo ::1/128'];
    assert.equal(addresses(await collect(reader, 'ha-')), up, 'lo up: its addresses, seen at once');
    // Two quiet cycles (the kept dump), then changes between cycles.
    assert.equal(addresses(await collect(reader, 'ha-')), up);
    assert.equal(addresses(await collect(reader, 'ha-')), up);
    inNs(ns!, ['ip', 'addr', 'add', '10.79.0.1/32', 'dev', 'lo']);
    assert.equal(addresses(await collect(reader, 'ha-')), ['lo 127.0.0.1/8', 'lo 10.79.0.1/32', 'lo ::1/128']);
    inNs(ns!, ['ip', 'addr', 'del', '127.0.0.1/8', 'dev', 'lo']);
    inNs(ns!, ['ip', '-6', 'addr', 'add', 'fd00:79::1/128', 'dev', 'lo']);
    assert.equal(addresses(await collect(reader, 'ha-')), ['lo 10.79.0.1/32', 'lo fd00:79::1/128', 'lo ::1/128']);
    assert.equal(addresses(await collect(reader, 'ha-')), ['lo 10.79.0.1/32', 'lo fd00:79::1/128', 'lo ::1/128']);
    assert.is(reader.held.held, 1, 'read from its held handles throughout');
  } finally {
    await reader.stop();
  }
});

test('names and states of a held namespace: the text kept on both sides between cycles, every change shown at the next', async () => {
  const [ns] = addBareNamespaces('ht-', 1);
  const devices = (snapshot: { results: readonly NamespaceResult[] }) => sampleOf(snapshot, ns!).interfaces.map((device) => `${device.name} ${device.operstate} ${device.mac}`);
  const reader = setnsReader();
  try {
    await reader.start();
    const first = devices(await collect(reader, 'ht-'));
    assert.equal(first, ['lo DOWN 00:00:00:00:00:00']);
    assert.equal(devices(await collect(reader, 'ht-')), first, 'the same text, kept');
    inNs(ns!, ['ip', 'link', 'add', 'hnx0', 'type', 'veth', 'peer', 'name', 'hny0']);
    inNs(ns!, ['ip', 'link', 'set', 'hnx0', 'address', '02:00:00:00:79:01']);
    inNs(ns!, ['ip', 'link', 'set', 'hny0', 'address', '02:00:00:00:79:02']);
    const added = ['lo DOWN 00:00:00:00:00:00', 'hny0 DOWN 02:00:00:00:79:02', 'hnx0 DOWN 02:00:00:00:79:01'];
    assert.equal([...devices(await collect(reader, 'ht-'))].sort(), [...added].sort());
    assert.equal([...devices(await collect(reader, 'ht-'))].sort(), [...added].sort(), 'kept again');
    inNs(ns!, ['ip', 'link', 'set', 'hnx0', 'name', 'hnz0']);
    inNs(ns!, ['ip', 'link', 'set', 'lo', 'up']);
    const renamed = ['lo UNKNOWN 00:00:00:00:00:00', 'hny0 DOWN 02:00:00:00:79:02', 'hnz0 DOWN 02:00:00:00:79:01'];
    assert.equal([...devices(await collect(reader, 'ht-'))].sort(), [...renamed].sort());
    assert.equal([...devices(await collect(reader, 'ht-'))].sort(), [...renamed].sort());
    assert.is(reader.held.held, 1, 'read from its held handles throughout');
  } finally {
    await reader.stop();
  }
});

test("a held namespace's results: read into two objects in turn, each as read until the read after next", async () => {
  const [ns] = addBareNamespaces('hr-', 1);
  const resultOf = (snapshot: { results: readonly NamespaceResult[] }) => snapshot.results.find((r) => r.ns.name === ns)!;
  const mtu = (result: NamespaceResult) => (result.ok ? result.sample.interfaces.find((device) => device.name === 'lo')?.mtu : undefined);
  const reader = setnsReader();
  try {
    await reader.start();
    await collect(reader, 'hr-');
    inNs(ns!, ['ip', 'link', 'set', 'lo', 'mtu', '1500']);
    const second = resultOf(await collect(reader, 'hr-'));
    inNs(ns!, ['ip', 'link', 'set', 'lo', 'mtu', '9000']);
    const third = resultOf(await collect(reader, 'hr-'));
    assert.is.not(third, second, 'the next read fills the other result');
    assert.equal([mtu(second), mtu(third)], [1500, 9000], 'the last one stays as it was read');
    inNs(ns!, ['ip', 'link', 'set', 'lo', 'mtu', '4000']);
    const fourth = resultOf(await collect(reader, 'hr-'));
    assert.is(fourth, second, 'the read after next fills the first again: no result made per read');
    assert.equal([mtu(third), mtu(fourth)], [9000, 4000]);
    assert.is(reader.held.held, 1, 'read from its held handles throughout');
  } finally {
    await reader.stop();
  }
});

test('a held namespace is freed the moment it is deleted: the host end of its veth goes within 1 s (and without the agent)', async () => {
  const reader = setnsReader();
  const held = addNamespace('hv-held');
  const control = addNamespace('hv-ctl');
  addVeth({ ns: held, dev: dev('n1') }, { ns: null, dev: dev('h1') });
  addVeth({ ns: control, dev: dev('n2') }, { ns: null, dev: dev('h2') });
  try {
    await reader.start();
    await collect(reader, 'hv-held');
    await collect(reader, 'hv-held');
    assert.is(reader.held.held, 1);
    // The control: the same deletion with nothing of the agent's in the namespace.
    const withoutAgent = await vethGoneAfterDelete(control, dev('h2'), 5_000);
    assert.ok(withoutAgent !== null, 'the control namespace was freed');
    const withAgent = await vethGoneAfterDelete(held, dev('h1'), 1_000);
    assert.ok(withAgent !== null, `the host end ${dev('h1')} still exists 1 s after ip netns delete: the agent keeps the namespace alive (control: ${withoutAgent} ms)`);
    assert.is(reader.held.held, 0);
    // The reader runs on: the next cycle reads what is left, nothing fails.
    const after = await collect(reader, 'hv-');
    assert.is(after.results.length, 0);
  } finally {
    await reader.stop();
  }
});

test('values: held, entering (setns each time) and nsenter readings of namespaces with traffic, in the order A, B, A', async () => {
  const a = addNamespace('hx-a');
  const b = addNamespace('hx-b');
  addVeth({ ns: a, dev: dev('xa') }, { ns: b, dev: dev('xb') });
  inNs(a, ['ip', 'addr', 'add', '10.199.22.1/30', 'dev', dev('xa')]);
  inNs(b, ['ip', 'addr', 'add', '10.199.22.2/30', 'dev', dev('xb')]);
  for (const [ns, device] of [[a, dev('xa')], [b, dev('xb')], [a, 'lo'], [b, 'lo']] as const) inNs(ns, ['ip', 'link', 'set', device, 'up']);
  const held = setnsReader();
  const entering = setnsReader({ heldLimit: 0 });
  const nsenter = new NsenterReader(options());
  // Traffic between the two test namespaces all along: counters move between every reading.
  const ping: ChildProcess = spawn('ip', ['netns', 'exec', a, 'ping', '-q', '-i', '0.01', '-W', '1', '10.199.22.2'], { stdio: 'ignore' });
  try {
    await held.start();
    await entering.start();
    await collect(held, 'hx-');
    assert.is(held.held.held, 2);
    for (const [label, other] of [['nsenter', nsenter], ['entering setns', entering]] as const) {
      // A reader's closed netlink socket counts in `sockets: used` for a moment: each reading waits it out.
      const settle = () => new Promise((resolve) => setTimeout(resolve, 150));
      const first = await collect(held, 'hx-');
      await settle();
      const middle = await collect(other, 'hx-');
      await settle();
      const last = await collect(held, 'hx-');
      for (const ns of [a, b]) {
        const [x, y, z] = [sampleOf(first, ns), sampleOf(middle, ns), sampleOf(last, ns)];
        assert.equal(compareProofReadings(x, y, z), { verdict: 'agree' }, `${label} between two held readings of ${ns}`);
        const rx = (s: NamespaceSample) => s.interfaces.find((i) => i.name === (ns === a ? dev('xa') : dev('xb')))!.stats.rx_packets;
        assert.ok(rx(x) < rx(z), `traffic moved ${ns}'s counters between the held readings`);
        for (const [field, low] of Object.entries(x.collectors.netstat)) {
          const high = z.collectors.netstat[field]!;
          const value = y.collectors.netstat[field]!;
          if (low === high) assert.is(value, low, `${label} netstat ${field} of ${ns}`);
        }
        for (const [field, low] of Object.entries(x.collectors.sockstat)) {
          if (z.collectors.sockstat[field] !== low) continue;
          // nsenter and the entering reader read sockstat while the held reader's socket exists there.
          const own = field === 'sockets_used' ? 1 : 0;
          assert.is(y.collectors.sockstat[field], low + own, `${label} sockstat ${field} of ${ns}`);
        }
        assert.equal(Object.keys(y.collectors.conntrack).sort(), Object.keys(x.collectors.conntrack).sort());
        assert.equal(y.proc, x.proc, `${label} proc values of ${ns}`);
      }
    }
  } finally {
    ping.kill();
    await Promise.all([held.stop(), entering.stop(), nsenter.stop()]);
  }
});

test('churn, 20 namespaces created and deleted 10 times: descriptors back to the start, every deleted namespace freed', async () => {
  const reader = setnsReader();
  try {
    await reader.start();
    await collect(reader, 'hc-');
    const start = openFds();
    for (let round = 0; round < 10; round += 1) {
      const names = addBareNamespaces(`hc-${round}`, 19);
      const withVeth = addNamespace(`hc-${round}v`);
      addVeth({ ns: withVeth, dev: dev(`c${round}`) }, { ns: null, dev: dev(`d${round}`) });
      const snapshot = await collect(reader, 'hc-');
      assert.is(snapshot.results.filter((r) => r.ok).length, 20, `round ${round}`);
      assert.is(reader.held.held, 20);
      for (const name of names) deleteNamespace(name);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.is(reader.held.held, 1, `round ${round}: the deleted namespaces' handles closed at once`);
      // The kernel frees a namespace in its own time, which a busy host (or a batch of deletions
      // just before) stretches: a control without the agent, deleted at the same moment, says how long.
      const control = addNamespace(`hq-${round}`);
      addVeth({ ns: control, dev: dev(`q${round}`) }, { ns: null, dev: dev(`r${round}`) });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const [controlMs, freedMs] = await Promise.all([vethGoneAfterDelete(control, dev(`r${round}`), 10_000), vethGoneAfterDelete(withVeth, dev(`d${round}`), 10_000)]);
      assert.is(reader.held.held, 0, `round ${round}: handles left open`);
      assert.ok(freedMs !== null && controlMs !== null, `round ${round}: a deleted namespace is still alive 10 s later (agent's: ${freedMs}, control: ${controlMs})`);
      assert.ok(freedMs <= Math.max(1_000, controlMs + 1_000), `round ${round}: freed after ${freedMs} ms, the control after ${controlMs} ms`);
    }
    await collect(reader, 'hc-');
    assert.is(reader.held.held, 0);
    assert.is(openFds(), start, 'every descriptor of the churned namespaces closed');
  } finally {
    await reader.stop();
  }
});

test('past the descriptor budget the rest are entered at each read, and read alike; a narrower selection closes handles', async () => {
  addBareNamespaces('hb-', 6);
  const reader = setnsReader({ heldLimit: 4 });
  try {
    await reader.start();
    const before = sockets();
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const snapshot = await collect(reader, 'hb-');
      assert.is(snapshot.results.filter((r) => r.ok).length, 6);
      assert.equal(reader.held, { held: 4, limit: 4 });
    }
    assert.is(sockets() - before, 4);
    // A reload that narrows the filter: the next cycle's namespaces only.
    await collect(reader, 'hb--0000[01]');
    assert.is(reader.held.held, 2);
    assert.is(sockets() - before, 2);
  } finally {
    await reader.stop();
  }
});

test('worker threads grow with the namespaces: one for a few, another past namespacesPerWorker, sharing the new ones', async () => {
  addBareNamespaces('hwa', 1);
  addBareNamespaces('hwb', 4);
  const reader = setnsReader({ workers: 2, namespacesPerWorker: 2 });
  const capped = setnsReader({ workers: 1, namespacesPerWorker: 2 });
  try {
    await reader.start();
    await capped.start();
    assert.equal(reader.heldByWorker(), [0], 'one thread at start');
    assert.is((await collect(reader, 'hwa')).results.filter((r) => r.ok).length, 1);
    assert.equal(reader.heldByWorker(), [1], 'one namespace: still one thread');
    const all = await collect(reader, 'hw');
    assert.is(all.results.filter((r) => r.ok).length, 5);
    const shares = reader.heldByWorker();
    assert.is(shares.length, 2, 'five namespaces at two per thread, at most two threads');
    assert.is(shares[0]! + shares[1]!, 5);
    assert.ok(shares[1]! >= 2, `the new thread took a share of the new namespaces: ${JSON.stringify(shares)}`);
    assert.is((await collect(reader, 'hw')).results.filter((r) => r.ok).length, 5);
    assert.is(reader.heldByWorker().length, 2, 'and keeps it');
    assert.is((await collect(capped, 'hw')).results.filter((r) => r.ok).length, 5);
    assert.equal(capped.heldByWorker(), [5], 'never past `workers`');
  } finally {
    await reader.stop();
    await capped.stop();
  }
});

test('reader threads go by the name netns-reader (top -H, ps -L): one per worker, none once stopped', async () => {
  addBareNamespaces('hq-', 3);
  const reader = setnsReader({ workers: 2, namespacesPerWorker: 2 });
  const named = () => readdirSync('/proc/self/task').filter((task) => {
    try {
      return readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'netns-reader';
    } catch {
      return false; // ended meanwhile
    }
  }).length;
  try {
    await reader.start();
    assert.is((await collect(reader, 'hq-')).results.filter((r) => r.ok).length, 3);
    assert.is(reader.heldByWorker().length, 2);
    assert.is(named(), 2, 'each worker thread names itself');
  } finally {
    await reader.stop();
  }
  // stop() has the workers' exit events; the kernel may list a thread a moment longer while it ends
  // (a CI run under the kernel's cleanup of 1,000 deleted namespaces saw one).
  await waitFor('the reader threads to end', async () => named() === 0, { timeoutMs: 2_000 }).catch(() => undefined);
  assert.is(named(), 0, 'and goes with the reader');
});

test('namespaces that appear between cycles are opened before the next one, which finds them held; others are left alone', async () => {
  const collection = await startedCollection('setns', options());
  const heldNow = () => collection.held?.held ?? -1;
  try {
    addNamespace('hn-first');
    const first = await collectCycle(collection, only('hn-'));
    assert.is(first.results.filter((r) => r.ok).length, 1);
    assert.is(heldNow(), 1);
    addBareNamespaces('hn-new', 5);
    // Not selected by the filter: never opened.
    addBareNamespaces('hz-other', 2);
    const deadline = Date.now() + 3_000;
    while (heldNow() < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(heldNow(), 6, 'the five new namespaces were opened between the cycles');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.is(heldNow(), 6, 'and nothing the filter leaves out');
    const next = await collectCycle(collection, only('hn-'));
    assert.is(next.results.filter((r) => r.ok).length, 6);
    assert.is(heldNow(), 6);
    // One deleted right after it was opened ahead is let go of as any held one is.
    deleteNamespace(`${TEST_PREFIX}hn-new-00000`);
    const gone = Date.now() + 2_000;
    while (heldNow() > 5 && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(heldNow(), 5);
  } finally {
    await collection.stop();
  }
});

runWhen(test, ['root', 'ip', 'nsenter', 'ping'], 'held handles');
