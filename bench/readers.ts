import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commOfStat, cpuOfStat, nodeFlagsOfShebang, originalExampleConfig, parseCycleLine, parseFloorOutput, steadyFigures, threadGroupOf, type CycleSample, type FloorRound, type ThreadCpu } from './cycleFigures.js';
import { fixed, formatTable, parseShellTimes } from './figures.js';
import { measureCommand } from './measure.js';
import { NamespacePool } from './namespaces.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
const AGENT_MAIN = path.join(DIST, 'agent/main.js');
/** The agent as installed: node with the flags of its shebang. */
const AGENT = [...nodeFlagsOfShebang(readFileSync(AGENT_MAIN, 'utf8').split('\n')[0]!), AGENT_MAIN];
export const FLOOR_SOURCE = fileURLToPath(new URL('../../bench/setnsFloor.c', import.meta.url));
const HELD_FLOOR_SOURCE = fileURLToPath(new URL('../../bench/heldFloor.c', import.meta.url));
/**
 * The setns reader past its descriptor budget: a hard nofile limit of 512 (all of it kept back)
 * leaves none, so it enters every namespace at every cycle, as before it held them.
 */
const ENTERING = ['prlimit', '--nofile=512:512', '--'];
/** Namespaces on the host that match no filter, as users have: discovery lists them too. */
const OTHER_NAMESPACES = 100;
/** Cycles of one long-running agent: the first ones warm up, the last STEADY_CYCLES count. */
const CYCLE_COUNT = 8;
const STEADY_CYCLES = 4;
const FLOOR_ROUNDS = 6;
const READERS = ['setns', 'nsenter'] as const;
/** Whole --dry-run processes per reader and count; the median (by wall) is reported. */
const FRESH_RUNS = 3;

interface Row {
  count: number;
  run: string;
  wallMs: number;
  cpuMs: number | null;
  rssMb: number | null;
  /** The collection alone (netns_exporter_collection_duration_seconds), for a whole process. */
  collectionMs?: number;
}

/**
 * CPU per cycle, the headline figure: for each count and reader, a long-running agent (the
 * original's example config, pull mode, a 2 s interval) whose process
 * tree's CPU is read from /proc between cycles, shell workers and their reaped nsenter chains
 * included; a fresh `--dry-run` process per reader (and `auto`, the default); the bare `nsenter cat`
 * loop; and the C floor (bench/setnsFloor.c), all over the same namespaces in the same run, with
 * OTHER_NAMESPACES namespaces on the host that the filter leaves out.
 */
