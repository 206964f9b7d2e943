/**
 * The event-loop delays recorded since the last collection, and their summary as prom-client's
 * lag gauges give it (min, max, mean, standard deviation, 50th/90th/99th percentiles). Node's
 * histogram (createHistogram) spans 1 ns to 2^53 at three significant figures: ~45,000 buckets,
 * which its standard deviation walks each time, ~0.26 ms of the main thread's CPU a collection
 * here, for the two to a few hundred samples a window holds (one a second). These are kept as
 * they are, so the summary is exact and costs nothing worth measuring.
 */
export interface DelaySummary {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation, as the histogram's. */
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

export class DelayWindow {
  #samples = new Float64Array(16);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record(value: number): void {
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = value;
  }

  /** The window's summary (its samples sorted in place); null when it holds none. */
  summary(): DelaySummary | null {
    const count = this.#count;
    if (count === 0) return null;
    const sorted = this.#samples.subarray(0, count).sort();
    let sum = 0;
    for (let i = 0; i < count; i++) sum += sorted[i]!;
    const mean = sum / count;
    let squares = 0;
    for (let i = 0; i < count; i++) squares += (sorted[i]! - mean) ** 2;
    return {
      min: sorted[0]!, max: sorted[count - 1]!, mean, stddev: Math.sqrt(squares / count),
      p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99),
    };
  }

  /** Empty again; the memory stays for the next window. */
  reset(): void {
    this.#count = 0;
  }
}

/** The smallest sample with at least `p` per cent of the samples at or below it (the histogram's rule). */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}
