/**
 * The receivers of the fleet benchmark, each the real server from its Debian package on loopback
 * (started as the tests start them, data in a temporary folder removed on stop), plus what the
 * benchmark measures from outside: CPU and RSS from /proc/<pid>, and one scrape of a Pushgateway's
 * /metrics, streamed and counted, never held in memory.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createGunzip } from 'node:zlib';
import { startVictoriaMetrics } from '../test/helpers/remoteWrite.js';
import { startPrometheus, startPushgateway, type RunningServer } from '../test/helpers/servers.js';
import { startShardedTier } from '../test/helpers/vmagentSharded.js';
import { parseProcStatTicks, parseStatusRssKb, UsageTracker } from './fleetFigures.js';
import type { Protocol } from './fleetShard.js';

export type ReceiverKind = 'pushgateway' | 'pushgateway-unchecked' | 'prometheus' | 'victoria-metrics' | 'vmagent-sharded';
/**
 * `pushgateway-unchecked` is the gateway with --push.disable-consistency-check: by default every
 * push is checked against every group the gateway holds, which is what makes it slow down as
 * the fleet grows; without the check one inconsistent push breaks the scrape for every group.
 */
export const RECEIVER_KINDS: readonly ReceiverKind[] = ['pushgateway', 'pushgateway-unchecked', 'prometheus', 'victoria-metrics', 'vmagent-sharded'];
export const DEFAULT_RECEIVERS: readonly ReceiverKind[] = ['pushgateway', 'prometheus', 'victoria-metrics'];

export interface Receiver {
  kind: ReceiverKind;
  protocol: Protocol;
  /** What the agent is configured with: the gateway's base URL, or the write URL. */
  pushUrl: string;
  server: RunningServer;
}

export async function startReceiver(kind: ReceiverKind): Promise<Receiver> {
  switch (kind) {
    case 'pushgateway':
    case 'pushgateway-unchecked': {
      const server = await startPushgateway(['--persistence.file=', ...(kind === 'pushgateway-unchecked' ? ['--push.disable-consistency-check'] : [])]);
      return { kind, protocol: 'pushgateway', pushUrl: server.url, server };
    }
    case 'prometheus': {
      const server = await startPrometheus();
      return { kind, protocol: 'remote_write', pushUrl: `${server.url}/api/v1/write`, server };
    }
    case 'victoria-metrics': {
      const server = await startVictoriaMetrics();
      return { kind, protocol: 'remote_write', pushUrl: `${server.url}/api/v1/write`, server };
    }
    case 'vmagent-sharded': {
      // haproxy → two vmagents → two sharded VictoriaMetrics (test/helpers/vmagentSharded.ts). The
      // receiver's CPU and RSS figures are haproxy's alone: the tier is five processes.
      const tier = await startShardedTier();
      const server: RunningServer = {
        port: Number(new URL(tier.writeUrl).port), url: new URL(tier.writeUrl).origin, dir: tier.dir, process: tier.front, output: tier.log, stop: () => tier.stop(),
      };
      return { kind, protocol: 'remote_write', pushUrl: tier.writeUrl, server };
    }
  }
}

let ticksPerSecond: number | null = null;

/** The kernel's clock ticks per second (USER_HZ, 100 on every common build). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU ticks and RSS of a live process, or null once it has gone. */
function readProcess(pid: number): { ticks: number; rssKb: number | null } | null {
  try {
    return { ticks: parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')), rssKb: parseStatusRssKb(readFileSync(`/proc/${pid}/status`, 'utf8')) };
  } catch {
    return null;
  }
}

/** Samples a set of processes once a second until stopped; `onSample` may ask to stop the run. */
export class ProcessSampler {
  readonly #trackers = new Map<number, UsageTracker>();
  #timer: NodeJS.Timeout | null = null;

  constructor(pids: readonly number[], readonly onSample: (sampler: ProcessSampler) => void = () => undefined) {
    for (const pid of pids) this.#trackers.set(pid, new UsageTracker(clockTicks()));
  }

  track(pid: number): void {
    if (!this.#trackers.has(pid)) this.#trackers.set(pid, new UsageTracker(clockTicks()));
  }

  start(): void {
    this.sample();
    this.#timer = setInterval(() => {
      this.sample();
      this.onSample(this);
    }, 1_000);
  }

  sample(): void {
    const now = Date.now();
    for (const [pid, tracker] of this.#trackers) {
      const seen = readProcess(pid);
      if (seen !== null) tracker.add(now, seen.ticks, seen.rssKb);
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.sample();
  }

  tracker(pid: number): UsageTracker {
    const tracker = this.#trackers.get(pid);
    if (tracker === undefined) throw new Error(`pid ${pid} is not sampled`);
    return tracker;
  }

  lastRssKb(pids: readonly number[]): number {
    return pids.reduce((sum, pid) => sum + (this.#trackers.get(pid)?.usage().lastRssKb ?? 0), 0);
  }
}

export interface ScrapeResult {
  ms: number;
  /** Bytes on the wire (gzip) and the text they hold. */
  bytes: number;
  textBytes: number;
  /** Null when complete; otherwise why it stopped (timeout, status, error). */
  problem: string | null;
}

/** One GET of the gateway's /metrics as Prometheus scrapes it (gzip accepted), bounded by `timeoutMs`. */
export function scrapeOnce(baseUrl: string, timeoutMs: number): Promise<ScrapeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    let textBytes = 0;
    let settled = false;
    const finish = (problem: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, bytes, textBytes, problem });
    };
    const request = http.get(`${baseUrl}/metrics`, { headers: { 'accept-encoding': 'gzip', accept: 'text/plain;version=0.0.4' } }, (response) => {
      if (response.statusCode !== 200) finish(`HTTP ${response.statusCode}`);
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const text = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
      text.on('data', (chunk: Buffer) => (textBytes += chunk.length));
      text.on('end', () => finish(null));
      text.on('error', (error) => finish(error.message));
    });
    request.on('error', (error) => finish(error.message));
    const timer = setTimeout(() => {
      request.destroy();
      finish(`not finished within ${Math.round(timeoutMs / 1000)} s`);
    }, timeoutMs);
  });
}
