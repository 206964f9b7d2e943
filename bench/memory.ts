import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVictoriaMetrics } from '../test/helpers/remoteWrite.js';
import { startPushgateway, type RunningServer } from '../test/helpers/servers.js';
import { cpuOfStat, nodeFlagsOfShebang, originalExampleConfig, parseCycleLine } from './cycleFigures.js';
import { fixed, formatTable } from './figures.js';
import { summarizeHeapSnapshot, heapSummaryLines, perNamespaceLines, type HeapSummary } from './heapSummary.js';
import { parseStatus, rssFigures, type RssSample, type TargetKind } from './memoryFigures.js';
import { NamespacePool } from './namespaces.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
const AGENT_MAIN = path.join(DIST, 'agent/main.js');
/** The V8 flags the unit (through the command's shebang) and the image ship, and nothing else. */
const NODE_FLAGS = nodeFlagsOfShebang(readFileSync(AGENT_MAIN, 'utf8').split('\n')[0]!);
const HEAP_PRELOAD = path.join(DIST, 'bench/heapPreload.js');
const SAMPLE_MS = 1000;
/** Baselines are sampled this long: they do nothing, so their RSS settles within seconds. */
const BASELINE_MS = 10_000;
/** Cycles before the heap snapshots: the issue's "after 10 steady cycles", plus the first. */
const HEAP_CYCLES = 11;


export interface MemoryOptions {
  counts: readonly number[];
  /** How long each agent runs (the 30-minute soak: 30 min). */
  durationMs: number;
  /** The agent's `interval`. */
  intervalMs: number;
  /** Which targets, in this order (default all three). */
  targets: readonly TargetKind[];
  /**
   * V8 flags to try beside the shipped ones: each entry is one more agent per count and target
   * (`[]` is the agent as shipped). For comparing a candidate flag in one run, not for the figures.
   */
  extraFlags: readonly (readonly string[])[];
  /** Heap snapshots (main thread and each worker) after HEAP_CYCLES cycles, instead of the RSS runs. */
  heap: boolean;
  /** Keep the .heapsnapshot files here (else they go with the temporary work folder). */
  heapDir: string | null;
  progress: (line: string) => void;
}

/**
 * RSS of a long-running agent (VmHWM as the peak, the median VmRSS of the run's second half as the
 * steady figure, growth between the run's early and late windows) for each count and target: none,
 * the real Pushgateway, remote_write into the real VictoriaMetrics, both on loopback; beside a bare
 * `node` and a bare `node` with two idle worker threads measured in the same run. The agent runs
 * the original's example config (5 interface metrics and its nf_conntrack_count proc metric), the
 * default reader and threads, with only its shipped V8 flags; nothing forces a GC.
 */
export async function benchMemory(options: MemoryOptions): Promise<string[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'nxb-memory-'));
  const pool = new NamespacePool({ tag: 'm' });
  const lines: string[] = [];
  const servers: Partial<Record<TargetKind, RunningServer>> = {};
  try {
    servers.pushgateway = await startPushgateway(['--persistence.file=']);
    servers.remote_write = await startVictoriaMetrics();
    if (options.heap) return await heapRuns(options, pool, work, servers.remote_write);
    const rows: string[][] = [];
    for (const [label, script] of BASELINES) {
      const load = loadavg()[0]!;
      const figures = rssFigures(await sampleBaseline(script), BASELINE_MS);
      rows.push(['', label, '', fixed(figures.steadyMb, 1), fixed(figures.peakMb, 1), '', String(figures.threads), '', '', load.toFixed(1)]);
    }
    for (const count of options.counts) {
      await pool.grow(count);
      options.progress(`memory: ${count} namespaces ready`);
      for (const target of options.targets) {
        for (const extra of options.extraFlags) {
          const load = loadavg()[0]!;
          const config = writeConfig(work, pool.whitelistPattern, options.intervalMs, target, servers[target]?.url ?? null);
          const run = await agentRun(config, count, options.durationMs, null, extra);
          const figures = rssFigures(run.samples, options.durationMs);
          const endLoad = loadavg()[0]!;
          const label = `agent, ${target === 'none' ? 'no target' : target}${extra.length === 0 ? '' : ` ${extra.join(' ')}`}`;
          options.progress(`memory: ${count} ${label}: steady ${fixed(figures.steadyMb, 1)} MB, peak ${fixed(figures.peakMb, 1)} MB, ${run.cycles} cycles, ${fixed(run.cpuMsPerCycle, 0)} ms CPU/cycle`);
          rows.push([
            String(count), label, String(run.cycles), fixed(figures.steadyMb, 1), fixed(figures.peakMb, 1),
            figures.driftPercent === null ? '' : `${figures.driftPercent >= 0 ? '+' : ''}${fixed(figures.driftPercent, 1)} %`, String(figures.threads),
            fixed(run.cpuMsPerCycle, 0), extra.length === 0 ? verdict(count, figures.steadyMb, figures.peakMb, target) : '', `${load.toFixed(1)}–${endLoad.toFixed(1)}`,
          ]);
          if (run.warnings > 0) lines.push(`${count} ${label}: ${run.warnings} warning line(s) in the agent's log, e.g. ${run.firstWarning}`);
        }
      }
    }
    lines.unshift(
      ...formatTable(['namespaces', 'process', 'cycles', 'steady MB', 'peak MB', 'late vs early', 'threads', 'CPU ms/cycle', 'target', 'load1'], rows),
      '',
      `each agent ran ${fixed(options.durationMs / 1000, 0)} s at interval ${fixed(options.intervalMs / 1000, 0)} s (the original's example config: 5 interface metrics + nf_conntrack_count; default reader and threads; node ${NODE_FLAGS.join(' ') || '(no flags)'}, as shipped; no forced GC)`,
      `steady = median VmRSS of the run's second half (CPU ms/cycle: the process's user+sys over that half, per cycle); peak = VmHWM (first cycle included); late vs early = median of the last third over the median of the sixth to the third (30 min: minutes 20–30 vs 5–10; target within 5 %)`,
      'target (issue 24): steady ≤ 100 MB and peak ≤ 120 MB at 1,000 namespaces with a target; ≤ 160 MB at 3,000; bare rows are sampled for 10 s',
    );
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    await pool.remove();
    rmSync(work, { recursive: true, force: true });
  }
  return lines;
}

