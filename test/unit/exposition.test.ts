import { Gauge, Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GrowingBuffer } from '../../shared/growingBuffer.js';
import { cycleExposition } from '../../shared/metrics/exposition.js';
import { cycleFamilies } from '../../shared/metrics/families.js';
import { familiesFromValues, FamilyTable } from '../../shared/metrics/familyTable.js';
import { configFrom } from '../helpers/config.js';
import { registryFromFamilies } from '../helpers/registry.js';
import { device, readOk, snapshotOf } from '../helpers/samples.js';

const test = suite('text exposition: the agent\'s own writer against prom-client');
const build = { version: '0.1.0', revision: 'abc', nodeversion: 'v20.0.0' };
const ODD = 'ns "quoted" back\\slash new\nline ünï€ode';

test('odd label values, help texts and values: the same bytes prom-client writes, cycle after cycle with the table kept', async () => {
  const table = new FamilyTable();
  const values = [0, -0, 1.5e-300, 2 ** 53 + 2, Number.NaN, Infinity, -Infinity, 123_456_789_012];
  for (const [round, value] of values.entries()) {
    const families = familiesFromValues([
      { name: 'g', help: 'help with \\ and \n newline', type: 'gauge', labelNames: ['netns', 'device'], values: [
        { labels: { netns: ODD, device: 'eth0' }, value },
        { labels: { netns: `n${round % 3}`, device: 'veth"1' }, value: round },
      ] },
      { name: 'c_total', help: 'a counter', type: 'counter', labelNames: [], values: [{ labels: {}, value: round * 10 }] },
      { name: 'empty', help: 'no series this cycle', type: 'gauge', labelNames: ['x'], values: [] },
    ], table);
    const expected = await registryFromFamilies(families).metrics();
    assert.is(await cycleExposition(families).metrics(), expected, `round ${round}`);
  }
});

test('the bytes a push sends: the same text, written into a buffer kept from cycle to cycle', async () => {
  const table = new FamilyTable();
  // Whole numbers are written digit by digit: both signs, zero and -0, the safe-integer edges, and
  // the numbers JavaScript prints otherwise (beyond 2^53, 1e21 and up, fractions).
  const values = [0, -0, 7, -7, 10, 99, 100, -1000, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e21, 1.5, -0.25, 1.5e-300, Number.NaN, Infinity, -Infinity];
  const into = new GrowingBuffer(16);
  for (const [round, value] of values.entries()) {
    const families = familiesFromValues([
      { name: 'g', help: 'help with \\ and \n newline', type: 'gauge', labelNames: ['netns'], values: [{ labels: { netns: ODD }, value }, { labels: { netns: `n${round}` }, value: round }] },
      { name: 'c_total', help: 'a counter', type: 'counter', labelNames: [], values: [{ labels: {}, value: round * 10 }] },
    ], table);
    const expected = await registryFromFamilies(families).metrics();
    assert.is((await cycleExposition(families).bytes!(into)).toString('utf8'), expected, `round ${round}: ${value}`);
    const withProcess = cycleExposition(families, async () => 'process_figure 1\n');
    assert.is((await withProcess.bytes!(into)).toString('utf8'), await withProcess.metrics(), `round ${round}, with the process figures`);
  }
});

test('a whole cycle of namespaces, with prom-client\'s process figures after it as a merged registry shows them', async () => {
  const config = configFrom({ labels: { hostname: 'host', device_ip: 'ip' }, hostname: 'node-1' });
  const table = new FamilyTable();
  const process = new Registry();
  new Gauge({ name: 'process_figure', help: 'p', registers: [process] }).set(7);
  for (const rx of [10, 20]) {
    const families = cycleFamilies(snapshotOf([readOk(ODD, [device('eth0', {}, { rx_bytes: rx })]), readOk('b', [device('lo')])]), config, build, null, table);
    const expected = await Registry.merge([registryFromFamilies(families), process]).metrics();
    assert.is(await cycleExposition(families, () => process.metrics()).metrics(), expected);
  }
});

test('the text is made when asked for, and never from a later cycle\'s values', async () => {
  const table = new FamilyTable();
  const family = (value: number) => familiesFromValues([{ name: 'g', help: 'h', type: 'gauge', labelNames: [], values: [{ labels: {}, value }] }], table);
  const first = cycleExposition(family(1));
  const asked = cycleExposition(family(2));
  assert.match(await asked.metrics(), /^g 2$/m);
  family(3);
  // Made before the table moved on: still the cycle's own text.
  assert.match(await asked.metrics(), /^g 2$/m);
  // Never made in its cycle: refused rather than show cycle 3's value as cycle 1's.
  try {
    await first.metrics();
    assert.unreachable('an earlier cycle\'s text was made from later values');
  } catch (error) {
    assert.match((error as Error).message, /earlier cycle/);
  }
});

test.run();
