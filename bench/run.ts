/**
 * `npm run bench`: creates its own namespaces, prints figures, exits 0 unless a benchmark broke.
 * Not a test: the targets are printed as MET/MISS for a person to read, never asserted.
 *
 *   --max N        largest count of the core bench (300, 1000, 3000; default 1000, env BENCH_MAX)
 *   --counts a,b   exact counts instead (env BENCH_COUNTS), e.g. 20,50 for a quick look
 *   --repeat N     runs of each kind per count, median reported (default 3, env BENCH_REPEAT)
 *   --threads N    the agent's threads (default: the config default, env BENCH_THREADS)
 *   --profile      one extra agent run per count under --cpu-prof, summarised
 *   --only core    run only the named parts (core, readers, churn, collectors, pushgateway, remote_write, push_cost, memory)
 *   --duration D   memory: how long each agent runs (default 90s; the soak: 30m, env BENCH_DURATION)
 *   --interval D   memory: the agent's interval (default 5s, env BENCH_INTERVAL); push_cost: (default 2s)
 *   --cycles N     push_cost: cycles each agent runs, the last 40 % measured (default 40)
 *   --targets a,b  memory: none, pushgateway, remote_write (default all, env BENCH_TARGETS)
 *   --try-flags F  memory: one more agent per V8 flag set beside the shipped one, sets split by '|'
 *   --heap         memory: heap snapshots after 11 cycles instead of the RSS runs (--heap-dir keeps them)
 *   --appear N     churn: namespaces that appear at once beside a running agent (default 500)
 *   --churn NxR    churn: N namespaces created and deleted R times under a 1 s interval (default 200x100)
 *
 * `npm run bench -- fleet [options]` runs the fleet benchmark instead (bench/fleet.ts; no root).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { benchCore } from './core.js';
import { parseDuration, TARGETS, type TargetKind } from './memoryFigures.js';

const STANDARD_COUNTS = [300, 1000, 3000];

/** A benchmark another module may provide; each returns the lines to print. */
interface OptionalBench {
  part: string;
  file: string;
  run: (module: Record<string, unknown>, counts: number[], values: BenchValues) => Promise<string[]>;
}

interface BenchValues {
  duration?: string;
  targets?: string;
  'try-flags'?: string;
  interval?: string;
  heap?: boolean;
  'heap-dir'?: string;
  appear?: string;
  churn?: string;
  cycles?: string;
  repeat?: string;
}

const OPTIONAL: OptionalBench[] = [
  { part: 'readers', file: './readers.js', run: (module, counts) => call(module, 'benchReaders', counts) },
  {
    part: 'churn', file: './churn.js', run: (module, _counts, values) => {
      const churn = /^(\d+)x(\d+)$/.exec(values.churn ?? '200x100');
      if (churn === null) throw new Error(`--churn: ${JSON.stringify(values.churn)} is not NxR (namespaces x rounds), e.g. 200x100`);
      return call(module, 'benchChurn', {
        appear: positive(values.appear, '--appear', 500), churn: positive(churn[1], '--churn', 200), rounds: positive(churn[2], '--churn', 100),
        progress: (line: string) => console.error(line),
      });
    },
  },
  { part: 'collectors', file: './collectors.js', run: (module, counts) => call(module, 'benchCollectors', counts) },
  { part: 'pushgateway', file: './pushgateway.js', run: (module) => call(module, 'benchPushgateway') },
  { part: 'remote_write', file: './remoteWrite.js', run: (module) => call(module, 'benchRemoteWrite') },
  {
    part: 'push_cost', file: './pushCost.js', run: (module, counts, values) => call(module, 'benchPushCost', counts, {
      intervalMs: parseDuration(values.interval ?? '2s', '--interval'),
      cycles: positive(values.cycles, '--cycles', 40),
      rounds: positive(values.repeat ?? process.env.BENCH_REPEAT, '--repeat', 3),
    }),
  },
  {
    part: 'memory', file: './memory.js', run: (module, counts, values) => call(module, 'benchMemory', {
      counts,
      durationMs: parseDuration(values.duration ?? process.env.BENCH_DURATION ?? '90s', '--duration'),
      intervalMs: parseDuration(values.interval ?? process.env.BENCH_INTERVAL ?? '5s', '--interval'),
      targets: (values.targets ?? process.env.BENCH_TARGETS ?? TARGETS.join(',')).split(',').map((name) => {
        if (!TARGETS.includes(name.trim() as TargetKind)) throw new Error(`--targets: ${JSON.stringify(name)} is none of ${TARGETS.join(', ')}`);
        return name.trim() as TargetKind;
      }),
      extraFlags: [[], ...(values['try-flags'] ?? '').split('|').filter((set) => set.trim() !== '').map((set) => set.trim().split(/\s+/))],
      heap: values.heap ?? false,
      heapDir: values['heap-dir'] ?? null,
      progress: (line: string) => console.error(line),
    }),
  },
];

