import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startVictoriaMetrics } from '../test/helpers/remoteWrite.js';
import { startPushgateway, type RunningServer } from '../test/helpers/servers.js';
import { summarizeProfile, type CpuProfile } from './cpuProfile.js';
import { fixed, formatTable } from './figures.js';
import { NamespacePool } from './namespaces.js';
import { steadyFigures, steadyThreads, type ThreadCpu } from './cycleFigures.js';
import { longRunning, writeConfig } from './readers.js';

/**
 * Cycles 25–40 of each agent: a long-running agent's figure. V8 optimises a function once it has
 * run often enough, and much of the agent runs once or a few times a cycle, so its platform thread
 * compiles (TurboFan) for dozens of cycles. At 1,000 namespaces and this 2 s interval
 * (`--trace-opt`, 2026-12-07): cycles 9–16 ~15 ms a cycle without a target, ~23 with remote_write;
 * cycles 25–33 ~6 and ~17; cycles 33–42 ~3 and ~6. Cycles 9–16, what this benchmark measured until
 * then, are reported beside them; cycles 25–40 still carry some of remote_write's warm-up.
 */
const CYCLES = 40;
/** The steady window: the last 16 of 40 cycles, the same share of a run given another length. */
const STEADY_SHARE = 0.4;
const EARLY = { cycles: 16, steady: 8 };
const TARGETS = ['no target', 'pushgateway', 'remote_write'] as const;
type TargetName = (typeof TARGETS)[number];

export interface PushCostOptions {
  /** The agents' interval: 2 s by default (a short run); 15 s is the agent's own default. */
  intervalMs: number;
  /** Cycles each agent runs; the last STEADY_SHARE of them are measured. */
  cycles: number;
  rounds: number;
}

const DEFAULTS: PushCostOptions = { intervalMs: 2_000, cycles: CYCLES, rounds: 3 };

/**
 * What a push costs a long-running agent: CPU per cycle of the same agent (the original's example
 * config, default reader, 1,000 namespaces) with no target, pushing to a real Pushgateway, and
 * with remote_write into a real VictoriaMetrics, the three taking turns within each round so the
 * machine's other load falls on all alike; then one remote_write agent under --cpu-prof for the
 * main thread's garbage-collection share. At a longer interval what the agent spends between
 * cycles (its timers, V8's housekeeping) counts for more of each cycle, as on a node.
 */
