import { Gauge, type Registry } from 'prom-client';
import { DelayWindow } from '../shared/delayWindow.js';

/**
 * prom-client's event-loop lag gauges, `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`,
 * measured here instead. prom-client reads Node's monitorEventLoopDelay, which records the time
 * between two firings of its timer (the sampling interval plus whatever held the loop up) and, once
 * reset after each collection, does not record the interval that follows. Its default 10 ms timer
 * woke an idle agent 100 times a second (3.5 ms of CPU a second on a VM); at once a second its
 * gauges would read 1 s on an idle loop, and a stall just after a scrape or push would go unseen.
 * Here a timer fires once a second and records how late it fired: ~0 while idle, the length of a
 * stall that held the loop when it fell due; the window's samples are summed up as they are
 * (shared/delayWindow.ts: a histogram's standard deviation walked 45,000 buckets each collection).
 * Names and help are prom-client's (a Pushgateway refuses
 * a family whose help differs between nodes of one fleet); `nodejs_eventloop_lag_seconds` means
 * what prom-client's does (a setImmediate timed at each collection, shown at the next).
 */
const PARTS: readonly { part: string; help: string }[] = [
  { part: 'min', help: 'The minimum recorded event loop delay.' },
  { part: 'max', help: 'The maximum recorded event loop delay.' },
  { part: 'mean', help: 'The mean of the recorded event loop delays.' },
  { part: 'stddev', help: 'The standard deviation of the recorded event loop delays.' },
  { part: 'p50', help: 'The 50th percentile of the recorded event loop delays.' },
  { part: 'p90', help: 'The 90th percentile of the recorded event loop delays.' },
  { part: 'p99', help: 'The 99th percentile of the recorded event loop delays.' },
];

/**
 * Replaces prom-client's lag gauges in `registry` with these, sampling the loop every `sampleMs`;
 * returns what stops the sampling (the gauges keep their last values).
 */
export function replaceEventLoopLagGauges(registry: Registry, prefix: string, sampleMs: number): () => void {
  // Nanoseconds late, at least 1 (as Node's histogram recorded them): a timer on time records 1 ns.
  const lateNs = new DelayWindow();
  let due = performance.now() + sampleMs;
  const sampler = setInterval(() => {
    const now = performance.now();
    lateNs.record(Math.max(1, Math.round((now - due) * 1e6)));
    // Node starts the next interval when this one's callback runs, not when it was due.
    due = now + sampleMs;
  }, sampleMs).unref();
  const gauges = new Map<string, Gauge>();
  // The lag gauge's collect sets them all, as prom-client's does, and starts the next window.
  const collect = () => {
    // No sample since the last collection (two scrapes within one interval): the last values stay.
    const late = lateNs.summary();
    if (late === null) return;
    const seconds = (ns: number) => (ns <= 1 ? 0 : ns / 1e9);
    gauges.get('min')!.set(seconds(late.min));
    gauges.get('max')!.set(seconds(late.max));
    gauges.get('mean')!.set(seconds(late.mean));
    gauges.get('stddev')!.set(late.stddev / 1e9);
    gauges.get('p50')!.set(seconds(late.p50));
    gauges.get('p90')!.set(seconds(late.p90));
    gauges.get('p99')!.set(seconds(late.p99));
    lateNs.reset();
  };
  // prom-client's own lag gauge too: its collect summed up its histogram for the gauges removed here
  // (its standard deviation, 0.3 ms a collection) before timing a setImmediate, which this one does alone.
  const lagName = `${prefix}nodejs_eventloop_lag_seconds`;
  registry.removeSingleMetric(lagName);
  const lag: Gauge = new Gauge({
    name: lagName, help: 'Lag of event loop in seconds.', aggregator: 'average', registers: [registry],
    collect: () => {
      const start = process.hrtime.bigint();
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
      collect();
    },
  });
  for (const { part, help } of PARTS) {
    const name = `${prefix}nodejs_eventloop_lag_${part}_seconds`;
    registry.removeSingleMetric(name);
    gauges.set(part, new Gauge({ name, help, registers: [registry] }));
  }
  return () => clearInterval(sampler);
}
