import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuOfStat, parseFloorOutput, parseCycleLine, steadyFigures } from '../../bench/cycleFigures.js';

const test = suite('bench cycle figures');

test('/proc/<pid>/stat: ppid and CPU ticks (own and reaped children), a name with spaces and parentheses', () => {
  const line = '4242 (node (x) y) S 100 4242 4242 0 -1 4194560 1 0 0 0 250 30 7 3 20 0 11 0 5 0 0';
  assert.equal(cpuOfStat(line), { pid: 4242, ppid: 100, ownTicks: 280, childTicks: 10 });
  assert.throws(() => cpuOfStat('garbage'), /stat/);
});

test('the floor program prints one line per round: namespaces, wall ms, CPU ms', () => {
  assert.equal(parseFloorOutput('1000 228.86 134.25\n1000 151.53 92.53\n'), [
    { namespaces: 1000, wallMs: 228.86, cpuMs: 134.25 },
    { namespaces: 1000, wallMs: 151.53, cpuMs: 92.53 },
  ]);
  assert.throws(() => parseFloorOutput('setns: Operation not permitted\n'), /floor/);
});

test('a cycle line of the agent log gives its collection time; other lines give null', () => {
  assert.equal(parseCycleLine('{"level":20,"time":1,"namespaces":300,"failed":0,"duration_ms":57,"msg":"cycle collected"}'), { namespaces: 300, failed: 0, durationMs: 57 });
  assert.is(parseCycleLine('{"level":30,"msg":"agent started"}'), null);
  assert.is(parseCycleLine('not json'), null);
});

test('steady state: the cycles after the warm-up, wall as the median, CPU spread evenly over them', () => {
  // CPU samples (ms, cumulative) taken at the end of each cycle.
  const cycles = [
    { durationMs: 400, cpuMs: 500 }, { durationMs: 300, cpuMs: 800 }, { durationMs: 200, cpuMs: 1000 },
    { durationMs: 150, cpuMs: 1150 }, { durationMs: 160, cpuMs: 1310 }, { durationMs: 140, cpuMs: 1450 },
  ];
  assert.equal(steadyFigures(cycles, 3), { cycles: 3, wallMs: 150, cpuMs: 150, firstWallMs: 400 });
  assert.throws(() => steadyFigures(cycles.slice(0, 3), 3), /cycles/);
});

test.run();
