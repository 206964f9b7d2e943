import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { moduleOf } from '../../bench/heapSummary.js';
import { parseDuration, parseStatus, rssFigures, type RssSample } from '../../bench/memoryFigures.js';

const test = suite('bench memory figures');

test('/proc/<pid>/status: VmRSS, VmHWM (kB) in MiB and the thread count', () => {
  const status = 'Name:\tnode\nVmHWM:\t  122880 kB\nVmRSS:\t  102400 kB\nThreads:\t13\n';
  assert.equal(parseStatus(status, 5), { atMs: 5, rssMb: 100, hwmMb: 120, threads: 13 });
  assert.throws(() => parseStatus('Name:\tnode\n', 0), /VmRSS/);
});

test('durations: units, plain seconds, refusals', () => {
  assert.is(parseDuration('30m', '--duration'), 1_800_000);
  assert.is(parseDuration('90', '--duration'), 90_000);
  assert.is(parseDuration('1.5s', '--interval'), 1500);
  assert.throws(() => parseDuration('0s', '--interval'), /--interval must be above 0/);
  assert.throws(() => parseDuration('soon', '--duration'), /--duration must be a duration/);
});

test('steady is the median of the second half, peak the largest VmHWM, drift late third over the sixth to the third', () => {
  // 60 samples over 60 s: 50 MB until 10 s, then 80 MB, the last third 84 MB; VmHWM peaked at 95 MB.
  const samples: RssSample[] = Array.from({ length: 60 }, (_, index) => ({
    atMs: (index + 1) * 1000, rssMb: index < 10 ? 50 : index >= 40 ? 84 : 80, hwmMb: index < 3 ? 60 : 95, threads: 13,
  }));
  const figures = rssFigures(samples, 60_000);
  assert.is(figures.peakMb, 95);
  assert.is(figures.steadyMb, 84);
  assert.is(figures.driftPercent, 5);
  assert.is(figures.threads, 13);
  assert.throws(() => rssFigures([], 1000), /no RSS samples/);
});

test('heap summary modules: packages, node built-ins, the project folders', () => {
  assert.is(moduleOf('node:internal/streams/readable'), 'node: (built-in JS)');
  assert.is(moduleOf('file:///opt/netns-exporter/node_modules/prom-client/lib/gauge.js'), 'prom-client');
  assert.is(moduleOf('file:///x/node_modules/@opentelemetry/api/build/index.js'), '@opentelemetry/api');
  assert.is(moduleOf('file:///work/wt/h24/dist/agent/readers/setns.js'), 'agent/readers');
  assert.is(moduleOf('file:///work/wt/h24/dist/agent/main.js'), 'agent');
  assert.is(moduleOf(''), '(no script name)');
});

test.run();
