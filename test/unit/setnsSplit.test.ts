import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setnsPhaseOf, splitProfiles } from '../../bench/setnsSplit.js';
import type { CpuProfile } from '../../bench/cpuProfile.js';

const test = suite('setns profile split');

test('frames go to the phases of a setns read', () => {
  assert.is(setnsPhaseOf('open', ''), 'kernel: open, close, stat, readlink');
  assert.is(setnsPhaseOf('', 'file:///x/dist/agent/readers/netnsLibc.js'), 'kernel: setns and netlink via koffi');
  assert.is(setnsPhaseOf('parseInterfaceDumps', 'file:///x/dist/shared/parse/netlink.js'), 'parse (netlink, proc values)');
  assert.is(setnsPhaseOf('unpackInterfaces', 'file:///x/dist/shared/packedInterfaces.js'), 'packed reply (pack, post, unpack)');
  assert.is(setnsPhaseOf('postMessage', ''), 'packed reply (pack, post, unpack)');
  assert.is(setnsPhaseOf('#checkProgress', 'file:///x/dist/agent/readers/setnsPool.js'), 'watchdog');
  assert.is(setnsPhaseOf('(garbage collector)', ''), 'garbage collector (per-read allocations)');
  assert.is(setnsPhaseOf('compileForInternalLoader', 'node:internal/bootstrap/realm'), 'start-up: threads, modules, koffi');
  assert.is(setnsPhaseOf('(idle)', ''), 'idle');
});

test('per thread and in total, in ms', () => {
  const profile = (names: string[]): CpuProfile => ({
    nodes: names.map((functionName, index) => ({ id: index + 1, callFrame: { functionName, url: '', lineNumber: 0 } })),
    samples: names.map((_, index) => index + 1),
    timeDeltas: names.map(() => 2_000),
    startTime: 0,
    endTime: 2_000 * names.length,
  });
  const split = splitProfiles([profile(['open', 'open', '(idle)']), profile(['postMessage'])]);
  assert.equal(split.get('kernel: open, close, stat, readlink'), 4);
  assert.equal(split.get('packed reply (pack, post, unpack)'), 2);
  assert.equal(split.get('idle'), 2);
});

test.run();
