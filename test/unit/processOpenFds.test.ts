import { closeSync, openSync, readdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { replaceOpenFdsGauge } from '../../agent/processOpenFds.js';

const test = suite('process_open_fds without listing /proc/self/fd');

async function openFds(registry: Registry): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === 'x_process_open_fds');
  return Number(metric?.values[0]?.value);
}

test('the same family as prom-client\'s, counting what is open', async () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'x_' });
  const before = (await registry.getMetricsAsJSON()).find((entry) => entry.name === 'x_process_open_fds')!;
  replaceOpenFdsGauge(registry, 'x_', '/proc');
  const after = (await registry.getMetricsAsJSON()).find((entry) => entry.name === 'x_process_open_fds')!;
  assert.equal({ help: after.help, type: after.type }, { help: before.help, type: before.type });
  const base = await openFds(registry);
  assert.ok(Math.abs(base - (readdirSync('/proc/self/fd').length - 1)) <= 2, `${base} open`);
  const opened = Array.from({ length: 40 }, () => openSync('/dev/null', 'r'));
  try {
    assert.ok(Math.abs(await openFds(registry) - base - 40) <= 2, 'forty more open');
  } finally {
    for (const fd of opened) closeSync(fd);
  }
});

test.run();