export async function benchReaders(counts: number[]): Promise<string[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'nxb-readers-'));
  const others = new NamespacePool({ tag: 'o', configure: false });
  const pool = new NamespacePool({ tag: 'r' });
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const floor = await compileFloor(work, FLOOR_SOURCE, 'setns-floor').catch((error: Error) => {
      notes.push(`C floor not measured: ${error.message}`);
      return null;
    });
    const heldFloor = await compileFloor(work, HELD_FLOOR_SOURCE, 'held-floor').catch((error: Error) => {
      notes.push(`held C floor not measured: ${error.message}`);
      return null;
    });
    await others.grow(OTHER_NAMESPACES);
    for (const count of [...counts].sort((a, b) => a - b)) {
      const load = loadavg()[0]!;
      const namespaces = await pool.grow(count);
      if (floor !== null) rows.push(...(await floorRows(floor, pool.prefix, count)));
      if (heldFloor !== null) rows.push(...(await heldFloorRows(heldFloor, pool.prefix, count)));
      rows.push({ count, run: 'bare nsenter cat loop', ...(await bareLoop(namespaces.map((ns) => ns.path))), rssMb: null });
      for (const reader of READERS) {
        const config = writeConfig(work, reader, pool.whitelistPattern);
        const steady = await longRunning(config, count);
        rows.push({ count, run: `${reader}: steady state (cycles ${CYCLE_COUNT - STEADY_CYCLES + 1}–${CYCLE_COUNT})`, wallMs: steady.wallMs, cpuMs: steady.cpuMs, rssMb: steady.rssMb });
        rows.push({ count, run: `${reader}: first cycle of that agent`, wallMs: steady.firstWallMs, cpuMs: null, rssMb: null });
        rows.push(await freshRun(config, work, count, reader));
      }
      const entering = await longRunning(writeConfig(work, 'setns', pool.whitelistPattern), count, { wrap: ENTERING });
      rows.push({ count, run: `setns entering each cycle (past the budget): steady state`, wallMs: entering.wallMs, cpuMs: entering.cpuMs, rssMb: entering.rssMb });
      rows.push(await freshRun(writeConfig(work, 'auto', pool.whitelistPattern), work, count, 'auto'));
      notes.push(`${count}: load ${load.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
    }
  } finally {
    await Promise.all([pool.remove(), others.remove()]);
    rmSync(work, { recursive: true, force: true });
  }
  return [
    `CPU per cycle (threads 4, ${availableParallelism()} CPUs; original's example config: 5 interface metrics + nf_conntrack_count; ${OTHER_NAMESPACES} other namespaces on the host)`,
    ...formatTable(['namespaces', 'run', 'wall ms', 'CPU ms', 'CPU µs/ns', 'peak RSS MB', 'collection ms', '× floor', '× held floor'], rows.map((row) => cells(row, rows))),
    '',
    'steady state: one agent, cycles back to back, median wall of the last cycles, CPU of its process tree (threads, shells, nsenter chains) per cycle;',
    'fresh: node dist/agent/main.js --dry-run, whole process (CPU incl. children, peak RSS of the largest process); collection ms is the collection alone;',
    '× floor: wall (collection ms for fresh runs) over the C floor\'s steady rounds in the same run; × held floor: over the held C loop\'s steady rounds (bench/heldFloor.c).',
    ...notes,
  ];
}

function cells(row: Row, rows: readonly Row[]): string[] {
  const floor = rows.find((other) => other.count === row.count && other.run.startsWith('C floor: steady'));
  const held = rows.find((other) => other.count === row.count && other.run.startsWith('C held floor: steady'));
  const compared = row.collectionMs ?? row.wallMs;
  return [
    String(row.count), row.run, fixed(row.wallMs), fixed(row.cpuMs), row.cpuMs === null ? 'n/a' : fixed((row.cpuMs * 1000) / row.count),
    fixed(row.rssMb, 1), row.collectionMs === undefined ? '' : fixed(row.collectionMs), floor === undefined ? '' : `${fixed(compared / floor.wallMs, 2)}×`,
    held === undefined ? '' : `${fixed(compared / held.wallMs, 2)}×`,
  ];
}

/** The original's example config with `reader`, pull mode, a 2 s interval unless given; `extra` lines appended (a push section). */
export function writeConfig(work: string, reader: string, whitelist: string, name = reader, extra: readonly string[] = [], intervalMs = 2_000): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, originalExampleConfig(whitelist, [
    `reader: ${reader}`,
    // 2 s unless asked: short enough that a slow reader's cycles run back to back.
    `interval: ${intervalMs}ms`,
    'read_timeout: 2s',
    ...extra,
  ]));
  return file;
}

export async function compileFloor(work: string, source: string, name: string): Promise<string> {
  const binary = path.join(work, name);
  await new Promise<void>((resolve, reject) => {
    execFile('gcc', ['-O2', '-o', binary, source], (error, _stdout, stderr) => (error === null ? resolve() : reject(new Error(`gcc: ${stderr.trim() || error.message}`))));
  });
  return binary;
}

