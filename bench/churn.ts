import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsOfShebang, originalExampleConfig, parseCycleLine } from './cycleFigures.js';
import { fixed, formatTable } from './figures.js';
import { BENCH_PREFIX, NamespacePool } from './namespaces.js';
import { compileFloor, FLOOR_SOURCE, runFloor, stopAgent } from './readers.js';

/**
 * Namespaces that come and go, against a long-running agent with its default reader (issue 22):
 *
 * - appear: `appear` namespaces appear at once beside a few resident ones, between two cycles. The
 *   first cycle that reads them (each entered once, its handles opened) beside the same agent's
 *   steady cycles over them, and beside the steady cycle of a reader that enters every namespace at
 *   every cycle (the reader before held handles: the setns reader past its descriptor budget).
 * - churn: `churn` namespaces, each with one end of a veth pair on the host, created, read and
 *   deleted `rounds` times under a 1 s interval, with a few namespaces the agent does not read
 *   created and deleted at the same moments (the control). A namespace is freed when the kernel
 *   destroys its veth pair, taking the host's end with it: an agent that kept one alive would show
 *   there. The agent's descriptors and threads are counted before, after the first round and at the end.
 */
export interface ChurnOptions {
  appear: number;
  churn: number;
  rounds: number;
  progress: (line: string) => void;
}

const DIST = fileURLToPath(new URL('..', import.meta.url));
const AGENT_MAIN = path.join(DIST, 'agent/main.js');
const AGENT = [...nodeFlagsOfShebang(readFileSync(AGENT_MAIN, 'utf8').split('\n')[0]!), AGENT_MAIN];
/** As in the readers benchmark: the setns reader left no descriptor, so it enters each namespace each cycle. */
const ENTERING = ['prlimit', '--nofile=512:512', '--'];
const RESIDENT = 10;
const CONTROL = 20;
const STEADY_CYCLES = 5;
/** Long enough for `appear` configured namespaces to be created between two cycles. */
const APPEAR_INTERVAL_S = 6;
/** How long a deleted namespace may take to be freed before the benchmark calls it kept alive. */
const FREED_LIMIT_MS = 20_000;

