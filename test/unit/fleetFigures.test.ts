import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  averageCores, clientCpuPerSample, parseDurationArg, parsePin, parseProcStatTicks, receiverCpuPerSample, parseStatusRssKb, peakPerSecond, quantile, UsageTracker, type PushRecord,
} from '../../bench/fleetFigures.js';

const test = suite('bench fleet figures');

test('/proc/<pid>/stat: utime + stime, a comm holding spaces and ")" does not shift the fields', () => {
  const line = '4242 (prometheus-push) S 1 4242 4242 0 -1 4194560 8142 0 0 0 1234 567 0 0 20 0 12 0 9999 1234567 3000 18446744073709551615\n';
  assert.is(parseProcStatTicks(line), 1801);
  assert.is(parseProcStatTicks(line.replace('(prometheus-push)', '(a) b (c))')), 1801);
  assert.throws(() => parseProcStatTicks('garbage'), /not a \/proc/);
});

test('/proc/<pid>/status: VmRSS in KiB, null when absent (a zombie)', () => {
  assert.is(parseStatusRssKb('Name:\tpushgateway\nVmPeak:\t  900 kB\nVmRSS:\t  812345 kB\nThreads:\t9\n'), 812_345);
  assert.is(parseStatusRssKb('Name:\tpushgateway\nState:\tZ (zombie)\n'), null);
});

test('quantiles by nearest rank; none of nothing', () => {
  const values = Array.from({ length: 100 }, (_, index) => 100 - index); // 100 … 1, unsorted on purpose
  assert.is(quantile(values, 0.5), 50);
  assert.is(quantile(values, 0.99), 99);
  assert.is(quantile(values, 1), 100);
  assert.is(quantile([7], 0.99), 7);
  assert.is(quantile([], 0.5), null);
});

test('peak rate counts requests (retries included) per wall-clock second', () => {
  const push = (startMs: number, requests: number): PushRecord => ({ startMs, ms: 5, requests, retries: requests - 1, ok: true, cycle: 1, samples: 7_201 });
  assert.is(peakPerSecond([push(1_000, 1), push(1_999, 2), push(2_000, 1), push(5_500, 1)]), 3);
  assert.is(peakPerSecond([]), 0);
});

test('usage: CPU from tick deltas, busiest second, peak and last RSS', () => {
  const tracker = new UsageTracker(100);
  tracker.add(0, 1_000, 500);
  tracker.add(1_000, 1_050, 800); // 0.5 core
  tracker.add(2_000, 1_200, 700); // 1.5 cores
  tracker.add(4_000, 1_200, null);
  const usage = tracker.usage();
  assert.equal(usage, { cpuSeconds: 2, wallSeconds: 4, peakCores: 1.5, peakRssKb: 800, lastRssKb: 700, sinceMark: null });
  assert.is(averageCores(usage), 0.5);
  // The steady window: from the last sample before the mark.
  tracker.mark();
  tracker.add(5_000, 1_280, 700);
  tracker.add(6_000, 1_300, 700);
  assert.equal(tracker.usage().sinceMark, { cpuSeconds: 1, wallSeconds: 2 });
  assert.is(tracker.usage().cpuSeconds, 3);
});

test('durations on the command line', () => {
  assert.is(parseDurationArg('90s', '--duration'), 90_000);
  assert.is(parseDurationArg('2m', '--duration'), 120_000);
  assert.is(parseDurationArg('500ms', '--duration'), 500);
  assert.is(parseDurationArg('3', '--duration'), 3_000);
  assert.throws(() => parseDurationArg('soon', '--duration'), /--duration: expected a duration/);
});

test('nodes\' CPU per sample: steady over the shards\' windows, whole over every sample delivered; unknown when a shard has no window', () => {
  const push = (samples: number): PushRecord => ({ startMs: 0, ms: 5, requests: 4, retries: 0, ok: samples > 0, cycle: 1, samples });
  const shards = [
    // 3 pushes of 7,201 delivered, 2 of them after every node's first push.
    { cpuSeconds: 0.5, pushes: [push(7_201), push(7_201), push(7_201)], steady: { cpuSeconds: 0.0144, samples: 14_402 } },
    { cpuSeconds: 0.25, pushes: [push(7_201), push(0)], steady: { cpuSeconds: 0.0072, samples: 7_201 } },
  ];
  const figures = clientCpuPerSample(shards);
  assert.ok(Math.abs(figures.steadyUs! - (0.0216 * 1e6) / 21_603) < 1e-9, String(figures.steadyUs));
  assert.ok(Math.abs(figures.wholeUs! - (0.75 * 1e6) / 28_804) < 1e-9, String(figures.wholeUs));
  assert.is(clientCpuPerSample([shards[0]!, { ...shards[1]!, steady: null }]).steadyUs, null);
  assert.equal(clientCpuPerSample([{ cpuSeconds: 1, pushes: [push(0)], steady: { cpuSeconds: 1, samples: 0 } }]), { steadyUs: null, wholeUs: null });
});

test('receiver\'s CPU per sample: its CPU since the mark over the samples of the pushes started from then', () => {
  const push = (startMs: number, samples: number): PushRecord => ({ startMs, ms: 5, requests: 4, retries: 0, ok: true, cycle: 1, samples });
  const pushes = [push(1_000, 7_201), push(40_000, 7_201), push(41_000, 7_201), push(70_000, 0)];
  assert.ok(Math.abs(receiverCpuPerSample({ cpuSeconds: 0.14402 }, pushes, 40_000)! - 10) < 1e-9);
  assert.is(receiverCpuPerSample(null, pushes, 40_000), null);
  assert.is(receiverCpuPerSample({ cpuSeconds: 1 }, pushes, null), null);
  assert.is(receiverCpuPerSample({ cpuSeconds: 1 }, pushes, 80_000), null);
});

test('--pin: auto splits the CPUs (receiver first), lists as taskset takes them, off and one CPU mean unpinned', () => {
  assert.equal(parsePin('auto', 2), { receiver: [0], nodes: [1] });
  assert.equal(parsePin('auto', 5), { receiver: [0, 1], nodes: [2, 3, 4] });
  assert.is(parsePin('auto', 1), null);
  assert.is(parsePin('off', 8), null);
  assert.equal(parsePin('1/0', 2), { receiver: [1], nodes: [0] });
  assert.equal(parsePin('0-1,3/2', 4), { receiver: [0, 1, 3], nodes: [2] });
  assert.throws(() => parsePin('0/0-1', 2), /share a CPU/);
  assert.throws(() => parsePin('0/2', 2), /not among this machine's 0-1/);
  assert.throws(() => parsePin('0', 2), /expected auto, off or RECEIVER_CPUS\/NODE_CPUS/);
  assert.throws(() => parsePin('a/1', 2), /not a CPU list/);
});

test.run();
