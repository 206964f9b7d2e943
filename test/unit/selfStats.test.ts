import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SelfStatsRecorder } from '../../agent/selfStats.js';
import { readOk, snapshotOf } from '../helpers/samples.js';

const test = suite('self stats: read errors by reason');

test('collector files that could not be read count as reason="collector_file", from 0', () => {
  const recorder = new SelfStatsRecorder();
  const damaged = readOk('a', []);
  if (damaged.ok) damaged.sample.collectors = { netstat: {}, sockstat: {}, conntrack: {}, errors: ['net/snmp: not read', 'net/netstat: EACCES'] };
  recorder.recordCycle(snapshotOf([readOk('b', [])]), []);
  assert.is(recorder.snapshot([]).readErrors.collector_file, 0);
  recorder.recordCycle(snapshotOf([damaged, readOk('c', [])]), []);
  assert.is(recorder.snapshot([]).readErrors.collector_file, 2);
  assert.is(recorder.snapshot([]).readErrors.proc_file, 0);
});

test.run();
