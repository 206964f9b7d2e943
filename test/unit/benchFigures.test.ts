import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { areaOf, summarizeProfile, type CpuProfile } from '../../bench/cpuProfile.js';
import { checkTargets, formatTable, medianRun, parseShellTimes, parseTimeOutput, type CorePoint } from '../../bench/figures.js';

const test = suite('bench figures');

test('GNU time line is read in ms and KiB, even after a non-zero status line', () => {
  assert.equal(parseTimeOutput('NXBTIME 1.52 0.83 0.41 93564\n'), { userMs: 830, sysMs: 410, maxRssKb: 93564 });
  assert.equal(parseTimeOutput('Command exited with non-zero status 1\nNXBTIME 0.01 0.00 0.01 1880\n').maxRssKb, 1880);
  assert.throws(() => parseTimeOutput('Command terminated by signal 9\n'), /no NXBTIME line/);
});

test('shell times: own and children CPU summed, RSS unknown', () => {
  const cost = parseShellTimes('0m0.010s 0m0.020s\n1m2.500s 0m0.250s\n');
  assert.is(Math.round(cost.userMs), 62_510);
  assert.is(Math.round(cost.sysMs), 270);
  assert.is(cost.maxRssKb, null);
  assert.throws(() => parseShellTimes('0m0.010s 0m0.020s\n'), /two lines/);
});

test('median run is picked by wall time, the lower middle for an even count', () => {
  assert.is(medianRun([{ wallMs: 9, id: 'a' }, { wallMs: 1, id: 'b' }, { wallMs: 5, id: 'c' }]).id, 'c');
  assert.is(medianRun([{ wallMs: 4 }, { wallMs: 1 }, { wallMs: 3 }, { wallMs: 2 }]).wallMs, 2);
  assert.throws(() => medianRun([]));
});

test('table columns line up: first left-aligned, the rest right-aligned', () => {
  const lines = formatTable(['n', 'run', 'ms'], [['300', 'agent', '12'], ['1000', 'bare loop', '3']]);
  assert.equal(lines, [
    'n           run  ms',
    '----  ---------  --',
    '300       agent  12',
    '1000  bare loop   3',
  ]);
});

const point = (count: number, agentMs: number, bareMs: number, rssKb: number | null): CorePoint => ({
  count,
  agent: { wallMs: agentMs, userMs: 0, sysMs: 0, maxRssKb: rssKb },
  bare: { wallMs: bareMs, userMs: 0, sysMs: 0, maxRssKb: 2000 },
});

test('targets: slower than the bare loop, per-namespace growth and RSS at 1,000 are judged', () => {
  const met = checkTargets([point(300, 900, 1000, 80_000), point(1000, 3100, 3300, 120_000)]);
  assert.equal(met.map((check) => check.met), [true, true, true]);
  const missed = checkTargets([point(300, 900, 800, 80_000), point(1000, 4000, 3300, 160_000)]);
  assert.equal(missed.map((check) => check.met), [false, false, false]);
  assert.match(missed[0]!.detail, /300: 1\.13×/);
  assert.match(missed[2]!.detail, /156\.3 MB/);
  const single = checkTargets([point(300, 900, 1000, null)]);
  assert.equal(single.map((check) => check.met), [true, null, null]);
});

test('a CPU profile is summed per function and per area from samples and time deltas', () => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 10_000,
    nodes: [
      { id: 1, callFrame: { functionName: 'spawn', url: 'node:internal/child_process', lineNumber: 353 } },
      { id: 2, callFrame: { functionName: 'parseIpAddrJson', url: 'file:///w/dist/shared/parse/ipJson.js', lineNumber: 8 } },
      { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    ],
    samples: [1, 2, 1, 3, 1],
    timeDeltas: [1000, 500, 1000, 4000, 1000],
  };
  const summary = summarizeProfile(profile, 2);
  assert.is(summary.totalMs, 10);
  assert.equal(summary.functions, [{ name: '(idle)', ms: 4 }, { name: 'spawn child_process:354', ms: 3 }]);
  assert.equal(summary.areas.map((area) => area.area), ['idle (waiting for children)', 'node child_process', 'ours shared/parse']);
  assert.is(areaOf('x', 'file:///w/node_modules/prom-client/lib/registry.js'), 'dependency prom-client');
  assert.is(areaOf('x', 'node:internal/child_process'), 'node child_process');
  assert.is(areaOf('x', 'node:internal/modules/esm/loader'), 'node start-up and module loading');
  // Samples at 1,000, 1,500, 2,500, 6,500 and 7,500 µs: a window keeps those within it.
  const steady = summarizeProfile(profile, 5, { fromUs: 1_400, toUs: 6_500 });
  assert.is(steady.totalMs, 5.1);
  assert.equal(steady.functions, [{ name: '(idle)', ms: 4 }, { name: 'spawn child_process:354', ms: 1 }, { name: 'parseIpAddrJson ipJson.js:9', ms: 0.5 }]);
});

test.run();
