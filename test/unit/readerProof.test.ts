import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareProofReadings } from '../../shared/readerProof.js';
import type { NamespaceSample } from '../../shared/snapshot.js';
import { device } from '../helpers/samples.js';

const test = suite('reader proof: a setns reading bracketed by two nsenter readings');

const sample = (rx: number, overrides: Partial<NamespaceSample> = {}): NamespaceSample => ({
  interfaces: [device('lo', { operstate: 'UNKNOWN', ifindex: 1 }, { rx_packets: rx, rx_bytes: rx * 100 }), device('veth0', { ifindex: 2, operstate: 'UP' })],
  proc: { nf_conntrack_count: 5 },
  procErrors: ['missing'],
  collectors: { netstat: {}, sockstat: {}, conntrack: {}, errors: [] },
  ...overrides,
});

test('agree: same devices and fields, counters between the two nsenter readings', () => {
  assert.equal(compareProofReadings(sample(10), sample(11), sample(12)), { verdict: 'agree' });
  assert.equal(compareProofReadings(sample(10), sample(10), sample(10)), { verdict: 'agree' });
});

test('a counter outside the bracket is a disagreement (a worker that read another namespace)', () => {
  const result = compareProofReadings(sample(10), sample(13), sample(12));
  assert.is(result.verdict, 'differ');
  assert.match(result.verdict === 'differ' ? result.reason : '', /lo rx_(packets 13 not within 10\.\.12|bytes 1300 not within 1000\.\.1200)/);
  assert.is(compareProofReadings(sample(10), sample(9), sample(12)).verdict, 'differ');
});

test('another device set, MAC, address or MTU is a disagreement', () => {
  const made = sample(10, { interfaces: [device('wrong0')] });
  assert.match(JSON.stringify(compareProofReadings(sample(10), made, sample(10))), /devices/);
  const mac = sample(10);
  mac.interfaces[1] = { ...mac.interfaces[1]!, mac: '02:00:00:00:00:01' };
  assert.match(JSON.stringify(compareProofReadings(sample(10), mac, sample(10))), /veth0 mac/);
  const mtu = sample(10);
  mtu.interfaces[1] = { ...mtu.interfaces[1]!, mtu: 9000 };
  assert.is(compareProofReadings(sample(10), mtu, sample(10)).verdict, 'differ');
  const address = sample(10);
  address.interfaces[1] = { ...address.interfaces[1]!, addresses: [{ family: 'inet', address: '10.0.0.1', prefixLength: 30, scope: 'global' }] };
  assert.is(compareProofReadings(sample(10), address, sample(10)).verdict, 'differ');
});

test('proc files: readable in one and not the other is a disagreement; a steady value must match', () => {
  assert.match(JSON.stringify(compareProofReadings(sample(10), sample(10, { proc: {}, procErrors: ['missing', 'nf_conntrack_count'] }), sample(10))), /nf_conntrack_count/);
  assert.is(compareProofReadings(sample(10), sample(10, { proc: { nf_conntrack_count: 6 } }), sample(10)).verdict, 'differ');
  // A level that moved between the two nsenter readings proves nothing either way.
  assert.is(compareProofReadings(sample(10), sample(10, { proc: { nf_conntrack_count: 9 } }), sample(10, { proc: { nf_conntrack_count: 7 } })).verdict, 'agree');
});

test('collectors: the same figures present; values unchecked (levels move)', () => {
  const withCollectors = (entries: number): NamespaceSample => sample(10, { collectors: { netstat: { Tcp_InSegs: 4 }, sockstat: {}, conntrack: { entries }, errors: [] } });
  assert.is(compareProofReadings(withCollectors(1), withCollectors(3), withCollectors(2)).verdict, 'agree');
  const missing = sample(10, { collectors: { netstat: {}, sockstat: {}, conntrack: { entries: 1 }, errors: [] } });
  assert.is(compareProofReadings(withCollectors(1), missing, withCollectors(1)).verdict, 'differ');
});

test('the namespace changed between the two nsenter readings: moving, try again', () => {
  const added = sample(10, { interfaces: [...sample(10).interfaces, device('veth1', { ifindex: 3 })] });
  assert.is(compareProofReadings(sample(10), sample(10), added).verdict, 'moving');
  const flapped = sample(10);
  flapped.interfaces[1] = { ...flapped.interfaces[1]!, operstate: 'DOWN' };
  assert.is(compareProofReadings(sample(10), flapped, flapped).verdict, 'moving');
});

test.run();
