import { spawn } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import type { ReaderOptions } from '../../agent/readers/options.js';
import type { Reader } from '../../agent/readers/reader.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import { MAX_ABANDONED_WORKERS } from '../../agent/readers/setnsPool.js';
import type { ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { Namespace } from '../../shared/snapshot.js';
import { addNamespace, cleanupNamespaces, sh } from '../helpers/netns.js';
import { readAll, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * A proc file whose read blocks in the kernel (here a FIFO under an injected proc root, standing in
 * for a hung device): it must not leak a thread per timeout, and a process whose reader has a thread
 * stuck must still stop and exit. Links are never followed out of the proc root.
 */
const test = suite('reads that block in the kernel');
const namespaces: Namespace[] = [];
let procRoot = '';
let fifo = '';
const PROC: ProcMetricConfig[] = [
  { name: 'plain', file: 'sys/net/plain', type: 'gauge' },
  { name: 'fifo', file: 'sys/net/fifo', type: 'gauge' },
  { name: 'link', file: 'sys/net/link', type: 'gauge' },
];

const threads = () => readdirSync('/proc/self/task').length;

test.before(() => {
  // More namespaces than MAX_ABANDONED_WORKERS: each can leave one thread stuck before it goes to nsenter.
  for (const suffix of ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f']) {
    const name = addNamespace(suffix);
    namespaces.push({ name, path: `/run/netns/${name}`, inode: statSync(`/run/netns/${name}`).ino });
  }
  procRoot = tempDir('stuck-proc');
  mkdirSync(path.join(procRoot, 'sys/net'), { recursive: true });
  writeFileSync(path.join(procRoot, 'sys/net/plain'), '7\n');
  fifo = path.join(procRoot, 'sys/net/fifo');
  sh('mkfifo', [fifo]);
  // A link out of the proc root to a file whose number must never become a metric.
  const secret = path.join(tempDir('stuck-secret'), 'secret');
  writeFileSync(secret, '42\n');
  symlinkSync(secret, path.join(procRoot, 'sys/net/link'));
});

/** Releases every thread still waiting to open the FIFO: an open for writing lets them through to EOF. */
async function releaseFifo(): Promise<void> {
  for (let round = 0; round < 20; round += 1) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is waiting to read
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test.after(async () => {
  await releaseFifo();
  cleanupNamespaces();
});

const logged = () => {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }), lines };
};

/** A stand-in worker thread that, like the real one on a hung device, blocks in the kernel on every read. */
function blockingWorker(): URL {
  const file = path.join(tempDir('stuck-worker'), 'blocking.mjs');
  const home = statSync('/proc/self/ns/net').ino;
  writeFileSync(file, [
    `import { readFileSync } from 'node:fs';`,
    `import { parentPort } from 'node:worker_threads';`,
    `parentPort.postMessage({ kind: 'ready', homeInode: ${home} });`,
    `parentPort.on('message', () => readFileSync(${JSON.stringify(fifo)}));`,
  ].join('\n'));
  return new URL(`file://${file}`);
}

const options = (overrides: Partial<ReaderOptions> = {}) => testReaderOptions({ timeoutMs: 400, procMetrics: PROC, procRoot, workers: 2, ...overrides });

/** One cycle of this reader alone, every namespace handed over; readAll fails the test if one is handed back. */
const readCycle = (reader: Reader) => readAll(reader, namespaces, true);

for (const kind of ['setns', 'nsenter'] as const) {
  test(`${kind} reader: a FIFO or a link under the proc root is unreadable at once, no thread or process is left`, async () => {
    const reader = kind === 'setns' ? new SetnsReader(options()) : new NsenterReader(options({ timeoutMs: 2_000 }));
    await reader.start();
    const threadsBefore = threads();
    try {
      for (let cycle = 0; cycle < 6; cycle += 1) {
        const started = performance.now();
        // The setns workers did the reading: readCycle fails the test if one namespace was handed back.
        for (const result of await readCycle(reader)) {
          assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
          if (!result.ok) continue;
          assert.is(result.sample.proc.plain, 7, 'the injected proc root is read');
          assert.equal(result.sample.procErrors.sort(), ['fifo', 'link'], 'a FIFO and a link are refused, not followed');
          assert.is(result.sample.proc.link, undefined);
        }
        assert.ok(performance.now() - started < 1_500, `cycle ${cycle} waited ${Math.round(performance.now() - started)} ms`);
      }
      assert.ok(threads() <= threadsBefore + 1, `threads ${threadsBefore} → ${threads()}`);
    } finally {
      await reader.stop();
      await releaseFifo();
    }
  });
}

