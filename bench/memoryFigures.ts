/**
 * Pure part of the memory benchmark (memory.ts): what /proc/<pid>/status says, and the steady and
 * drift figures of a run's RSS samples.
 */

export type TargetKind = 'none' | 'pushgateway' | 'remote_write';
export const TARGETS: readonly TargetKind[] = ['none', 'pushgateway', 'remote_write'];

/** One reading of /proc/<pid>/status, in MiB, at `atMs` from the agent's start. */
export interface RssSample {
  atMs: number;
  rssMb: number;
  hwmMb: number;
  threads: number;
}

export function parseStatus(text: string, atMs: number): RssSample {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    if (match === null) throw new Error(`no ${name} in /proc/<pid>/status`);
    return Number(match[1]);
  };
  return { atMs, rssMb: field('VmRSS') / 1024, hwmMb: field('VmHWM') / 1024, threads: field('Threads') };
}

/** A duration as the bench options take it: `90s`, `30m`, `1h`, or plain seconds. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw new Error(`${what} must be a duration like 90s, 30m or 1h, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const value = Number(match[1]) * unit;
  if (value <= 0) throw new Error(`${what} must be above 0, got ${JSON.stringify(text)}`);
  return value;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Median RSS of the samples taken in [from, to) of the run, as fractions of its duration. */
function medianRssBetween(samples: readonly RssSample[], durationMs: number, from: number, to: number): number | null {
  return median(samples.filter((sample) => sample.atMs >= from * durationMs && sample.atMs < to * durationMs).map((sample) => sample.rssMb));
}

export interface RssFigures {
  /** VmHWM at the end: the peak, first cycle included. */
  peakMb: number;
  /** Median VmRSS over the second half of the run. */
  steadyMb: number;
  /**
   * Growth: median of the last third over the median of the sixth to the third (for a 30-minute run,
   * minutes 20–30 over minutes 5–10), in percent. Null when either window has no sample.
   */
  driftPercent: number | null;
  threads: number;
}

export function rssFigures(samples: readonly RssSample[], durationMs: number): RssFigures {
  if (samples.length === 0) throw new Error('no RSS samples');
  const steady = medianRssBetween(samples, durationMs, 0.5, Infinity) ?? samples.at(-1)!.rssMb;
  const early = medianRssBetween(samples, durationMs, 1 / 6, 1 / 3);
  const late = medianRssBetween(samples, durationMs, 2 / 3, Infinity);
  return {
    peakMb: Math.max(...samples.map((sample) => sample.hwmMb)),
    steadyMb: steady,
    driftPercent: early === null || late === null ? null : ((late - early) / early) * 100,
    threads: samples.at(-1)!.threads,
  };
}
