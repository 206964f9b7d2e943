import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Collection } from '../../agent/collect.js';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import { provenReader } from '../../agent/readers/selfTest.js';
import type { ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { Namespace } from '../../shared/snapshot.js';
import { addNamespace, addVeth, cleanupNamespaces, inNs, TEST_PREFIX } from '../helpers/netns.js';
import { collectCycle, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * `reader: auto`: the setns reader is proven on the host at start (koffi loads, a worker enters a
 * namespace and comes home, its reading agrees with nsenter's) and used; on any failure the reason
 * is logged once and nsenter reads everything. The self-test (provenReader) is handed its
 * namespaces by the caller; the collection takes it at start, or on the first cycle that finds one.
 */
const test = suite('reader auto');
const only = { whitelist: new RegExp(`^${TEST_PREFIX}a-`), blacklist: null };
const tag = String(process.pid % 100_000);
const PROC: ProcMetricConfig[] = [
  { name: 'somaxconn', file: 'sys/net/core/somaxconn', type: 'gauge' },
  { name: 'missing', file: 'sys/net/nothing/here', type: 'gauge' },
];
let first: Namespace;

function logged() {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), lines };
}

function namespaceOf(name: string): Namespace {
  const file = `/run/netns/${name}`;
  return { name, path: file, inode: statSync(file).ino };
}

/** The collection of `reader: auto`, and its start on the namespaces a discovery at start would hand it. */
function autoReader(options: { candidates?: Namespace[]; workerUrl?: URL; logger: ReturnType<typeof logged>['logger'] }): { collection: Collection; start: () => Promise<void> } {
  const collection = new Collection('auto', testReaderOptions({ procMetrics: PROC, threads: 4, workers: 2, logger: options.logger, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) }));
  return { collection, start: () => collection.start(options.candidates ?? [first]) };
}

const collect = (collection: Collection) => collectCycle(collection, only);

