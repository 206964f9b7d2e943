import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentLoop } from '../../agent/loop.js';
import { Collection } from '../../agent/collect.js';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import { readerOptions } from '../../agent/readers/options.js';
import type { Reader } from '../../agent/readers/reader.js';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { configFrom } from '../helpers/config.js';
import { addNamespace, TEST_PREFIX } from '../helpers/netns.js';
import { memoryLogger } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * A collection that outlasts the interval (2,000 namespaces on a busy 2-core host took 17 s against
 * a 15 s interval) must still be pushed: the push's deadline is counted from the collection's end
 * when the next cycle is already due, not from its start.
 */
const test = suite('a cycle that overruns its interval');
let gateway: RunningServer;

test.before(async () => {
  gateway = await startPushgateway();
  addNamespace('overrun');
});
test.after(async () => {
  await gateway?.stop();
});

test('its push is still attempted, and arrives', async () => {
  const config = configFrom({
    interval: '1s',
    read_timeout: '1s',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}overrun$` },
    push: { pushgateway: { url: gateway.url, grouping: { instance: 'overrun' } } },
  });
  const { logger } = memoryLogger();
  const options = readerOptions(config, logger);
  const real = new NsenterReader(options);
  // A real reader, slowed down: the collection takes 1.5 s of a 1 s interval.
  const slow: Reader = {
    inUse: real.inUse,
    held: null,
    start: () => real.start(),
    stop: () => real.stop(),
    collect: async (namespaces) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return real.collect(namespaces);
    },
  };
  const target = new PushgatewayTarget(config.push.pushgateway!, { logger, version: 'test', env: {} });
  await target.start();
  const loop = new AgentLoop({ config, collection: new Collection('nsenter', options, slow), targets: [target] }, { logger, build: { version: 'test', revision: 'test', nodeversion: process.version } });
  try {
    const { snapshot, pushes } = await loop.runCycle(true, false);
    assert.ok(snapshot.durationMs > 1_000, `the collection overran (${snapshot.durationMs} ms)`);
    assert.is(pushes.length, 1);
    assert.ok(pushes[0]!.outcome.ok, pushes[0]!.outcome.error ?? '');
    const groups = ((await (await fetch(`${gateway.url}/api/v1/metrics`)).json()) as { data: { labels: Record<string, string> }[] }).data;
    assert.ok(groups.some((group) => group.labels.instance === 'overrun'), 'the group arrived');
  } finally {
    await loop.stop(1_000);
  }
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway'], 'overrun test');