export async function benchChurn(options: ChurnOptions): Promise<string[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'nxb-churn-'));
  const lines: string[] = [];
  try {
    lines.push(...(await appearPart(work, options)));
    lines.push('');
    lines.push(...(await churnPart(work, options)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return lines;
}

async function appearPart(work: string, options: ChurnOptions): Promise<string[]> {
  const resident = new NamespacePool({ tag: 'ar' });
  const appearing = new NamespacePool({ tag: 'an' });
  // As many again, never read by anyone before the C floor's first round: the kernel's own cost of
  // a namespace's first reading (its proc entries, sysctl tables and sockets set up on first use).
  const untouched = new NamespacePool({ tag: 'af' });
  const config = writeChurnConfig(work, 'appear', `^${BENCH_PREFIX}a[rn]-`, APPEAR_INTERVAL_S);
  const total = RESIDENT + options.appear;
  try {
    await resident.grow(RESIDENT);
    const agent = AgentRun.start(config);
    let first: Cycle;
    let held: Cycle[];
    let creationMs: number;
    try {
      await agent.cycles(2, (cycle) => cycle.namespaces === RESIDENT);
      const started = performance.now();
      await appearing.grow(options.appear);
      creationMs = performance.now() - started;
      first = (await agent.cycles(1, (cycle) => cycle.namespaces !== RESIDENT, APPEAR_INTERVAL_S * 1000 + 60_000))[0]!;
      if (first.namespaces !== total) throw new Error(`the first cycle after they appeared read ${first.namespaces} of ${total} namespaces (caught mid-creation: ${fixed(creationMs)} ms)`);
      held = await agent.cycles(STEADY_CYCLES, (cycle) => cycle.namespaces === total);
    } finally {
      await agent.stop();
    }
    const entering = AgentRun.start(config, ENTERING);
    let enteringSteady: Cycle[];
    try {
      enteringSteady = (await entering.cycles(STEADY_CYCLES + 1, (cycle) => cycle.namespaces === total)).slice(1);
    } finally {
      await entering.stop();
    }
    await untouched.grow(options.appear);
    const floor = await runFloor(await compileFloor(work, FLOOR_SOURCE, 'setns-floor'), untouched.prefix, options.appear, []);
    const [floorFirst, floorSteady] = [floor.first.wallMs, floor.steady.wallMs];
    const failed = [first, ...held, ...enteringSteady].reduce((sum, cycle) => sum + cycle.failed, 0);
    const heldMs = median(held.map((cycle) => cycle.durationMs));
    const enteringMs = median(enteringSteady.map((cycle) => cycle.durationMs));
    const rows = [
      ['first cycle after they appeared (the setns reader opens them ahead, between cycles)', fixed(first.durationMs), `${fixed(first.durationMs / enteringMs, 2)}×`],
      [`held: steady (median of ${STEADY_CYCLES})`, fixed(heldMs), `${fixed(heldMs / enteringMs, 2)}×`],
      [`entering each cycle (past the budget): steady (median of ${STEADY_CYCLES})`, fixed(enteringMs), '1.00×'],
      [`C floor (bench/setnsFloor.c), ${options.appear} namespaces never read before: first round`, fixed(floorFirst), `${fixed(floorFirst / enteringMs, 2)}×`],
      ['C floor, the same namespaces: later rounds (median)', fixed(floorSteady), `${fixed(floorSteady / enteringMs, 2)}×`],
    ];
    return [
      `appear: ${options.appear} namespaces appear at once beside ${RESIDENT} resident ones (created in ${fixed(creationMs)} ms between two cycles, interval ${APPEAR_INTERVAL_S} s); default reader, the original's example config`,
      ...formatTable(['cycle', `collection ms (${total} namespaces)`, '× entering steady'], rows),
      `target: the first cycle no slower than the entering reader's steady cycle: ${first.durationMs <= enteringMs ? 'MET' : 'MISSED'}; failed reads: ${failed}`,
      `the kernel's first reading of a namespace costs the C floor ${fixed((floorFirst - floorSteady) / options.appear * 1000)} µs more than its later ones; the first cycle is ${fixed(first.durationMs / floorFirst, 2)}× the C floor's first round`,
    ];
  } finally {
    await Promise.all([resident.remove(), appearing.remove(), untouched.remove()]);
  }
}

interface Round {
  firstMs: number;
  steadyMs: number;
  freedMs: number;
  controlMs: number;
}

async function churnPart(work: string, options: ChurnOptions): Promise<string[]> {
  const tag = String(process.pid % 100_000);
  const churned = new NamespacePool({ tag: 'c', configure: false, hostEnds: `nxh${tag}c` });
  const control = new NamespacePool({ tag: 'q', configure: false, hostEnds: `nxh${tag}q` });
  const config = writeChurnConfig(work, 'churn', churned.whitelistPattern, 1);
  const agent = AgentRun.start(config);
  const rounds: Round[] = [];
  const counts: { when: string; fds: number; threads: number }[] = [];
  const loadBefore = loadavg()[0]!;
  try {
    await agent.cycles(2, (cycle) => cycle.namespaces === 0);
    counts.push({ when: 'before any namespace (no reader started yet)', ...agent.counts() });
    for (let round = 0; round < options.rounds; round += 1) {
      await Promise.all([churned.grow(options.churn), control.grow(CONTROL)]);
      const [first, steady] = await agent.cycles(2, (cycle) => cycle.namespaces === options.churn);
      if (first!.failed + steady!.failed > 0) throw new Error(`round ${round}: ${first!.failed + steady!.failed} reads failed`);
      const hostEnds = churned.namespaces.map((_, index) => churned.hostEnd(index));
      const controlEnds = control.namespaces.map((_, index) => control.hostEnd(index));
      const deleted = performance.now();
      const [freedMs, controlMs] = await Promise.all([
        churned.remove().then(() => allGone(hostEnds, deleted)),
        control.remove().then(() => allGone(controlEnds, deleted)),
      ]);
      if (freedMs === null || controlMs === null) {
        throw new Error(`round ${round}: a deleted namespace is alive ${FREED_LIMIT_MS / 1000} s later (the agent's: ${freedMs === null ? 'still alive' : 'freed'}, control: ${controlMs === null ? 'still alive' : 'freed'})`);
      }
      await agent.cycles(1, (cycle) => cycle.namespaces === 0);
      rounds.push({ firstMs: first!.durationMs, steadyMs: steady!.durationMs, freedMs, controlMs });
      if (round === 0) counts.push({ when: 'after round 1 (reader started, its namespaces gone)', ...agent.counts() });
      if ((round + 1) % 10 === 0) options.progress(`churn: round ${round + 1} of ${options.rounds}, freed in ${fixed(freedMs)} ms (control ${fixed(controlMs)} ms), fds ${agent.counts().fds}`);
    }
    counts.push({ when: `after round ${options.rounds}`, ...agent.counts() });
  } finally {
    await agent.stop();
    await Promise.all([churned.remove(), control.remove()]);
  }
  const late = rounds.filter((round) => round.freedMs > Math.max(1_000, round.controlMs + 1_000)).length;
  const [afterFirst, atEnd] = [counts[1]!, counts.at(-1)!];
  return [
    `churn: ${options.churn} namespaces (one end of a veth pair each on the host) created, read and deleted ${options.rounds} times under a 1 s interval, ${CONTROL} the agent does not read deleted at the same moments; default reader; load ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`,
    ...formatTable(['per round', 'median', 'p95', 'max'], [
      ['first cycle over the new namespaces, ms', ...spread(rounds.map((round) => round.firstMs))],
      ['the next cycle (held), ms', ...spread(rounds.map((round) => round.steadyMs))],
      ['deleted → every host end gone (the agent\'s namespaces), ms', ...spread(rounds.map((round) => round.freedMs))],
      ['deleted → every host end gone (the control), ms', ...spread(rounds.map((round) => round.controlMs))],
    ]),
    ...formatTable(['agent', 'descriptors', 'threads'], counts.map((count) => [count.when, String(count.fds), String(count.threads)])),
    `every deleted namespace freed: yes, ${rounds.length} rounds; later than max(1 s, the control + 1 s): ${late} rounds; descriptors back to their count after round 1: ${atEnd.fds === afterFirst.fds ? 'yes' : `NO (${afterFirst.fds} → ${atEnd.fds})`}; threads: ${atEnd.threads === afterFirst.threads ? 'yes' : `NO (${afterFirst.threads} → ${atEnd.threads})`}`,
  ];
}

function writeChurnConfig(work: string, name: string, whitelist: string, intervalS: number): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, originalExampleConfig(whitelist, [`interval: ${intervalS}s`]));
  return file;
}