/** A stand-in worker script: `body` runs in a worker thread with `parentPort` in scope. */
function standInWorker(name: string, body: string): URL {
  const file = path.join(tempDir('auto-worker'), `${name}.mjs`);
  writeFileSync(file, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
  return new URL(`file://${file}`);
}

/** A worker that answers every read with one made-up device; `inside` is the inode it claims to have read. */
function lyingWorker(name: string, inside: string): URL {
  const home = statSync('/proc/self/ns/net').ino;
  return standInWorker(name, [
    `parentPort.postMessage({ kind: 'ready', homeInode: ${home} });`,
    `parentPort.on('message', (batch) => parentPort.postMessage({ kind: 'batch', numbers: Float64Array.from([27, ...new Array(27).fill(0), 0, 0, 0, 0]), names: [], texts: ['wrong0\\0UP\\0\\0ether\\0'], replies: Array.from({ length: batch.reads.length / 3 }, (_, i) => ({ id: batch.reads[3 * i], inode: batch.reads[3 * i + 1] })).map((r) => ({ id: r.id, durationMs: 1,`,
    `  entered: true, heldFds: null, insideInode: ${inside}, afterInode: ${home}, poisoned: false,`,
    `  outcome: { ok: true, at: 0, text: 0 } })) }));`,
  ].join('\n'));
}

const threadsOfProcess = () => readdirSync('/proc/self/task').length;

async function expectNsenter({ collection: reader, start }: ReturnType<typeof autoReader>, lines: string[], reason: RegExp): Promise<void> {
  try {
    await start();
    assert.is(reader.inUse, 'nsenter');
    const a = await collect(reader);
    const b = await collect(reader);
    assert.is(a.results.length, 2);
    for (const result of [...a.results, ...b.results]) {
      assert.ok(result.ok, result.ns.name);
      if (result.ok) assert.not.ok(result.sample.interfaces.some((i) => i.name === 'wrong0'), 'a lie reached a sample');
    }
    const choices = lines.filter((line) => line.includes('reader auto'));
    assert.is(choices.length, 1, lines.join(''));
    assert.match(choices[0]!, /reading with nsenter/);
    assert.match(choices[0]!, reason);
    assert.is(reader.inUse, 'nsenter');
  } finally {
    await reader.stop();
  }
}

test.before(() => {
  const a = addNamespace('a-1');
  const b = addNamespace('a-2');
  addVeth({ ns: a, dev: `t${tag}a` }, { ns: b, dev: `t${tag}b` });
  for (const [ns, device] of [[a, `t${tag}a`], [b, `t${tag}b`], [a, 'lo']] as const) inNs(ns, ['ip', 'link', 'set', device, 'up']);
  inNs(a, ['ip', 'addr', 'add', '10.199.13.1/30', 'dev', `t${tag}a`]);
  first = namespaceOf(a);
});

test.after(cleanupNamespaces);

test('on this host auto proves the setns reader at start and reads with it', async () => {
  const { logger, lines } = logged();
  const { collection: reader, start } = autoReader({ logger });
  try {
    await start();
    assert.is(reader.inUse, 'setns');
    const chosen = lines.filter((line) => line.includes('reader auto'));
    assert.is(chosen.length, 1, lines.join(''));
    assert.match(chosen[0]!, /reading with setns/);
    const snapshot = await collect(reader);
    assert.is(snapshot.results.length, 2);
    assert.ok(snapshot.results.every((result) => result.ok));
    assert.is(reader.inUse, 'setns');
  } finally {
    await reader.stop();
  }
});

test('with no namespace at start, auto reads the first one seen with both readers and decides then', async () => {
  const { logger, lines } = logged();
  const { collection: reader, start } = autoReader({ logger, candidates: [] });
  try {
    await start();
    assert.is(reader.inUse, 'nsenter', 'nsenter until proven');
    assert.is(lines.filter((line) => line.includes('reader auto')).length, 0, 'nothing decided yet');
    const snapshot = await collect(reader);
    assert.ok(snapshot.results.every((result) => result.ok));
    assert.is(reader.inUse, 'setns');
    assert.is(lines.filter((line) => line.includes('reading with setns')).length, 1, lines.join(''));
  } finally {
    await reader.stop();
  }
});

test('koffi missing: the workers cannot start → nsenter, the reason logged once', async () => {
  const { logger, lines } = logged();
  const broken = standInWorker('nokoffi', `parentPort.postMessage({ kind: 'init-failed', message: "Cannot find module 'koffi'" });`);
  await expectNsenter(autoReader({ logger, workerUrl: broken }), lines, /koffi/);
});

test('a worker that lies about its namespace → nsenter, the reason logged once', async () => {
  const { logger, lines } = logged();
  await expectNsenter(autoReader({ logger, workerUrl: lyingWorker('liar', 'r.inode + 1') }), lines, /worker read namespace/);
});

test('a self-test mismatch (right namespace claimed, wrong reading) → nsenter, the reason logged once', async () => {
  const { logger, lines } = logged();
  await expectNsenter(autoReader({ logger, workerUrl: lyingWorker('mismatch', 'r.inode') }), lines, /devices/);
});

test('after falling back, no setns worker thread is left running', async () => {
  const { logger } = logged();
  const before = threadsOfProcess();
  const { collection: reader, start } = autoReader({ logger, workerUrl: lyingWorker('liar2', 'r.inode') });
  await start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.is(reader.inUse, 'nsenter');
  assert.ok(threadsOfProcess() <= before, `${threadsOfProcess()} threads, ${before} before`);
  await reader.stop();
});

test('stopped during its self-test (a shutdown at start), auto logs no verdict and leaves no worker', async () => {
  const { logger, lines } = logged();
  const before = threadsOfProcess();
  const { collection: reader, start } = autoReader({ logger });
  const starting = start();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await reader.stop();
  await starting;
  assert.is(lines.filter((line) => line.includes('reader auto') || line.includes('unavailable')).length, 0, lines.join(''));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(threadsOfProcess() <= before, `${threadsOfProcess()} threads, ${before} before`);
});

test('the self-test proves setns on the namespace it is handed, discovers none itself, and keeps it open', async () => {
  const { logger, lines } = logged();
  const options = testReaderOptions({ procMetrics: PROC, workers: 1, logger });
  const nsenter = new NsenterReader(options);
  // A name discovery never gives (it is not the file's): only the caller can have handed it over.
  const handed: Namespace = { ...first, name: 'handed-over' };
  const reader = await provenReader([handed], nsenter, options, new AbortController().signal);
  try {
    assert.is(reader?.inUse, 'setns');
    const verdict = lines.filter((line) => line.includes('reader auto'));
    assert.is(verdict.length, 1, lines.join(''));
    assert.is(JSON.parse(verdict[0]!).namespace, 'handed-over');
    // The worker's proof reading opened that namespace's handles, and no other's: the first cycle reads it held.
    assert.equal(reader?.held, { held: 1, limit: reader?.held?.limit });
  } finally {
    await Promise.all([reader?.stop(), nsenter.stop()]);
  }
});

test('a self-test aborted before it starts gives no verdict and no reader', async () => {
  const { logger, lines } = logged();
  const options = testReaderOptions({ procMetrics: PROC, workers: 1, logger });
  const nsenter = new NsenterReader(options);
  const aborted = new AbortController();
  aborted.abort();
  try {
    assert.is(await provenReader([first], nsenter, options, aborted.signal), null);
    assert.is(lines.filter((line) => line.includes('reader auto')).length, 0, lines.join(''));
  } finally {
    await nsenter.stop();
  }
});

runWhen(test, ['root', 'ip', 'nsenter'], 'auto reader integration tests');
