import { createHistogram } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DelayWindow } from '../../shared/delayWindow.js';

const test = suite('event-loop delay window (the lag gauges)');

/** Delays in ns as the sampler records them: mostly on time (1), a few late, one stall. */
const DELAYS = [1, 1, 1, 250_000, 1, 1_200_000, 1, 1, 3_000_000_000, 1, 80_000, 1, 1, 1, 1, 1, 1, 1, 1, 1];

test('min, max, mean, standard deviation and percentiles as Node\'s histogram gives them, exactly', () => {
  const window = new DelayWindow();
  const histogram = createHistogram();
  for (const delay of DELAYS) {
    window.record(delay);
    histogram.record(delay);
  }
  const summary = window.summary()!;
  assert.is(window.count, DELAYS.length);
  assert.is(summary.min, histogram.min);
  assert.is(summary.max, 3_000_000_000);
  assert.is(summary.mean, DELAYS.reduce((a, b) => a + b, 0) / DELAYS.length);
  // The histogram rounds to three significant figures; these are the samples themselves.
  assert.ok(Math.abs(summary.stddev - histogram.stddev) / histogram.stddev < 1e-3, `${summary.stddev} vs ${histogram.stddev}`);
  for (const p of [50, 90, 99] as const) {
    const want = histogram.percentile(p);
    const got = summary[`p${p}`];
    assert.ok(Math.abs(got - want) <= want * 1e-3, `p${p}: ${got} vs ${want}`);
  }
  assert.is(summary.p90, 250_000, 'the 18th of 20 sorted');
  assert.is(summary.p99, 3_000_000_000);
});

test('empty: no summary; reset empties it and the next window is its own; it grows past its first room', () => {
  const window = new DelayWindow();
  assert.is(window.summary(), null);
  for (let i = 1; i <= 100; i++) window.record(i);
  assert.equal(window.summary(), { min: 1, max: 100, mean: 50.5, stddev: Math.sqrt((100 ** 2 - 1) / 12), p50: 50, p90: 90, p99: 99 });
  window.reset();
  assert.is(window.count, 0);
  assert.is(window.summary(), null);
  window.record(7);
  assert.equal(window.summary(), { min: 7, max: 7, mean: 7, stddev: 0, p50: 7, p90: 7, p99: 7 });
});

test.run();
