/**
 * Pure helpers of the fleet benchmark: reading /proc/<pid>/stat and /proc/<pid>/status, percentiles,
 * the peak request rate per second, and what one simulated push reports. Kept apart from the code
 * that starts servers and processes so they can be tested on literal input.
 */

/** One push of one simulated node, as the shard reports it to the driver. */
export interface PushRecord {
  /** Epoch ms when the cycle started (registry built, then pushed). */
  startMs: number;
  /** The target's whole push (encode + HTTP, retries included), as PushOutcome.durationMs. */
  ms: number;
  /** HTTP requests made, retries included. */
  requests: number;
  /** Requests beyond the first of each request-sized batch: retries. */
  retries: number;
  ok: boolean;
  /** The node's cycle, from 0: its first push sends every series new (labels encoded, the receiver indexes them). */
  cycle: number;
  /** Samples this push delivered (remote_write: what its drain sent, buffered ones from before included). */
  samples: number;
}

/** CPU time (user + system) in clock ticks from /proc/<pid>/stat; the comm field may hold spaces and ")". */
export function parseProcStatTicks(text: string): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime field 14 and stime field 15 (1-based, man 5 proc).
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 120))}`);
  return utime + stime;
}

/** Resident set size in KiB from /proc/<pid>/status (VmRSS), or null when absent (a zombie). */
export function parseStatusRssKb(text: string): number | null {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return match ? Number(match[1]) : null;
}

/** The q-quantile (0..1) by the nearest-rank method; null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** The most requests started within one wall-clock second. */
export function peakPerSecond(records: readonly PushRecord[]): number {
  const perSecond = new Map<number, number>();
  let peak = 0;
  for (const record of records) {
    const second = Math.floor(record.startMs / 1000);
    const count = (perSecond.get(second) ?? 0) + record.requests;
    perSecond.set(second, count);
    peak = Math.max(peak, count);
  }
  return peak;
}

/** What the sampler saw of one process over a run. */
export interface ProcessUsage {
  /** CPU seconds over the window. */
  cpuSeconds: number;
  wallSeconds: number;
  /** The busiest one-second sample, in cores (1.0 = one core busy). */
  peakCores: number;
  peakRssKb: number;
  lastRssKb: number;
  /** CPU seconds and wall seconds since `mark()`, null when never marked. */
  sinceMark: { cpuSeconds: number; wallSeconds: number } | null;
}

export function averageCores(usage: ProcessUsage): number {
  return usage.wallSeconds > 0 ? usage.cpuSeconds / usage.wallSeconds : 0;
}

/** Accumulates one process's samples (CPU ticks, RSS) taken about once a second. */
export class UsageTracker {
  #firstTicks: number | null = null;
  #lastTicks = 0;
  #firstMs = 0;
  #lastMs = 0;
  #peakCores = 0;
  #peakRssKb = 0;
  #lastRssKb = 0;
  #mark: { ticks: number; atMs: number } | null = null;

  constructor(readonly ticksPerSecond: number) {}

  /** Starts a second window at the last sample taken (the steady part of a run). */
  mark(): void {
    if (this.#firstTicks !== null) this.#mark = { ticks: this.#lastTicks, atMs: this.#lastMs };
  }

  add(atMs: number, ticks: number, rssKb: number | null): void {
    if (this.#firstTicks === null) {
      this.#firstTicks = ticks;
      this.#firstMs = atMs;
    } else if (atMs > this.#lastMs) {
      const cores = (ticks - this.#lastTicks) / this.ticksPerSecond / ((atMs - this.#lastMs) / 1000);
      this.#peakCores = Math.max(this.#peakCores, cores);
    }
    this.#lastTicks = ticks;
    this.#lastMs = atMs;
    if (rssKb !== null) {
      this.#lastRssKb = rssKb;
      this.#peakRssKb = Math.max(this.#peakRssKb, rssKb);
    }
  }

  usage(): ProcessUsage {
    const cpuTicks = this.#firstTicks === null ? 0 : this.#lastTicks - this.#firstTicks;
    return {
      cpuSeconds: cpuTicks / this.ticksPerSecond,
      wallSeconds: (this.#lastMs - this.#firstMs) / 1000,
      peakCores: this.#peakCores,
      peakRssKb: this.#peakRssKb,
      lastRssKb: this.#lastRssKb,
      sinceMark: this.#mark === null ? null
        : { cpuSeconds: (this.#lastTicks - this.#mark.ticks) / this.ticksPerSecond, wallSeconds: (this.#lastMs - this.#mark.atMs) / 1000 },
    };
  }
}

/** What the shards report of their steady window (after every node's first push). */
export interface SteadyWindow {
  cpuSeconds: number;
  samples: number;
}

/**
 * The simulated nodes' CPU per sample delivered, in µs, over the shards' steady windows (a node's
 * first push encodes every series' labels; the steady cost is what a fleet pays each cycle after),
 * and over the whole run for comparison. Null where nothing was delivered.
 */
export function clientCpuPerSample(shards: readonly { cpuSeconds: number; pushes: readonly PushRecord[]; steady: SteadyWindow | null }[]): { steadyUs: number | null; wholeUs: number | null } {
  const delivered = shards.reduce((sum, shard) => sum + shard.pushes.reduce((inner, push) => inner + push.samples, 0), 0);
  const cpu = shards.reduce((sum, shard) => sum + shard.cpuSeconds, 0);
  const windows = shards.map((shard) => shard.steady);
  const steadySamples = windows.reduce((sum, window) => sum + (window?.samples ?? 0), 0);
  // One shard without a window (a node never finished its first push) leaves the fleet's steady figure unknown.
  const steadyUs = windows.every((window) => window !== null) && steadySamples > 0
    ? (windows.reduce((sum, window) => sum + window!.cpuSeconds, 0) * 1e6) / steadySamples : null;
  return { steadyUs, wholeUs: delivered > 0 ? (cpu * 1e6) / delivered : null };
}

/**
 * The receiver's CPU per sample delivered, in µs, over the steady window: its CPU from the moment
 * every node had pushed once, over the samples of the pushes started from then. Null without a
 * window or without samples.
 */
export function receiverCpuPerSample(sinceMark: { cpuSeconds: number } | null, pushes: readonly PushRecord[], fromMs: number | null): number | null {
  if (sinceMark === null || fromMs === null) return null;
  const samples = pushes.reduce((sum, push) => sum + (push.startMs >= fromMs ? push.samples : 0), 0);
  return samples > 0 ? (sinceMark.cpuSeconds * 1e6) / samples : null;
}

/** Which CPUs the receiver and the simulated nodes run on (`taskset`), or null: not pinned. */
export interface Pinning {
  receiver: number[];
  nodes: number[];
}

/**
 * `--pin`: "auto" (the receiver on the first half of the CPUs, the nodes on the rest; none with one
 * CPU), "off", or "R/N" with CPU lists as taskset takes them ("0/1", "0-1/2-3", "0,2/1,3").
 */
export function parsePin(text: string, cpuCount: number): Pinning | null {
  const value = text.trim();
  if (value === 'off') return null;
  if (value === 'auto') {
    if (cpuCount < 2) return null;
    const half = Math.floor(cpuCount / 2);
    return { receiver: range(0, half), nodes: range(half, cpuCount) };
  }
  const parts = value.split('/');
  if (parts.length !== 2) throw new Error(`--pin: expected auto, off or RECEIVER_CPUS/NODE_CPUS such as 0/1, got ${JSON.stringify(text)}`);
  const [receiver, nodes] = parts.map((part) => cpuList(part, cpuCount)) as [number[], number[]];
  if (receiver.some((cpu) => nodes.includes(cpu))) throw new Error(`--pin: the receiver and the nodes share a CPU in ${JSON.stringify(text)}`);
  return { receiver, nodes };
}

/** "0-2,5" → [0, 1, 2, 5], every CPU below `cpuCount`. */
function cpuList(text: string, cpuCount: number): number[] {
  const cpus = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(item.trim());
    if (match === null) throw new Error(`--pin: ${JSON.stringify(text)} is not a CPU list such as 0, 0-1 or 0,2`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last >= cpuCount) throw new Error(`--pin: CPUs ${JSON.stringify(item)} are not among this machine's 0-${cpuCount - 1}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, index) => from + index);
}

/** "2m", "90s", "1500ms" or plain seconds → ms, for the command line. */
export function parseDurationArg(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) throw new Error(`${what}: expected a duration such as 90s, 2m or 500ms, got ${JSON.stringify(text)}`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}
