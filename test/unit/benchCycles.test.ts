import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commOfStat, cpuOfStat, parseFloorOutput, parseCycleLine, steadyFigures, steadyThreads, threadGroupOf } from '../../bench/cycleFigures.js';

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

test('threads of an agent: the main thread by its id, the readers by name, the rest helpers; their CPU per steady cycle', () => {
  const line = '4250 (netns-reader) S 100 4242 4242 0 -1 4194560 1 0 0 0 250 30 0 0 20 0 11 0 5 0 0';
  assert.is(commOfStat(line), 'netns-reader');
  assert.is(commOfStat('4242 (node (x) y) S 1'), 'node (x) y');
  assert.is(threadGroupOf(4242, 4242, 'node'), 'main');
  assert.is(threadGroupOf(4250, 4242, 'netns-reader'), 'reader');
  assert.is(threadGroupOf(4243, 4242, 'node'), 'helpers');
  const at = (main: number, reader: number, helpers: number) => ({ durationMs: 1, cpuMs: main + reader + helpers, threads: { main, reader, helpers } });
  assert.equal(steadyThreads([at(100, 50, 10), at(130, 90, 14), at(160, 130, 20)], 2), { main: 30, reader: 40, helpers: 5 });
  assert.is(steadyThreads([{ durationMs: 1, cpuMs: 1 }, { durationMs: 1, cpuMs: 2 }], 1), null, 'samples taken without threads');
});

test.run();
