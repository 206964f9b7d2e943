import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cycleFamilies, familiesKeepTable } from '../../shared/metrics/families.js';
import { FamilyTable, SlotFamily } from '../../shared/metrics/familyTable.js';
import { registryFromFamilies } from '../helpers/registry.js';
import { configFrom } from '../helpers/config.js';
import { device, readOk, snapshotOf } from '../helpers/samples.js';

const test = suite('metric families: the pure snapshot → series step');
const build = { version: '0.1.0', revision: 'abc', nodeversion: 'v20.0.0' };
const config = configFrom({ interface_metrics: ['rx_bytes'] });

function family(name: string, results: Parameters<typeof snapshotOf>[0]) {
  return cycleFamilies(snapshotOf(results), config, build, null).find((entry) => entry.name === name);
}

test('a label set given twice merges as prom-client merges it: a counter adds, a gauge keeps the last value', () => {
  // Two folders can hold namespaces of one name: their series carry the same labels.
  const results = [
    readOk('twin', [device('eth0', { mtu: 1500 }, { rx_bytes: 10 })]),
    readOk('twin', [device('eth0', { mtu: 9000 }, { rx_bytes: 5 })]),
  ];
  assert.equal(family('netns_network_rx_bytes_total', results)?.values, [{ labels: { device: 'eth0', netns: 'twin' }, value: 15 }]);
  assert.equal(family('netns_network_mtu_bytes', results)?.values, [{ labels: { device: 'eth0', netns: 'twin' }, value: 9000 }]);
});

test('a family without labels always has its one series; label sets keep their first order', () => {
  const families = cycleFamilies(snapshotOf([readOk('b', [device('eth0')]), readOk('a', [device('eth0')])]), config, build, {
    cycles: 0, cyclesOverrun: 2, pushesOverrun: 0, readErrors: {}, dirListErrors: {}, discoveryErrors: {}, pushes: {}, extra: [],
  });
  assert.equal(families.find((entry) => entry.name === 'netns_exporter_cycles_total')?.values, [{ labels: {}, value: 0 }]);
  assert.equal(families.find((entry) => entry.name === 'netns_exporter_cycles_overrun_total')?.values, [{ labels: {}, value: 2 }]);
  assert.equal(families.find((entry) => entry.name === 'netns_network_namespace')?.values.map((value) => value.labels.netns), ['b', 'a']);
});

test('the registry holds exactly the families: what /metrics shows is what remote_write sends', async () => {
  const families = cycleFamilies(snapshotOf([readOk('x', [device('eth0')]), readOk('x', [device('eth0')])]), config, build, null);
  const json = await registryFromFamilies(families).getMetricsAsJSON();
  assert.equal(json.map((entry) => ({ name: entry.name, values: entry.values.map(({ labels, value }) => ({ labels, value })) })),
    families.map((entry) => ({ name: entry.name, values: entry.values })));
});

test('a table kept between cycles: each cycle has its own values (counters are the totals given, not added across cycles), label sets built once, gone series dropped', () => {
  const table = new FamilyTable();
  const rx = (results: Parameters<typeof snapshotOf>[0]) => cycleFamilies(snapshotOf(results), config, build, null, table)
    .find((entry) => entry.name === 'netns_network_rx_bytes_total')!;
  const first = rx([readOk('a', [device('eth0', {}, { rx_bytes: 10 })]), readOk('b', [device('eth0', {}, { rx_bytes: 1 })])]);
  const labelsOfA = first.values[0]!.labels;
  const second = rx([readOk('a', [device('eth0', {}, { rx_bytes: 25 })])]);
  assert.equal(second.values, [{ labels: { device: 'eth0', netns: 'a' }, value: 25 }]);
  assert.ok(second.values[0]!.labels === labelsOfA, 'the label set of a known series is kept, not built again');
  // Twins still add up within one cycle.
  const third = rx([readOk('a', [device('eth0', {}, { rx_bytes: 30 })]), readOk('a', [device('eth0', {}, { rx_bytes: 2 })])]);
  assert.equal(third.values, [{ labels: { device: 'eth0', netns: 'a' }, value: 32 }]);
});