/** `node -e` programs measured beside the agent, with the same V8 flags. */
const BASELINES: [string, string][] = [
  ['bare node', 'setInterval(() => {}, 1000)'],
  ['bare node + 2 idle workers', "const { Worker } = require('node:worker_threads'); for (let i = 0; i < 2; i++) new Worker('setInterval(() => {}, 1000)', { eval: true }); setInterval(() => {}, 1000)"],
];

function verdict(count: number, steadyMb: number, peakMb: number, target: TargetKind): string {
  if (target === 'none') return '';
  if (count === 1000) return steadyMb <= 100 && peakMb <= 120 ? 'MET' : 'MISS';
  if (count === 3000) return steadyMb <= 160 && peakMb <= 160 ? 'MET' : 'MISS';
  return '';
}

function writeConfig(work: string, whitelist: string, intervalMs: number, target: TargetKind, url: string | null): string {
  const file = path.join(work, `${target}.yaml`);
  const push = target === 'pushgateway' ? ['push:', '  pushgateway:', `    url: ${url}`]
    : target === 'remote_write' ? ['push:', '  remote_write:', `    url: ${url}/api/v1/write`] : [];
  writeFileSync(file, originalExampleConfig(whitelist, [`interval: ${intervalMs}ms`, ...push]));
  return file;
}

interface AgentRun {
  samples: RssSample[];
  cycles: number;
  /** The process's CPU (user + sys, all threads) over the run's second half, per cycle collected in it. */
  cpuMsPerCycle: number | null;
  warnings: number;
  firstWarning: string;
}

/**
 * One agent for `durationMs` (or, with `afterCycles`, until that many cycles were collected and
 * `onCycles` ran), its /proc status sampled every SAMPLE_MS. Each cycle must read every namespace.
 */
async function agentRun(
  config: string, count: number, durationMs: number,
  heap: { afterCycles: number; env: Record<string, string>; onCycles: (child: ChildProcess) => Promise<void> } | null, extraFlags: readonly string[] = [],
): Promise<AgentRun> {
  const preload = heap === null ? [] : ['--import', HEAP_PRELOAD];
  const child = spawn(process.execPath, [...NODE_FLAGS, ...extraFlags, ...preload, AGENT_MAIN, '--config', config, '--log-level', 'debug'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...heap?.env },
  });
  const run: AgentRun = { samples: [], cycles: 0, cpuMsPerCycle: null, warnings: 0, firstWarning: '' };
  const started = performance.now();
  let half = null as { cycles: number; cpuMs: number } | null;
  let failure: Error | null = null;
  let reachedCycles: () => void = () => {};
  const cyclesReached = new Promise<void>((resolve) => (reachedCycles = resolve));
  let buffered = '';
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    tail = (tail + chunk.toString()).slice(-4000);
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (/"level":(40|50|60)/.test(line)) {
        run.warnings += 1;
        if (run.firstWarning === '') run.firstWarning = line.slice(0, 300);
      }
      const cycle = parseCycleLine(line);
      if (cycle === null) continue;
      if (cycle.namespaces !== count || cycle.failed > 0) failure ??= new Error(`a cycle read ${cycle.namespaces - cycle.failed} of ${count} namespaces (expected all)`);
      run.cycles += 1;
      if (half === null && performance.now() - started >= durationMs / 2) half = { cycles: run.cycles, cpuMs: processCpuMs(child.pid!) };
      if (heap !== null && run.cycles === heap.afterCycles) reachedCycles();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    if (heap === null) {
      run.samples = await sampleProcess(child, durationMs);
      if (half !== null && run.cycles > half.cycles) run.cpuMsPerCycle = (processCpuMs(child.pid!) - half.cpuMs) / (run.cycles - half.cycles);
    } else {
      const limit = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the agent did not collect ${heap.afterCycles} cycles within ${durationMs / 1000} s: ${tail.slice(-300)}`)), durationMs).unref());
      await Promise.race([cyclesReached, limit, exited.then(() => Promise.reject(new Error(`the agent exited: ${tail.slice(-300)}`)))]);
      await heap.onCycles(child);
    }
    if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}: ${tail.trim().split('\n').slice(-3).join(' | ')}`);
    if (failure !== null) throw failure;
    if (heap === null && run.cycles === 0) throw new Error(`the agent collected no cycle in ${durationMs / 1000} s: ${tail.slice(-300)}`);
    return run;
  } finally {
    if (child.exitCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    }
  }
}