async function floorRows(binary: string, prefix: string, count: number): Promise<Row[]> {
  const floor = await runFloor(binary, prefix, count, []);
  // The same loop doing the setns worker's system calls (two rtnetlink dumps instead of /proc/net/dev).
  const worker = await runFloor(binary, prefix, count, ['netlink']);
  return [
    { count, run: 'C floor: steady (setns, net/dev + conntrack)', wallMs: floor.steady.wallMs, cpuMs: floor.steady.cpuMs, rssMb: null },
    { count, run: 'C floor: first round', wallMs: floor.first.wallMs, cpuMs: floor.first.cpuMs, rssMb: null },
    { count, run: 'C, the worker\'s syscalls: steady', wallMs: worker.steady.wallMs, cpuMs: worker.steady.cpuMs, rssMb: null },
  ];
}

/** The held C loop: entering every namespace once (its setup) and the rounds that re-read what it holds. */
async function heldFloorRows(binary: string, prefix: string, count: number): Promise<Row[]> {
  const floor = await runFloor(binary, prefix, count, []);
  return [
    { count, run: 'C held floor: steady (pread, one dump)', wallMs: floor.steady.wallMs, cpuMs: floor.steady.cpuMs, rssMb: null },
    { count, run: 'C held floor: setup (enter, open, home)', wallMs: floor.first.wallMs, cpuMs: floor.first.cpuMs, rssMb: null },
  ];
}

/** The floor program's first round (a fresh process) and the median of its later rounds (steady state). */
export async function runFloor(binary: string, prefix: string, count: number, extra: string[]): Promise<{ first: FloorRound; steady: FloorRound }> {
  const text = await new Promise<string>((resolve, reject) => {
    execFile(binary, ['/run/netns', prefix, String(FLOOR_ROUNDS), ...extra], (error, stdout, stderr) => (error === null ? resolve(stdout) : reject(new Error(`floor: ${stderr.trim()}`))));
  });
  const rounds = parseFloorOutput(text);
  if (rounds.some((round) => round.namespaces !== count)) throw new Error(`the floor read ${rounds[0]!.namespaces} namespaces, expected ${count}`);
  const later = rounds.slice(1).sort((a, b) => a.wallMs - b.wallMs);
  return { first: rounds[0]!, steady: later[Math.floor((later.length - 1) / 2)] ?? rounds[0]! };
}

/** `for f do nsenter --net=$f cat /proc/net/dev; done`: the floor of a process per namespace. */
async function bareLoop(paths: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  const started = performance.now();
  const script = 'for f do nsenter --net="$f" cat /proc/net/dev >/dev/null || exit 1; done; times';
  const text = await new Promise<string>((resolve, reject) => {
    execFile('sh', ['-c', script, 'sh', ...paths], { maxBuffer: 1024 * 1024 }, (error, stdout) => (error === null ? resolve(stdout) : reject(new Error(`bare nsenter loop: ${error.message}`))));
  });
  const cost = parseShellTimes(text);
  return { wallMs: performance.now() - started, cpuMs: cost.userMs + cost.sysMs };
}

/**
 * One agent, `cycles` cycles: its cycle log lines, and its tree's CPU read from /proc after each.
 * `nodeFlags` go before the agent's own (--cpu-prof, say).
 */
