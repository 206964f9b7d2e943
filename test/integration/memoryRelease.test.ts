import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentLoop } from '../../agent/loop.js';
import { Collection } from '../../agent/collect.js';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { configFrom } from '../helpers/config.js';
import { addNamespace, TEST_PREFIX } from '../helpers/netns.js';
import { memoryLogger } from '../helpers/remoteWrite.js';
import { testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * The long-running loop hands freed memory back once a cycle (agent/system/libc.ts
 * releaseFreedMemory): after the cycle's push, when its buffers are free, and not while a cycle
 * is in flight.
 */
const test = suite('memory released after each cycle');
const build = { version: 'test', revision: 'test', nodeversion: process.version };
let gateway: RunningServer;

test.before(async () => {
  gateway = await startPushgateway();
  addNamespace('release');
});
test.after(async () => {
  await gateway?.stop();
});

test('called once a cycle, after the push has landed, never during a cycle', async () => {
  const config = configFrom({
    interval: '1s',
    read_timeout: '1s',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}release$` },
    push: { pushgateway: { url: gateway.url, grouping: { instance: 'release' } } },
  });
  const { logger } = memoryLogger();
  const calls: { cycles: number; pushes: number; afterCollect: boolean }[] = [];
  let cycles = 0;
  let pushes = 0;
  let inCycle = false;
  class CountingCollection extends Collection {
    override async collect(...args: Parameters<Collection['collect']>): ReturnType<Collection['collect']> {
      inCycle = true;
      try {
        return await super.collect(...args);
      } finally {
        cycles += 1;
      }
    }
  }
  class CountingTarget extends PushgatewayTarget {
    override async push(...args: Parameters<PushgatewayTarget['push']>): ReturnType<PushgatewayTarget['push']> {
      const outcome = await super.push(...args);
      pushes += 1;
      return outcome;
    }
  }
  const target = new CountingTarget(config.push.pushgateway!, { logger, version: 'test', env: {} });
  await target.start();
  const loop = new AgentLoop({ config, collection: new CountingCollection('nsenter', testReaderOptions()), targets: [target] }, {
    logger,
    build,
    afterCycle: () => {
      calls.push({ cycles, pushes, afterCollect: inCycle });
      inCycle = false;
    },
  });
  loop.start();
  try {
    const until = Date.now() + 10_000;
    while (calls.length < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(calls.length >= 3, `three cycles, three calls: ${JSON.stringify(calls)}`);
    // One call per cycle, each after that cycle's collection and push.
    assert.equal(calls.slice(0, 3).map((call) => [call.cycles, call.pushes, call.afterCollect]), [[1, 1, true], [2, 2, true], [3, 3, true]]);
    const groups = ((await (await fetch(`${gateway.url}/api/v1/metrics`)).json()) as { data: { labels: Record<string, string> }[] }).data;
    assert.ok(groups.some((group) => group.labels.instance === 'release'), 'the pushes arrived');
  } finally {
    await loop.stop(Date.now() + 3_000);
  }
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway'], 'memory release test');
