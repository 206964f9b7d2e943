import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { freePort, tempDir } from '../helpers/servers.js';

/** The messages an operator reads first say what to do, and name what the operator wrote. */
const test = suite('CLI: messages that name the fix');

const NO_ENV_URLS = { NETNS_EXPORTER_PUSHGATEWAY_URL: '', NETNS_EXPORTER_REMOTE_WRITE_URL: '' };

function check(config: unknown, env: Record<string, string> = {}) {
  return runAgent(['--check-config', '--config', writeConfig(config, 'messages')], { env: { ...NO_ENV_URLS, ...env } });
}

test('a URL without a scheme says to add http:// or https://', () => {
  for (const [key, config] of [
    ['push.pushgateway.url', { push: { pushgateway: { url: 'localhost:9091' } } }],
    ['push.remote_write.url', { push: { remote_write: { url: 'victoria.example.internal:8428/api/v1/write' } } }],
    ['push.pushgateway.proxy_url', { push: { pushgateway: { url: 'http://127.0.0.1:9091', proxy_url: 'proxy.example.internal:3128' } } }],
  ] as const) {
    const run = check(config);
    assert.is(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`^netns-exporter: config error: ${key.replace(/\./g, '\\.')}: .*add http:// or https://`, 'm'));
    assert.not.match(run.stderr, /got "localhost"|got "victoria|got "proxy/, 'the host is not called a scheme');
  }
  // A real scheme that is not http(s) is still named as one.
  assert.match(check({ push: { pushgateway: { url: 'ftp://127.0.0.1:9091' } } }).stderr, /only http and https are supported, got "ftp"/);
});

test('an error in a value from an environment variable names the variable', () => {
  const url = check({}, { NETNS_EXPORTER_PUSHGATEWAY_URL: 'localhost:9091' });
  assert.is(url.status, 2, url.stderr);
  assert.match(url.stderr, /NETNS_EXPORTER_PUSHGATEWAY_URL/);
  const interval = check({}, { NETNS_EXPORTER_INTERVAL: 'soon' });
  assert.is(interval.status, 2, interval.stderr);
  assert.match(interval.stderr, /NETNS_EXPORTER_INTERVAL/);
  const threads = check({}, { NETNS_EXPORTER_THREADS: '0' });
  assert.is(threads.status, 2, threads.stderr);
  assert.match(threads.stderr, /NETNS_EXPORTER_THREADS/);
  // The same mistake in the file names the key alone: there is no variable to name.
  const inFile = check({ interval: 'soon' });
  assert.match(inFile.stderr, /config error: interval: /);
  assert.not.match(inFile.stderr, /NETNS_EXPORTER_INTERVAL/);
});

interface LogLine { level: number; msg: string }
const logLines = (output: string): LogLine[] => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);

/** The agent's "first collection started" line for `config`, on an empty netns folder. */
async function firstCollectionLine(config: Record<string, unknown>): Promise<string> {
  const file = writeConfig({ netns_dirs: [tempDir('first-line')], interval: '30s', ...config }, 'first-line');
  const agent = startAgent(['--config', file, '--log-format', 'json'], NO_ENV_URLS);
  try {
    const line = await waitFor('first collection started', async () => logLines(agent.output()).find((entry) => entry.msg.startsWith('first collection started')) ?? null, { context: agent.output });
    return line.msg;
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
}

test('"first collection started" names /metrics only where /metrics is served', async () => {
  const gateway = `http://127.0.0.1:${await freePort()}`;
  const pushOnly = await firstCollectionLine({ push: { pushgateway: { url: gateway } }, health: { listen: `127.0.0.1:${await freePort()}` } });
  assert.not.match(pushOnly, /\/metrics/, pushOnly);
  assert.match(pushOnly, /\/healthz answers 503/, pushOnly);
  const pull = await firstCollectionLine({ api_server: { server_address: '127.0.0.1', server_port: await freePort() } });
  assert.match(pull, /\/metrics and \/healthz answer 503/, pull);
  const neither = await firstCollectionLine({ push: { pushgateway: { url: gateway } } });
  assert.not.match(neither, /503/, neither);
});

test.run();