test('a worker stuck in the kernel: the abandoned threads stay bounded, its namespace goes to nsenter, stop() returns', async () => {
  const { logger, lines } = logged();
  // The collection: what the setns reader hands back, nsenter reads (with the same timeout).
  const reader = await startedCollection('setns', options({ timeoutMs: 1_000, workerUrl: blockingWorker(), logger }));
  const filter = { whitelist: new RegExp(`^(${namespaces.map((ns) => ns.name).join('|')})$`), blacklist: null };
  const oneCycle = async () => (await reader.collect({ discovery: { netnsDirs: ['/run/netns'], filter, procRoot: '/proc' } })).results;
  const threadsBefore = threads();
  const rssBefore = process.memoryUsage().rss;
  try {
    const timedOut = new Set<string>();
    for (let cycle = 0; cycle < 12; cycle += 1) {
      for (const result of await oneCycle()) {
        if (result.ok) continue;
        assert.is(result.reason, 'timeout', result.message);
        assert.not.ok(timedOut.has(result.ns.name), `${result.ns.name} timed out twice: it should have gone to nsenter`);
        timedOut.add(result.ns.name);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const grown = threads() - threadsBefore;
    assert.ok(grown <= MAX_ABANDONED_WORKERS, `threads ${threadsBefore} → ${threads()}; at most ${MAX_ABANDONED_WORKERS} abandoned`);
    assert.ok(process.memoryUsage().rss - rssBefore < 150 * 1024 * 1024, 'RSS stays bounded');
    // Every later read of either namespace is done by nsenter and succeeds.
    const later = await oneCycle();
    assert.is(later.length, namespaces.length);
    for (const result of later) assert.ok(result.ok, result.ok ? '' : result.message);
    assert.is(lines.filter((line) => line.includes('no more replacements')).length, 1, 'the cap is reached and said once');
    assert.is(reader.inUse, 'nsenter', 'past the cap every read goes to nsenter');
    const stopping = performance.now();
    await reader.stop();
    assert.ok(performance.now() - stopping < 3_000, `stop() took ${Math.round(performance.now() - stopping)} ms`);
  } finally {
    await reader.stop();
    await releaseFifo();
  }
});

test('stopping the nsenter reader kills the reads in flight at once, their whole process group', async () => {
  const dir = tempDir('stuck-ip');
  const fakeIp = path.join(dir, 'ip');
  const pidFile = path.join(dir, 'pid');
  writeFileSync(fakeIp, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
  chmodSync(fakeIp, 0o755);
  const reader = new NsenterReader(testReaderOptions({ timeoutMs: 20_000, commands: { ip: fakeIp } }));
  const reading = reader.collect([namespaces[0]!]).then(({ results }) => results[0]!);
  const deadline = Date.now() + 5_000;
  while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const stopping = performance.now();
  await reader.stop();
  const result = await reading;
  const ms = performance.now() - stopping;
  assert.ok(ms < 600, `stop() and the read took ${Math.round(ms)} ms`);
  assert.is(result.ok ? 'ok' : result.reason, 'timeout', result.ok ? '' : result.message);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.not.ok(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), `the read's process ${pid} is still running`);
  const [late] = (await reader.collect([namespaces[1]!])).results;
  assert.is(late?.ok ? 'ok' : late?.reason, 'timeout', 'a read after stop() fails at once');
});

test('a process whose reader has a thread stuck in the kernel exits on SIGTERM', async () => {
  const script = path.join(tempDir('stuck-process'), 'agent.mjs');
  const dist = (file: string) => new URL(`../../agent/readers/${file}`, import.meta.url).href;
  writeFileSync(script, [
    `import { pino } from ${JSON.stringify(new URL('../../../node_modules/pino/pino.js', import.meta.url).href)};`,
    `import { SetnsReader } from ${JSON.stringify(dist('setns.js'))};`,
    `const [procRoot, nsPath, inode, workerUrl] = process.argv.slice(2);`,
    `const procMetrics = ${JSON.stringify(PROC)};`,
    `const reader = new SetnsReader({ timeoutMs: 300, procMetrics, procRoot, workers: 1, threads: 1, collectors: ${JSON.stringify(testReaderOptions().collectors)},`,
    `  workerUrl: new URL(workerUrl), logger: pino({ level: 'silent' }) });`,
    // As agent/main.ts does: stop the parts, set the exit code, and exit. Installed before the line
    // the test waits for: installed after it, a SIGTERM sent the moment that line arrived could come
    // first and end the process by the signal (seen once in CI).
    `process.once('SIGTERM', async () => { await reader.stop(); console.log('stopped'); process.exitCode = 0; setTimeout(() => process.exit(0), 100).unref(); });`,
    `const { results: [result] } = await reader.collect([{ name: 'x', path: nsPath, inode: Number(inode) }], { complete: false });`,
    `console.log('read', result === undefined ? 'handed back' : result.ok ? 'ok' : result.reason);`,
    `setInterval(() => {}, 1000);`,
  ].join('\n'));
  const ns = namespaces[0]!;
  const child = spawn(process.execPath, [script, procRoot, ns.path, String(ns.inode), blockingWorker().href], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? `signal ${signal}`)));
  try {
    const deadline = Date.now() + 10_000;
    while (!output.includes('read ') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(output.includes('read timeout'), output);
    const signalled = performance.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
    assert.is(code, 0, `${output}; exit: ${String(code)} after ${Math.round(performance.now() - signalled)} ms`);
    assert.ok(output.includes('stopped'), output);
  } finally {
    child.kill('SIGKILL');
    await releaseFifo();
  }
});

runWhen(test, ['root', 'ip', 'nsenter'], 'stuck read tests');
