import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { addNamespace, addVeth, deleteNamespace, inNs, TEST_PREFIX } from '../helpers/netns.js';
import { promQuery, promString } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPrometheus, tempDir, type RunningServer } from '../helpers/servers.js';

const test = suite('CLI: --once with push.remote_write');
let prometheus: RunningServer;
const namespaces: string[] = [];

test.before(async () => {
  prometheus = await startPrometheus();
});

test.after(async () => {
  await prometheus?.stop();
  // Suites share one process and its test prefix: leave no namespace for the next suite to read.
  for (const name of namespaces) deleteNamespace(name);
});

test('the agent as users run it: a namespace\'s MTU queryable in Prometheus; a dead Pushgateway beside it fails alone', async () => {
  const name = addNamespace('rwcli "x"');
  namespaces.push(name);
  const device = `rwc${process.pid % 100_000}`;
  addVeth({ ns: name, dev: device }, { ns: null, dev: `${device}p` });
  inNs(name, ['ip', 'link', 'set', device, 'mtu', '1321']);
  const instance = `rw-cli-${process.pid}`;
  const section = (extra: Record<string, unknown>) => ({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}rwcli ` },
    interval: '3s',
    read_timeout: '2s',
    log_level: 'warn',
    push: { remote_write: { url: `${prometheus.url}/api/v1/write`, external_labels: { instance } }, ...extra },
  });
  const selector = `netns_network_mtu_bytes{instance="${instance}", netns=${promString(name)}, device="${device}"}`;

  const alone = runAgent(['--once', '--config', writeConfig(section({}), 'rw-cli')]);
  assert.is(alone.status, 0, alone.stderr);
  const result = await promQuery(prometheus.url, selector);
  assert.is(result.length, 1, selector);
  assert.is(Number(result[0]!.value![1]), 1321);

  inNs(name, ['ip', 'link', 'set', device, 'mtu', '1322']);
  const deadPort = await freePort();
  const both = runAgent(['--once', '--config', writeConfig(section({ pushgateway: { url: `http://127.0.0.1:${deadPort}` } }), 'rw-cli')]);
  assert.is(both.status, 1, 'a failed push makes --once fail');
  assert.match(both.stderr, /push to pushgateway failed/);
  assert.not.match(both.stderr, /push to remote_write failed/);
  const after = await promQuery(prometheus.url, selector);
  assert.is(Number(after[0]!.value![1]), 1322, 'remote_write delivered although the Pushgateway was down');
});

test('--once with the receiver down says what becomes of the samples: lost without buffer.dir, kept on disk with it', async () => {
  const deadPort = await freePort();
  const config = (buffer: Record<string, unknown>) => writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` },
    log_level: 'warn',
    push: { remote_write: { url: `http://127.0.0.1:${deadPort}/api/v1/write`, timeout: '300ms', buffer } },
  }, 'rw-once');
  const inMemory = runAgent(['--once', '--config', config({})]);
  assert.is(inMemory.status, 1, inMemory.stderr);
  const summary = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('netns-exporter: ')).join('\n');
  assert.not.match(summary(inMemory.stderr), /stay buffered/, 'nothing stays anywhere once the process exits');
  assert.match(summary(inMemory.stderr), /push to remote_write failed: .*the samples of this run are lost: set push\.remote_write\.buffer\.dir to keep them for the next run/);

  const dir = tempDir('rw-once-buffer');
  const onDisk = runAgent(['--once', '--config', config({ dir })]);
  assert.is(onDisk.status, 1, onDisk.stderr);
  assert.match(summary(onDisk.stderr), new RegExp(`the samples of this run stay in ${dir}; the next run sends them`));
  assert.ok(readdirSync(dir).length > 0, 'and they are there');
});

runWhen(test, ['root', 'ip', 'nsenter', 'prometheus'], 'remote_write CLI');
