import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { interfaceStatMetric } from '../../shared/collectors/interfaces.js';
import { procMetric } from '../../shared/collectors/procMetrics.js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { FIXED_LABEL_NAMES, PROCESS_LABEL_NAMES } from '../../shared/config/metricLabels.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { catalogueSpecs, exampleProcMetricNames, GATEWAY_METRICS, processMetricNames } from '../helpers/metricNames.js';

const REFERENCE = fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url));
const OPENSTACK_EXAMPLE = fileURLToPath(new URL('../../../packaging/examples/openstack-pushgateway.yaml', import.meta.url));

const test = suite('docs/metrics.md');
const reference = readFileSync(REFERENCE, 'utf8');

/** The reference's table row of a metric: "| `name` | type | labels | meaning |". */
function row(name: string): string | undefined {
  return reference.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
}

test('has a row for every metric the agent writes, with its type and labels', async () => {
  const specs = await catalogueSpecs();
  assert.ok(specs.length >= 24 + 5, `only ${specs.length} metrics found`);
  for (const spec of specs) {
    const line = row(spec.name);
    assert.ok(line !== undefined, `no row for ${spec.name}`);
    const cells = line.split('|').map((cell) => cell.trim());
    assert.is(cells[2], spec.type, `${spec.name}: type`);
    const labels = spec.labels.length === 0 ? ['—'] : spec.labels.map((label) => `\`${label}\``);
    assert.is(cells[3], labels.join(', '), `${spec.name}: labels`);
  }
});

test('states the proc_metrics naming rule the catalogue applies', () => {
  const counter = procMetric({ name: '<name>', file: 'x', type: 'counter' }).name;
  const gauge = procMetric({ name: '<name>', file: 'x', type: 'gauge' }).name;
  assert.is(counter, 'netns_network_<name>_total');
  assert.ok(reference.includes(`\`type: counter\` (the default, a running total): \`${counter}\``));
  assert.ok(reference.includes(`\`type: gauge\` (a level that goes up and down): \`${gauge}\`, no suffix`));
});

test('names no metric the agent does not write', async () => {
  const known = new Set([
    ...(await catalogueSpecs()).map((spec) => spec.name),
    ...processMetricNames(),
    ...GATEWAY_METRICS,
    ...exampleProcMetricNames(OPENSTACK_EXAMPLE),
  ]);
  const named = [...reference.matchAll(/`((?:netns_network_|netns_exporter_|netns_netstat_|netns_sockstat_|netns_nf_conntrack_|push_)[a-zA-Z0-9_]+)`/g)].map((match) => match[1]!);
  assert.ok(named.length > 40);
  for (const name of named) assert.ok(known.has(name), `docs/metrics.md names unknown metric ${name}`);
});

test('the label names the config check keeps out of the Pushgateway grouping are every label the metrics carry', async () => {
  const specLabels = new Set((await catalogueSpecs()).flatMap((spec) => spec.labels));
  assert.equal([...specLabels].filter((name) => !FIXED_LABEL_NAMES.includes(name)), [], 'a spec label missing from FIXED_LABEL_NAMES');
  assert.equal(FIXED_LABEL_NAMES.filter((name) => !specLabels.has(name)), [], 'a FIXED_LABEL_NAMES entry no spec carries');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const processLabels = new Set((await registry.getMetricsAsJSON()).flatMap((metric) => metric.values.flatMap((value) => Object.keys(value.labels))));
  assert.equal([...processLabels].sort(), [...PROCESS_LABEL_NAMES].sort());
});

test('the node_exporter table maps every node_network_* series of its netdev collector to ours', () => {
  const table = reference.slice(reference.indexOf("### From node_exporter's"), reference.indexOf('### proc_metrics naming'));
  const rows = table.split('\n').filter((line) => line.startsWith('| `node_'));
  const ours = rows.flatMap((line) => [...line.split('|')[2]!.matchAll(/`(netns_network_[a-z_]+)`/g)].map((match) => match[1]!));
  // Every interface statistic is named, so any of them can be ported (each exists: see above).
  for (const stat of INTERFACE_STATS) assert.ok(ours.includes(interfaceStatMetric(stat).name), `${stat} is in no row`);
  // node_exporter 1.5's netdev names: /proc/net/dev's columns with `_total`, plus nohandler from netlink.
  const netdev = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'frame', 'compressed', 'multicast', 'nohandler'].map((name) => `node_network_receive_${name}_total`)
    .concat(['bytes', 'packets', 'errs', 'drop', 'fifo', 'colls', 'carrier', 'compressed'].map((name) => `node_network_transmit_${name}_total`));
  for (const name of netdev) assert.ok(rows.some((line) => line.startsWith(`| \`${name}\` |`)), `${name} has no row`);
});

test.run();