async function call(module: Record<string, unknown>, name: string, ...args: unknown[]): Promise<string[]> {
  const fn = module[name];
  if (typeof fn !== 'function') throw new Error(`module does not export ${name}()`);
  const lines: unknown = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
  if (!Array.isArray(lines)) throw new Error(`${name}() returned ${typeof lines}, expected string[]`);
  return lines.map(String);
}

function positive(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${what} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
  return value;
}

function countsFrom(values: { max?: string; counts?: string }): number[] {
  const list = values.counts ?? process.env.BENCH_COUNTS;
  if (list !== undefined && list !== '') {
    return [...new Set(list.split(',').map((item) => positive(item.trim(), '--counts item', 1)))].sort((a, b) => a - b);
  }
  const max = positive(values.max ?? process.env.BENCH_MAX, '--max', 1000);
  const counts = STANDARD_COUNTS.filter((count) => count <= max);
  if (counts.length === 0) throw new Error(`--max ${max} is below the smallest standard count (300); use --counts`);
  return counts;
}

function heading(title: string): void {
  console.log(`\n== ${title} ${'='.repeat(Math.max(3, 76 - title.length))}`);
}

async function main(): Promise<number> {
  if (process.argv[2] === 'fleet') {
    const { runFleetCli } = await import('./fleet.js');
    return runFleetCli(process.argv.slice(3));
  }
  const { values } = parseArgs({
    options: {
      max: { type: 'string' }, counts: { type: 'string' }, repeat: { type: 'string' }, threads: { type: 'string' },
      profile: { type: 'boolean', default: false }, only: { type: 'string' },
      duration: { type: 'string' }, interval: { type: 'string' }, heap: { type: 'boolean', default: false }, 'heap-dir': { type: 'string' },
      targets: { type: 'string' }, 'try-flags': { type: 'string' }, appear: { type: 'string' }, churn: { type: 'string' }, cycles: { type: 'string' },
    },
  });
  if (process.getuid?.() !== 0) {
    console.error('npm run bench creates network namespaces: run it as root');
    return 1;
  }
  const counts = countsFrom(values);
  const repeat = positive(values.repeat ?? process.env.BENCH_REPEAT, '--repeat', 3);
  const threadsText = values.threads ?? process.env.BENCH_THREADS;
  const threads = threadsText === undefined || threadsText === '' ? null : positive(threadsText, '--threads', 4);
  const only = values.only === undefined ? null : new Set(values.only.split(',').map((part) => part.trim()));
  const wanted = (part: string) => only === null || only.has(part);
  let status = 0;

  console.log(`netns-exporter benchmarks: node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  console.log(`counts ${counts.join(', ')}; other people's work on this machine shows up as load and spread`);

  if (wanted('core')) {
    heading('core collection: whole agent run vs bare nsenter loop');
    try {
      const result = await benchCore({ counts, repeat, threads, profile: values.profile ?? false, progress: (line) => console.error(line) });
      for (const line of result.lines) console.log(line);
    } catch (error) {
      console.log(`FAILED: ${(error as Error).message}`);
      status = 1;
    }
  }

  for (const bench of OPTIONAL) {
    if (!wanted(bench.part)) continue;
    heading(bench.part);
    const url = new URL(bench.file, import.meta.url).href;
    let module: Record<string, unknown>;
    try {
      module = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(bench.file.slice(2));
      console.log(missing ? 'not available (bench/' + bench.file.slice(2).replace(/\.js$/, '.ts') + ' not written yet)' : `FAILED to load: ${(error as Error).message}`);
      if (!missing) status = 1;
      continue;
    }
    try {
      for (const line of await bench.run(module, counts, values)) console.log(line);
    } catch (error) {
      console.log(`FAILED: ${(error as Error).message}`);
      status = 1;
    }
  }
  console.log(`\nload at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return status;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error((error as Error).message);
  return 1;
});