/** Milliseconds from `since` until none of the host devices exists, or null past FREED_LIMIT_MS. */
async function allGone(devices: readonly string[], since: number): Promise<number | null> {
  let left = devices.filter((device) => existsSync(`/sys/class/net/${device}`));
  while (left.length > 0) {
    if (performance.now() - since > FREED_LIMIT_MS) return null;
    await new Promise((resolve) => setTimeout(resolve, 10));
    left = left.filter((device) => existsSync(`/sys/class/net/${device}`));
  }
  return performance.now() - since;
}

interface Cycle {
  namespaces: number;
  failed: number;
  durationMs: number;
}

/** A long-running agent whose "cycle collected" lines (debug log, stderr) can be awaited. */
class AgentRun {
  readonly #child: ChildProcess;
  #waiter: ((cycle: Cycle) => void) | null = null;
  #failure: Error | null = null;
  #tail = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      this.#tail = (this.#tail + chunk.toString()).slice(-2_000);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const cycle = parseCycleLine(line);
        if (cycle !== null) this.#waiter?.(cycle);
      }
    });
    child.on('exit', (code, signal) => {
      this.#failure = new Error(`agent exited (${code ?? signal}): ${this.#tail.trim().split('\n').slice(-2).join(' | ')}`);
      this.#waiter?.({ namespaces: -1, failed: 0, durationMs: 0 });
    });
  }

  static start(config: string, wrap: readonly string[] = []): AgentRun {
    const [command, ...args] = [...wrap, process.execPath, ...AGENT, '--config', config, '--log-level', 'debug'];
    return new AgentRun(spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  }

  /** The next `count` cycles that match, from now on (others are skipped); fails past `limitMs`. */
  cycles(count: number, matches: (cycle: Cycle) => boolean, limitMs = 120_000): Promise<Cycle[]> {
    const found: Cycle[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`agent: ${found.length} of ${count} matching cycles within ${limitMs / 1000} s: ${this.#tail.slice(-300)}`));
      }, limitMs);
      this.#waiter = (cycle) => {
        if (this.#failure !== null) {
          clearTimeout(timer);
          reject(this.#failure);
          return;
        }
        if (!matches(cycle)) return;
        found.push(cycle);
        if (found.length < count) return;
        clearTimeout(timer);
        this.#waiter = null;
        resolve(found);
      };
      if (this.#failure !== null) this.#waiter({ namespaces: -1, failed: 0, durationMs: 0 });
    });
  }

  counts(): { fds: number; threads: number } {
    const pid = this.#child.pid!;
    return { fds: readdirSync(`/proc/${pid}/fd`).length, threads: readdirSync(`/proc/${pid}/task`).length };
  }

  stop(): Promise<void> {
    return stopAgent(this.#child);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function spread(values: readonly number[]): [string, string, string] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
  return [fixed(at(0.5)), fixed(at(0.95)), fixed(sorted.at(-1)!)];
}