export async function benchPushCost(counts: number[], options: PushCostOptions = DEFAULTS): Promise<string[]> {
  const { intervalMs, cycles, rounds } = options;
  const steadyCycles = Math.max(2, Math.round(cycles * STEADY_SHARE));
  const count = Math.max(...counts.filter((value) => value <= 1_000), 300);
  const work = mkdtempSync(path.join(tmpdir(), 'nxb-push-'));
  const pool = new NamespacePool({ tag: 'p' });
  const servers: RunningServer[] = [];
  try {
    await pool.grow(count);
    const gateway = await startPushgateway();
    servers.push(gateway);
    const victoria = await startVictoriaMetrics();
    servers.push(victoria);
    const configs: Record<TargetName, string> = {
      'no target': writeConfig(work, 'auto', pool.whitelistPattern, 'none', [], intervalMs),
      pushgateway: writeConfig(work, 'auto', pool.whitelistPattern, 'pushgateway', ['push:', '  pushgateway:', `    url: ${gateway.url}`], intervalMs),
      remote_write: writeConfig(work, 'auto', pool.whitelistPattern, 'remote_write', ['push:', '  remote_write:', `    url: ${victoria.url}/api/v1/write`], intervalMs),
    };
    const cpu = new Map<TargetName, number[]>(TARGETS.map((name) => [name, []]));
    const early = new Map<TargetName, number[]>(TARGETS.map((name) => [name, []]));
    const threads = new Map<TargetName, ThreadCpu[]>(TARGETS.map((name) => [name, []]));
    const loads: string[] = [];
    for (let round = 0; round < rounds; round++) {
      loads.push(loadavg().map((value) => value.toFixed(1)).join(' '));
      // Rotated each round: no target always first would give it the quietest (or busiest) slot.
      const order = TARGETS.map((_, index) => TARGETS[(index + round) % TARGETS.length]!);
      for (const name of order) {
        const run = await longRunning(configs[name], count, { cycles, steady: steadyCycles, threads: true });
        cpu.get(name)!.push(run.cpuMs);
        const split = steadyThreads(run.samples, steadyCycles);
        if (split !== null) threads.get(name)!.push(split);
        if (cycles > EARLY.cycles) early.get(name)!.push(steadyFigures(run.samples.slice(0, EARLY.cycles), EARLY.steady).cpuMs);
      }
    }
    const series = await seriesPerCycle(victoria.url);
    const base = median(cpu.get('no target')!);
    const earlyBase = median(early.get('no target')!);
    const earlyLine = TARGETS.map((name) => `${name} ${fixed(median(early.get(name)!))} ms (${fixed(median(early.get(name)!) / earlyBase, 2)}×)`).join(', ');
    const rows = TARGETS.map((name) => {
      const values = cpu.get(name)!;
      const added = median(values) - base;
      const split = threads.get(name)!;
      const group = (key: keyof ThreadCpu) => fixed(median(split.map((figures) => figures[key])));
      return [
        name, values.map((value) => fixed(value)).join(', '), fixed(median(values)), `${fixed(median(values) / base, 2)}×`, name === 'no target' ? '' : fixed((added * 1000) / series, 2),
        split.length === 0 ? 'n/a' : `${group('main')} / ${group('reader')} / ${group('helpers')}`,
      ];
    });
    const profile = await profiledRun(configs.remote_write, count, work, cycles, steadyCycles);
    return [
      `push cost: ${count} namespaces, ${series} series per cycle, default reader, the original's example config, interval ${fixed(intervalMs / 1000, 0)} s; ${rounds} rounds, targets taking turns`,
      ...formatTable(['target', 'CPU ms per cycle (each round)', 'median', '× no target', 'µs CPU per series added', 'main / reader / helper threads, ms (medians)'], rows),
      `CPU of the agent's process tree per cycle over cycles ${cycles - steadyCycles + 1}–${cycles} of each agent (pushes included); load (1, 5, 15 min) at the start of each round: ${loads.join(' | ')}`,
      ...(cycles > EARLY.cycles ? [`the same agents over cycles ${EARLY.cycles - EARLY.steady + 1}–${EARLY.cycles} (warm-up not over), medians: ${earlyLine}`] : []),
      profile,
    ];
  } finally {
    for (const server of servers) await server.stop();
    await pool.remove();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The series of one node's cycle, as VictoriaMetrics counts them. */
async function seriesPerCycle(url: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/series/count`);
  const json = (await response.json()) as { data?: number[] };
  // Several agents wrote the same series (same instance): the count is one cycle's.
  return json.data?.[0] ?? Number.NaN;
}

/** One more remote_write agent under --cpu-prof: the main thread's garbage-collection share. */
async function profiledRun(config: string, count: number, work: string, cycles: number, steadyCycles: number): Promise<string> {
  const dir = path.join(work, 'profile');
  const { steadyWindowUs } = await longRunning(config, count, { cycles, steady: steadyCycles, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  // CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile: thread 0 is the main thread.
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile') && name.split('.')[4] === '0');
  const share = (summary: ReturnType<typeof summarizeProfile>) => {
    const busy = summary.areas.filter((area) => !area.area.startsWith('idle')).reduce((sum, area) => sum + area.ms, 0);
    const gc = summary.areas.find((area) => area.area === 'garbage collector')?.ms ?? 0;
    return { busy, gc, top: summary.functions.filter((entry) => !entry.name.startsWith('(idle)')).slice(0, 6).map((entry) => `${entry.name} ${fixed(entry.ms)} ms`).join('; ') };
  };
  const shares = files.map((name) => {
    const profile = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as CpuProfile;
    return { whole: share(summarizeProfile(profile, 8)), steady: share(summarizeProfile(profile, 8, steadyWindowUs)) };
  }).sort((a, b) => b.whole.busy - a.whole.busy);
  const main = shares[0];
  if (main === undefined) return 'profile: no .cpuprofile written';
  const { steady, whole } = main;
  return [
    `remote_write agent under --cpu-prof, main thread: steady cycles ${cycles - steadyCycles + 1}–${cycles}: busy ${fixed(steady.busy / steadyCycles)} ms per cycle, garbage collector ${fixed(steady.gc / steadyCycles)} ms = ${fixed((100 * steady.gc) / steady.busy, 1)} %`,
    `(whole run, start-up included: ${fixed((100 * whole.gc) / whole.busy, 1)} %); steady top: ${steady.top}`,
  ].join(' ');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
