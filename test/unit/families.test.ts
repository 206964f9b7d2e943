import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cycleFamilies } from '../../shared/metrics/families.js';
import { registryFromFamilies } from '../../shared/metrics/registry.js';
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
    cycles: 0, cyclesOverrun: 2, readErrors: {}, dirListErrors: {}, pushes: {}, extra: [],
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

test.run();