test('a kept slot is only a hint: one freed and taken by another series sends the write to its own series', () => {
  const family = new SlotFamily('x_total', 'x', 'counter', ['k'], {});
  const series = () => family.values.map((entry) => `${entry.labels.k}=${entry.value}`);
  family.begin(1);
  const a = family.addAt(-1, 'a', 1, { k: 'a' });
  family.setAt(-1, 'b', 2, { k: 'b' });
  family.finish();
  family.begin(2);
  assert.is(family.addAt(a, 'a', 3, { k: 'a' }), a);
  family.addAt(a, 'a', 4, { k: 'a' });
  family.finish();
  assert.equal(series(), ['a=7'], 'two writes of one counter in a cycle add up; b is gone');
  family.begin(3);
  const c = family.setAt(-1, 'c', 5, { k: 'c' });
  family.finish();
  family.begin(4);
  // a's old slot: freed in cycle 3 and taken by c, or still free; either way a is looked up.
  const again = family.addAt(a, 'a', 6, { k: 'a' });
  family.setAt(c, 'c', 8, { k: 'c' });
  family.finish();
  assert.equal(series().sort(), ['a=6', 'c=8']);
  assert.ok(again !== c);
});

test('what the series keys leave out needs a new table when it changes: the hostname, the label rules', () => {
  const base = configFrom({ hostname: 'h1', labels: { hostname: 'host' } });
  assert.ok(familiesKeepTable(base, configFrom({ hostname: 'h1', labels: { hostname: 'host' } })));
  assert.not.ok(familiesKeepTable(base, configFrom({ hostname: 'h2', labels: { hostname: 'host' } })));
  assert.not.ok(familiesKeepTable(base, configFrom({ hostname: 'h1', labels: { hostname: 'node' } })));
});


test('with the table kept, a device that changes state, address or kind is written as it is now; a namespace that went and came back starts afresh', () => {
  const withIp = configFrom({ interface_metrics: ['rx_bytes'], labels: { device_ip: 'ip' } });
  const table = new FamilyTable();
  const cycle = (results: Parameters<typeof snapshotOf>[0]) => {
    const families = cycleFamilies(snapshotOf(results), withIp, build, null, table);
    const values = (name: string) => families.find((entry) => entry.name === name)?.values ?? [];
    return { rx: values('netns_network_rx_bytes_total'), info: values('netns_network_info'), up: values('netns_network_up') };
  };
  const v4 = (address: string) => ({ family: 'inet' as const, address, prefixLength: 24, scope: 'global' });
  const first = cycle([readOk('a', [device('eth0', { operstate: 'UP', addresses: [v4('192.0.2.1')] }, { rx_bytes: 1 })])]);
  assert.equal(first.rx, [{ labels: { device: 'eth0', ip: '192.0.2.1', netns: 'a' }, value: 1 }]);
  assert.equal(first.info.map((entry) => entry.labels.operstate), ['up']);
  const down = cycle([readOk('a', [device('eth0', { operstate: 'DOWN', mac: '02:00:00:00:00:01', linkType: 'veth', addresses: [v4('192.0.2.1')] }, { rx_bytes: 2 })])]);
  assert.equal(down.up, [{ labels: { device: 'eth0', ip: '192.0.2.1', netns: 'a' }, value: 0 }]);
  assert.equal(down.info, [{ labels: { address: '02:00:00:00:00:01', device: 'eth0', ip: '192.0.2.1', link_type: 'veth', netns: 'a', operstate: 'down' }, value: 1 }]);
  const moved = cycle([readOk('a', [device('eth0', { addresses: [v4('198.51.100.7')] }, { rx_bytes: 3 })])]);
  assert.equal(moved.rx, [{ labels: { device: 'eth0', ip: '198.51.100.7', netns: 'a' }, value: 3 }]);
  assert.equal(cycle([readOk('b', [device('eth1')])]).rx.map((entry) => entry.labels.netns), ['b']);
  const back = cycle([readOk('a', [device('eth0', {}, { rx_bytes: 4 })])]);
  assert.equal(back.rx, [{ labels: { device: 'eth0', ip: '', netns: 'a' }, value: 4 }]);
});

test('the device filter is applied here: devices as read, series only for those that pass (lo left out by default)', () => {
  const results = [readOk('a', [device('lo'), device('eth0'), device('veth1')])];
  const devices = (raw: object) => cycleFamilies(snapshotOf(results), configFrom({ interface_metrics: ['rx_bytes'], ...raw }), build, null)
    .find((entry) => entry.name === 'netns_network_up')?.values.map((entry) => entry.labels.device);
  assert.equal(devices({}), ['eth0', 'veth1']);
  assert.equal(devices({ device_filter: { blacklist_pattern: '^veth' } }), ['lo', 'eth0']);
});

test.run();
