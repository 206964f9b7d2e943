import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * `netns-exporter --delete` against a real Pushgateway: what an operator runs when retiring a node,
 * so its group does not stay on the gateway at its last values forever.
 */
const test = suite('CLI: --delete removes this node\'s Pushgateway group');
let gateway: RunningServer;

test.before(async () => {
  gateway = await startPushgateway(['--persistence.file=']);
});
test.after(async () => {
  await gateway?.stop();
});

const INTERVAL_MS = 3_000;

function config(pushgateway: Record<string, unknown>, instance: string) {
  return writeConfig({
    interval: `${INTERVAL_MS / 1000}s`,
    read_timeout: '2s',
    log_level: 'warn',
    push: { pushgateway: { grouping: { instance }, ...pushgateway } },
  }, 'pg-delete');
}

/** Pushes a tiny group by hand, as another node's agent would have. */
async function pushGroup(instance: string): Promise<void> {
  const response = await fetch(`${gateway.url}/metrics/job/netns_exporter/instance/${instance}`, {
    method: 'PUT', body: 'netns_network_namespace{netns="a"} 1\n',
  });
  assert.is(response.status, 200, await response.text());
}

async function instances(): Promise<string[]> {
  const response = await fetch(`${gateway.url}/api/v1/metrics`);
  const groups = ((await response.json()) as { data: { labels: Record<string, string> }[] }).data;
  return groups.map((group) => group.labels.instance ?? '').sort();
}

test('deletes only this node\'s group, exit 0; a second run finds it absent and still exits 0', async () => {
  const retired = `retired-${process.pid}`;
  const other = `other-${process.pid}`;
  await pushGroup(retired);
  await pushGroup(other);
  assert.ok((await instances()).includes(retired));
  const file = config({ url: gateway.url }, retired);

  const first = runAgent(['--delete', '--config', file]);
  assert.is(first.status, 0, first.stderr);
  assert.equal((await instances()).filter((instance) => instance.endsWith(String(process.pid))), [other], 'only the retired group is gone');

  const again = runAgent(['--delete', '--config', file]);
  assert.is(again.status, 0, again.stderr);
});

test('gateway down: exit 1 within the interval, saying why', async () => {
  const run = runAgent(['--delete', '--config', config({ url: `http://127.0.0.1:${await freePort()}`, timeout: '1s' }, 'down')]);
  assert.is(run.status, 1);
  assert.ok(run.ms < INTERVAL_MS + 4_000, `exited after ${run.ms} ms`);
  assert.match(run.stderr, /delete from pushgateway failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
});

test('no Pushgateway configured: exit 2 naming the key', () => {
  const file = writeConfig({ push: { remote_write: { url: 'http://127.0.0.1:1/api/v1/write' } } }, 'pg-delete-none');
  const run = runAgent(['--delete', '--config', file]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /--delete needs push\.pushgateway/);
});

test('--delete cannot be combined with --once', () => {
  const run = runAgent(['--delete', '--once']);
  assert.is(run.status, 2);
  assert.match(run.stderr, /cannot be combined/);
});

runWhen(test, ['pushgateway'], 'Pushgateway --delete CLI');
