import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentLoop } from '../../agent/loop.js';
import { Collection } from '../../agent/collect.js';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { Reader } from '../../agent/readers/reader.js';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { configFrom } from '../helpers/config.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, cleanupNamespaces, deleteNamespace, TEST_PREFIX } from '../helpers/netns.js';
import { faultServer, memoryLogger } from '../helpers/remoteWrite.js';
import { testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/** Noise on a bad day: each kind of trouble is logged once and counted for what it is. */
const test = suite('a bad day in the log: vanished namespaces, a hung receiver, a namespace being created');
const build = { version: 'test', revision: 'test', nodeversion: process.version };
let root = '';
const mounts: string[] = [];

test.before(() => {
  root = tempDir('noise');
});

test.after(() => {
  for (const target of mounts.reverse()) execFileSync('umount', [target]);
  rmSync(root, { recursive: true, force: true });
  cleanupNamespaces();
});

const warnings = (lines: Record<string, unknown>[]) => lines.filter((line) => line.level === 40);

test('namespaces that vanish during their read: one line for the cycle, with the count', async () => {
  const names = ['va', 'vb', 'vc'].map((suffix) => addNamespace(suffix));
  addNamespace('vstays');
  const config = configFrom({ namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}v` }, read_timeout: '5s', interval: '10s' });
  const { logger, lines } = memoryLogger();
  const options = testReaderOptions();
  const real = new NsenterReader(options);
  // The namespaces go the moment their cycle's reads start, as under churn; one stays.
  const churning: Reader = { inUse: real.inUse, held: null, start: () => real.start(), stop: () => real.stop(), collect: (namespaces) => {
    for (const ns of namespaces) if (names.includes(ns.name)) deleteNamespace(ns.name);
    return real.collect(namespaces);
  } };
  const loop = new AgentLoop({ config, collection: new Collection('nsenter', options, churning), targets: [] }, { logger, build });
  try {
    const { snapshot } = await loop.runCycle(false, false);
    assert.equal(snapshot.results.map((result) => (result.ok ? 'ok' : result.reason)), ['vanished', 'vanished', 'vanished', 'ok']);
  } finally {
    await loop.stop(Date.now() + 5_000);
  }
  const mentions = lines().filter((line) => line.level as number >= 30 && JSON.stringify(line).includes('vanish'));
  assert.is(mentions.length, 1, JSON.stringify(mentions));
  assert.is(mentions[0]!.vanished, names.length, JSON.stringify(mentions[0]));
});

test('a hung receiver is a slow push, not a slow read: counted and worded apart, warned once', async () => {
  addNamespace('hung');
  const hung = await faultServer(() => undefined);
  const config = configFrom({
    interval: '1s',
    read_timeout: '900ms',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}hung$` },
    push: { pushgateway: { url: hung.url.replace('/api/v1/write', ''), timeout: '5s' } },
  });
  const { logger, lines } = memoryLogger();
  const target = new PushgatewayTarget(config.push.pushgateway!, { logger, version: 'test', env: {} });
  await target.start();
  const loop = new AgentLoop({ config, collection: new Collection('nsenter', testReaderOptions({ timeoutMs: 900 })), targets: [target] }, { logger, build });
  loop.start();
  try {
    const deadline = Date.now() + 20_000;
    while (hung.requests.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(hung.requests.length >= 4, `${hung.requests.length} pushes reached the receiver`);
    const registry = loop.lastRegistry!;
    const samples = parseExposition(await registry.metrics());
    assert.is(find(samples, 'netns_exporter_cycles_overrun_total', {})[0]?.value, 0, 'no read overran');
    assert.ok((find(samples, 'netns_exporter_pushes_overrun_total', {})[0]?.value ?? 0) >= 2, 'pushes that ran past the interval are counted');
  } finally {
    await loop.stop(Date.now() + 3_000);
    await hung.close();
  }
  const overrunLines = warnings(lines()).filter((line) => /longer than the interval|past the interval/.test(String(line.msg)));
  assert.is(overrunLines.length, 1, JSON.stringify(overrunLines));
  assert.match(String(overrunLines[0]!.msg), /push/);
  assert.not.match(String(overrunLines[0]!.msg), /collection|read/);
});

test('a namespace file being created (its bind mount not yet in place) is not warned about as "not on nsfs"', async () => {
  const dir = path.join(root, 'netns');
  mkdirSync(dir);
  const name = addNamespace('creating');
  const config = configFrom({ netns_dirs: [dir], read_timeout: '5s', interval: '10s' });
  const { logger, lines } = memoryLogger();
  const loop = new AgentLoop({ config, collection: new Collection('nsenter', testReaderOptions()), targets: [] }, { logger, build });
  try {
    // What `ip netns add` does: an empty file first, then the bind mount onto it.
    const file = path.join(dir, 'router-new');
    writeFileSync(file, '');
    const before = await loop.runCycle(false, false);
    assert.equal(before.snapshot.results, [], 'not read yet');
    execFileSync('mount', ['--bind', `/run/netns/${name}`, file]);
    mounts.push(file);
    const after = await loop.runCycle(false, false);
    assert.equal(after.snapshot.results.map((result) => [result.ns.name, result.ok]), [['router-new', true]]);
    assert.equal(warnings(lines()).map((line) => line.problem ?? line.msg), [], 'no warning');
    // A file that stays what it is, though, is warned about.
    writeFileSync(path.join(dir, 'junk'), 'not a namespace');
    await loop.runCycle(false, false);
    await loop.runCycle(false, false);
    const notNsfs = warnings(lines()).filter((line) => String(line.problem).includes('not on nsfs'));
    assert.is(notNsfs.length, 1, JSON.stringify(warnings(lines())));
  } finally {
    await loop.stop(Date.now() + 5_000);
  }
});

runWhen(test, ['root', 'ip', 'nsenter'], 'log noise tests');