export async function longRunning(
  config: string, count: number, options: { cycles?: number; steady?: number; nodeFlags?: readonly string[]; wrap?: readonly string[]; threads?: boolean } = {},
): Promise<{ wallMs: number; cpuMs: number; firstWallMs: number; rssMb: number; steadyWindowUs: { fromUs: number; toUs: number }; samples: CycleSample[] }> {
  const CYCLES = options.cycles ?? CYCLE_COUNT;
  // The log (JSON lines, stderr) carries a "cycle collected" line per cycle.
  const [command, ...args] = [...(options.wrap ?? []), process.execPath, ...(options.nodeFlags ?? []), ...AGENT, '--config', config, '--log-level', 'debug'];
  const child = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const cycles: CycleSample[] = [];
  /** When each cycle's line arrived, µs on CLOCK_MONOTONIC (a CPU profile's clock too). */
  const arrivedUs: number[] = [];
  let tail = '';
  const limitMs = 60_000 + CYCLES * count * 30;
  try {
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`agent did not run ${CYCLES} cycles within ${limitMs / 1000} s: ${tail.slice(-300)}`)), limitMs);
      child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`)));
      child.stderr!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        tail = (tail + chunk.toString()).slice(-4_000);
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const cycle = parseCycleLine(line);
          if (cycle === null) continue;
          if (cycle.namespaces !== count || cycle.failed > 0) {
            reject(new Error(`a cycle read ${cycle.namespaces - cycle.failed} of ${count} namespaces (expected all)`));
            return;
          }
          cycles.push({ durationMs: cycle.durationMs, cpuMs: treeCpuMs(child.pid!), ...(options.threads === true ? { threads: threadCpuMs(child.pid!) } : {}) });
          arrivedUs.push(Number(process.hrtime.bigint() / 1000n));
          if (cycles.length === CYCLES) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
    });
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    const steady = options.steady ?? STEADY_CYCLES;
    const steadyWindowUs = { fromUs: arrivedUs[arrivedUs.length - steady - 1]!, toUs: arrivedUs.at(-1)! };
    return { ...steadyFigures(cycles, steady), rssMb: peak === null ? 0 : Number(peak[1]) / 1024, steadyWindowUs, samples: cycles };
  } finally {
    await stopAgent(child);
  }
}

/** CPU (ms) of a process and its direct children (the shell workers, whose cutime holds their chains). */
function treeCpuMs(pid: number): number {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = cpuOfStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
    } catch {
      continue; // gone meanwhile
    }
    if (stat.pid === pid || stat.ppid === pid) ticks += stat.ownTicks + stat.childTicks;
  }
  return ticks / ticksPerMs;
}

/** CPU (ms) of one process's threads by group (main, reader threads, helpers), from /proc/<pid>/task. */
function threadCpuMs(pid: number): ThreadCpu {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const cpu: ThreadCpu = { main: 0, reader: 0, helpers: 0 };
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let line;
    try {
      line = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile (a libuv thread, a reader thread that was stopped)
    }
    cpu[threadGroupOf(Number(task), pid, commOfStat(line))] += cpuOfStat(line).ownTicks / ticksPerMs;
  }
  return cpu;
}

/** SIGTERM, and SIGKILL 15 s later if it is still running. */
export function stopAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Whole `--dry-run` processes: node start-up, the reader's start (auto: its self-test), one collection. */
async function freshRun(config: string, work: string, count: number, reader: string): Promise<Row> {
  const out = path.join(work, 'out.prom');
  const runs: Row[] = [];
  for (let run = 0; run < FRESH_RUNS; run += 1) {
    const measured = await measureCommand(process.execPath, [...AGENT, '--dry-run', '--config', config], { stdoutPath: out });
    if (measured.exitCode !== 0) throw new Error(`--dry-run (${reader}) exited with ${measured.exitCode}: ${measured.stderr.trim().slice(0, 300)}`);
    const text = readFileSync(out, 'utf8');
    const read = text.split('\n').filter((line) => line.startsWith('netns_network_namespace{')).length;
    if (read !== count) throw new Error(`--dry-run (${reader}) listed ${read} of ${count} namespaces`);
    const collection = /^netns_exporter_collection_duration_seconds (\S+)$/m.exec(text);
    runs.push({
      count, run: `${reader}: fresh process (--dry-run)`, wallMs: measured.wallMs, cpuMs: measured.userMs + measured.sysMs,
      rssMb: measured.maxRssKb === null ? null : measured.maxRssKb / 1024, collectionMs: collection === null ? undefined : Number(collection[1]) * 1000,
    });
  }
  return [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((runs.length - 1) / 2)]!;
}
