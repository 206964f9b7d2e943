/**
 * Pure helpers of the cycle benchmark (readers.ts): what a process's /proc stat line, the floor
 * program and the agent's cycle log lines say, and the steady-state figures of a run of cycles.
 */

/** CPU of one process from /proc/<pid>/stat, in clock ticks: its own, and its reaped children's. */
export interface StatCpu {
  pid: number;
  ppid: number;
  ownTicks: number;
  childTicks: number;
}

export function cpuOfStat(line: string): StatCpu {
  // The name (field 2) may hold spaces and parentheses: the fields that follow start after the last ')'.
  const close = line.lastIndexOf(')');
  const fields = close < 0 ? [] : line.slice(close + 2).trim().split(/\s+/);
  if (fields.length < 15) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(line.slice(0, 80))}`);
  // After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17), counted from 1.
  const at = (field: number) => Number(fields[field - 3]);
  return { pid: Number(line.slice(0, line.indexOf(' '))), ppid: at(4), ownTicks: at(14) + at(15), childTicks: at(16) + at(17) };
}

export interface FloorRound {
  namespaces: number;
  wallMs: number;
  cpuMs: number;
}

/** bench/setnsFloor.c prints "<namespaces> <wall ms> <cpu ms>" per round. */
export function parseFloorOutput(text: string): FloorRound[] {
  const rounds = text.trim().split('\n').map((line) => /^(\d+) ([\d.]+) ([\d.]+)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ namespaces: Number(match[1]), wallMs: Number(match[2]), cpuMs: Number(match[3]) }));
  if (rounds.length === 0) throw new Error(`the floor program printed no rounds: ${JSON.stringify(text.slice(0, 200))}`);
  return rounds;
}

/** The agent's debug line at the end of each collection (agent/loop.ts, "cycle collected"). */
export function parseCycleLine(line: string): { namespaces: number; failed: number; durationMs: number } | null {
  let record: { msg?: unknown; namespaces?: unknown; failed?: unknown; duration_ms?: unknown };
  try {
    record = JSON.parse(line) as typeof record;
  } catch {
    return null;
  }
  if (record.msg !== 'cycle collected' || typeof record.duration_ms !== 'number') return null;
  return { namespaces: Number(record.namespaces), failed: Number(record.failed), durationMs: record.duration_ms };
}

/** One cycle of a long-running agent: its collection time and the tree's cumulative CPU at its end. */
export interface CycleSample {
  durationMs: number;
  cpuMs: number;
  /** The agent process's cumulative CPU by thread group, where asked for. */
  threads?: ThreadCpu;
}

/**
 * CPU (ms) of an agent process by thread: its main thread (the loop, the families, the push's
 * encoding and HTTP), its reader threads (they name themselves netns-reader) and the rest (V8's
 * platform thread: concurrent GC and optimising compilation; libuv's pool: gzip, file system).
 */
export interface ThreadCpu {
  main: number;
  reader: number;
  helpers: number;
}

/** The name (comm) in a /proc/<pid>/task/<tid>/stat line: between the first '(' and the last ')'. */
export function commOfStat(line: string): string {
  return line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
}

export function threadGroupOf(tid: number, pid: number, comm: string): keyof ThreadCpu {
  if (tid === pid) return 'main';
  return comm === 'netns-reader' ? 'reader' : 'helpers';
}

/** Each thread group's CPU per cycle over the last `steady` cycles; null where a sample lacks it. */
export function steadyThreads(cycles: readonly CycleSample[], steady: number): ThreadCpu | null {
  const from = cycles[cycles.length - steady - 1]?.threads;
  const to = cycles.at(-1)?.threads;
  if (from === undefined || to === undefined) return null;
  return { main: (to.main - from.main) / steady, reader: (to.reader - from.reader) / steady, helpers: (to.helpers - from.helpers) / steady };
}

/**
 * The last `steady` cycles: median collection time, and the CPU the process tree used over them
 * divided evenly (a single cycle's CPU is too coarse at 10 ms clock ticks). The first cycle's
 * collection time is kept as the warm-up figure.
 */
export function steadyFigures(cycles: readonly CycleSample[], steady: number): { cycles: number; wallMs: number; cpuMs: number; firstWallMs: number } {
  if (cycles.length < steady + 1) throw new Error(`need ${steady + 1} cycles for ${steady} steady ones, got ${cycles.length}`);
  const tail = cycles.slice(-steady);
  const walls = tail.map((cycle) => cycle.durationMs).sort((a, b) => a - b);
  const cpuMs = (tail.at(-1)!.cpuMs - cycles[cycles.length - steady - 1]!.cpuMs) / steady;
  return { cycles: steady, wallMs: walls[Math.floor((walls.length - 1) / 2)]!, cpuMs, firstWallMs: cycles[0]!.durationMs };
}

/** The node flags in the agent's shebang (`#!/usr/bin/env -S node <flags>`): the benchmark runs the agent as installed. */
export function nodeFlagsOfShebang(line: string): string[] {
  const match = /^#!\S*env(?: -S)? node(?:\s+(.*))?$/.exec(line.trim());
  return match?.[1] === undefined ? [] : match[1].trim().split(/\s+/);
}

/**
 * The original Go exporter's example config as the long-running benchmarks run it: five interface
 * metrics and its one proc metric (nf_conntrack_count), pull mode on a port the kernel picks,
 * namespaces limited to the benchmark's own; `extra` lines (reader, interval, push) follow.
 */
export function originalExampleConfig(whitelist: string, extra: readonly string[]): string {
  return [
    'namespaces_filter:',
    `  whitelist_pattern: ${JSON.stringify(whitelist)}`,
    'interface_metrics: [rx_bytes, rx_packets, rx_dropped, tx_bytes, tx_packets]',
    'proc_metrics:',
    '  nat_conntrack:',
    '    file: sys/net/netfilter/nf_conntrack_count',
    'api_server:',
    '  server_address: 127.0.0.1',
    '  server_port: 0',
    ...extra,
    '',
  ].join('\n');
}