/** User + system CPU of a process, all its threads (USER_HZ is 100 on Linux). */
function processCpuMs(pid: number): number {
  const stat = cpuOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return stat.ownTicks * 10;
}

/** /proc/<pid>/status every SAMPLE_MS for `durationMs`; the caller stops the process. */
async function sampleProcess(child: ChildProcess, durationMs: number): Promise<RssSample[]> {
  const started = performance.now();
  const samples: RssSample[] = [];
  const pid = child.pid!;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    const atMs = performance.now() - started;
    if (child.exitCode !== null) throw new Error(`process ${pid} exited with ${child.exitCode} while sampled`);
    samples.push(parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'), atMs));
    if (atMs >= durationMs) return samples;
  }
}

async function sampleBaseline(script: string): Promise<RssSample[]> {
  const child = spawn(process.execPath, [...NODE_FLAGS, '-e', script], { stdio: 'ignore' });
  try {
    return await sampleProcess(child, BASELINE_MS);
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * Heap snapshots of a remote_write agent after HEAP_CYCLES cycles at each count: the main thread
 * (v8.writeHeapSnapshot) and every worker thread (worker.getHeapSnapshot()), written by
 * bench/heapPreload.ts on SIGUSR2, then summarised by constructor and by module; with two or more
 * counts, the cost per namespace (the slope between the smallest and the largest) and the fixed part.
 */
async function heapRuns(options: MemoryOptions, pool: NamespacePool, work: string, receiver: RunningServer): Promise<string[]> {
  const dir = options.heapDir ?? work;
  // The preload writes into it and cannot make it: without it no snapshot ever appears.
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  const summaries: { count: number; thread: string; summary: HeapSummary }[] = [];
  for (const count of options.counts) {
    await pool.grow(count);
    const load = loadavg()[0]!;
    const prefix = path.join(dir, `agent-${count}`);
    const config = writeConfig(work, pool.whitelistPattern, options.intervalMs, 'remote_write', receiver.url);
    await agentRun(config, count, HEAP_CYCLES * options.intervalMs + 120_000, {
      afterCycles: HEAP_CYCLES,
      env: { NETNS_BENCH_HEAP_PREFIX: prefix },
      onCycles: async (child) => {
        child.kill('SIGUSR2');
        // The main thread's snapshot is listed first; workers follow, each given 30 s.
        const deadline = Date.now() + 180_000;
        while (!existsSync(`${prefix}.complete`)) {
          if (Date.now() > deadline) {
            if (existsSync(`${prefix}.done`)) break;
            throw new Error('no heap snapshot within 180 s');
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    });
    const files = JSON.parse(readFileSync(`${prefix}.done`, 'utf8')) as { thread: string; file: string; rssMb: number }[];
    options.progress(`memory: heap snapshots at ${count}: ${files.map((file) => file.thread).join(', ')}`);
    for (const { thread, file } of files) {
      if (file === '') {
        lines.push('', `-- ${count} namespaces, ${thread}`);
        continue;
      }
      const summary = summarizeHeapSnapshot(JSON.parse(readFileSync(file, 'utf8')));
      summaries.push({ count, thread, summary });
      lines.push('', `-- ${count} namespaces, ${thread} (load ${load.toFixed(1)}; ${file})`, ...heapSummaryLines(summary));
    }
  }
  const smallest = Math.min(...options.counts);
  const largest = Math.max(...options.counts);
  if (smallest !== largest) {
    for (const { thread, summary } of summaries.filter((entry) => entry.count === largest)) {
      const small = summaries.find((entry) => entry.count === smallest && entry.thread === thread);
      if (small !== undefined) lines.push('', `-- ${thread}: per namespace (${smallest} → ${largest}) and fixed`, ...perNamespaceLines(small.summary, summary, smallest, largest));
    }
  }
  return [`remote_write agent, snapshots after ${HEAP_CYCLES} cycles at interval ${options.intervalMs / 1000} s`, ...lines];
}
