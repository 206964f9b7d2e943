import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProcMetricConfig } from '../../shared/config/configTypes.js';
import { PROC_RECORD_MARK, parseNsenterOutput } from '../../shared/parse/nsenterOutput.js';
import { parseProcValue } from '../../shared/collectors/procMetrics.js';
import { fixture } from '../helpers/fixtures.js';

const test = suite('nsenter reader output');
const procMetrics: ProcMetricConfig[] = [
  { name: 'nat_conntrack', file: 'sys/net/netfilter/nf_conntrack_count', type: 'gauge' },
  { name: 'conntrack_max', file: 'sys/net/netfilter/nf_conntrack_max', type: 'gauge' },
  { name: 'forwarding', file: 'sys/net/ipv4/ip_forward', type: 'gauge' },
];

test('splits the proc records from ip JSON, which comes last (the shell ends by exec-ing ip), in config order', () => {
  const out = `${PROC_RECORD_MARK}0\t12\n${PROC_RECORD_MARK}1\t262144\n${PROC_RECORD_MARK}2\t!\n${PROC_RECORD_MARK}${fixture('ip/veth-up.json')}`;
  const sample = parseNsenterOutput(out, procMetrics);
  assert.is(sample.interfaces.length, 2);
  assert.equal(sample.proc, { nat_conntrack: 12, conntrack_max: 262144 });
  assert.equal(sample.procErrors, ['forwarding']);
});

test('a proc record that never came back counts as an error, not as zero', () => {
  const sample = parseNsenterOutput(`${PROC_RECORD_MARK}0\t3\n${PROC_RECORD_MARK}${fixture('ip/veth-up.json')}`, procMetrics);
  assert.equal(sample.proc, { nat_conntrack: 3 });
  assert.equal(sample.procErrors.sort(), ['conntrack_max', 'forwarding']);
});

test('without proc metrics the output is ip JSON alone', () => {
  const sample = parseNsenterOutput(fixture('ip/veth-up.json'), []);
  assert.is(sample.interfaces.length, 2);
  assert.equal(sample.procErrors, []);
});

test('proc values: first field of a number, anything else is unreadable', () => {
  assert.is(parseProcValue('42\n'), 42);
  assert.is(parseProcValue('4096\t87380\t6291456\n'), 4096);
  assert.is(parseProcValue('-1\n'), -1);
  assert.is(parseProcValue('abc\n'), null);
  assert.is(parseProcValue(''), null);
});

test.run();
