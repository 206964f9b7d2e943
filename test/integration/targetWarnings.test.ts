import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import { configFrom } from '../helpers/config.js';
import { faultServer, memoryLogger, remoteWriteConfig, syntheticCycle } from '../helpers/remoteWrite.js';

/**
 * "Warn once per distinct error" keys on the error's class, not its text: a frozen receiver times
 * out after a different number of milliseconds every cycle, and must not warn every cycle.
 */
const test = suite('push warnings: once per distinct error class');
const closers: (() => Promise<void>)[] = [];
test.after(async () => {
  for (const close of closers) await close();
});

function warnings(lines: () => Record<string, unknown>[]) {
  return lines().filter((line) => line.level === 40 && /push failed/.test(String(line.msg)));
}

test('a frozen Pushgateway: one warning over many cycles whose timeouts differ', async () => {
  const frozen = await faultServer(() => undefined);
  closers.push(frozen.close);
  const { logger, lines } = memoryLogger();
  const config = configFrom({ push: { pushgateway: { url: frozen.url.replace('/api/v1/write', ''), timeout: '10s' } } }).push.pushgateway!;
  const target = new PushgatewayTarget(config, { logger, version: 'test', env: {} });
  closers.push(() => target.stop(Date.now() + 200));
  await target.start();
  // Each deadline leaves a different time for the attempt: the timeout text differs every cycle.
  for (const ms of [150, 230, 310, 170]) {
    const outcome = await target.push(syntheticCycle(Date.now(), 'm', { a: 1 }), Date.now() + ms);
    assert.match(outcome.error ?? '', /no response within \d+ ms/);
  }
  assert.is(warnings(lines).length, 1, JSON.stringify(warnings(lines).map((line) => line.error)));
  assert.is(target.state().consecutiveFailures, 4);
});

test('a frozen remote_write receiver: one warning; a different error class warns again', async () => {
  let frozen = true;
  const receiver = await faultServer((_, res) => {
    if (!frozen) res.writeHead(401).end('unauthorized');
  });
  closers.push(receiver.close);
  const { logger, lines } = memoryLogger();
  const target = new RemoteWriteTarget(remoteWriteConfig(receiver.url, { timeout: '10s', min_backoff: '5s' }), { logger, version: 'test' });
  closers.push(() => target.stop(Date.now() + 200));
  await target.start();
  for (const ms of [150, 230, 310]) {
    const outcome = await target.push(syntheticCycle(Date.now(), 'm', { a: 1 }), Date.now() + ms);
    assert.match(outcome.error ?? '', /no response within \d+ ms/);
  }
  assert.is(warnings(lines).length, 1, JSON.stringify(warnings(lines).map((line) => line.error)));
  frozen = false;
  await target.push(syntheticCycle(Date.now(), 'm', { a: 1 }), Date.now() + 1_000);
  await target.push(syntheticCycle(Date.now(), 'm', { a: 1 }), Date.now() + 1_000);
  assert.is(warnings(lines).length, 2, 'the 401 is a new class, warned once');
});

test.run();
