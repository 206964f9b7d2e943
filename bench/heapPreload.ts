/**
 * Loaded by the memory benchmark with `node --import` in front of the agent (never shipped): on
 * SIGUSR2 it writes a heap snapshot of the main thread (v8.writeHeapSnapshot) and of every live
 * worker thread (worker.getHeapSnapshot()) to `$NETNS_BENCH_HEAP_PREFIX-<thread>.heapsnapshot`,
 * lists them in `$NETNS_BENCH_HEAP_PREFIX.done` as they are written and creates `.complete` at the end. Workers are found by wrapping the Worker
 * class before the agent imports it; the agent itself is not changed for the benchmark.
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import { isMainThread, type Worker } from 'node:worker_threads';

const prefix = process.env.NETNS_BENCH_HEAP_PREFIX;
/** A worker busy reading answers late; one replaced by the reader's watchdog never does. */
const WORKER_SNAPSHOT_MS = 30_000;

if (isMainThread && prefix !== undefined) {
  const threads = createRequire(import.meta.url)('node:worker_threads') as { Worker: typeof Worker };
  const live = new Map<Worker, string>();
  const Original = threads.Worker;
  threads.Worker = class TrackedWorker extends Original {
    constructor(...args: ConstructorParameters<typeof Worker>) {
      super(...args);
      const file = String(args[0]).replace(/^.*\//, '').replace(/\.js$/, '');
      live.set(this, `worker-${file}-${this.threadId}`);
      this.once('exit', () => live.delete(this));
    }
  };
  syncBuiltinESMExports();
  process.on('SIGUSR2', () => void writeSnapshots(prefix, live));
}

function rssMb(): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

/**
 * The main thread first, while it is at rest after a cycle; then each worker, given
 * WORKER_SNAPSHOT_MS: one busy in a read, or replaced meanwhile by the reader's watchdog (the main
 * thread's snapshot blocks it for seconds), is named without a snapshot rather than waited for.
 */
async function writeSnapshots(prefix: string, live: Map<Worker, string>): Promise<void> {
  const written: { thread: string; file: string; rssMb: number }[] = [];
  const rss = rssMb();
  const main = `${prefix}-main.heapsnapshot`;
  v8.writeHeapSnapshot(main);
  written.push({ thread: 'main', file: main, rssMb: rss });
  writeFileSync(`${prefix}.done`, JSON.stringify(written));
  for (const [worker, name] of live) {
    const file = `${prefix}-${name}.heapsnapshot`;
    const exited = new Promise<boolean>((resolve) => worker.once('exit', () => resolve(false)));
    const finished = (async () => {
      await pipeline(await worker.getHeapSnapshot(), createWriteStream(file));
      return true;
    })();
    const gaveUp = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), WORKER_SNAPSHOT_MS).unref());
    if (await Promise.race([finished, exited, gaveUp])) written.push({ thread: name, file, rssMb: rss });
    else written.push({ thread: `${name} (no snapshot: the worker did not finish one within ${WORKER_SNAPSHOT_MS / 1000} s or ended)`, file: '', rssMb: rss });
    writeFileSync(`${prefix}.done`, JSON.stringify(written));
  }
  writeFileSync(`${prefix}.complete`, '');
}
