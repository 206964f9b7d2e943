import { createServer, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, tempDir } from '../helpers/servers.js';

/**
 * `docker stop` and `podman stop` send SIGTERM and SIGKILL 10 s later. The image's default config
 * pushes to a gateway with delete_on_shutdown; when that gateway is unreachable, the push in flight
 * (retrying until its deadline) and the DELETE (retrying too) must still end within that window.
 */
const test = suite('CLI: SIGTERM while the gateway is unreachable');
const STOP_TIMEOUT_MS = 10_000;

test('exit 0 well within the 10 s stop timeout, retries and delete_on_shutdown included', async () => {
  const closedPort = await freePort();
  const healthPort = await freePort();
  const file = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` },
    interval: '15s',
    push: { pushgateway: { url: `http://127.0.0.1:${closedPort}`, delete_on_shutdown: true } },
    health: { listen: `127.0.0.1:${healthPort}` },
  }, 'shutdown');
  const agent = startAgent(['--config', file]);
  // The first push has begun (and is retrying refused connections) when SIGTERM comes.
  await waitFor('the first push attempt', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as { targets: { last_attempt: string | null }[] };
    return body.targets[0]?.last_attempt !== null;
  }, { context: agent.output });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const started = Date.now();
  agent.child.kill('SIGTERM');
  const killer = setTimeout(() => agent.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const code = await agent.exited;
  clearTimeout(killer);
  const tookMs = Date.now() - started;
  assert.is(code, 0, `exit code ${code} after ${tookMs} ms\n${agent.output().slice(-2000)}`);
  assert.ok(tookMs < STOP_TIMEOUT_MS - 1_000, `stopped in ${tookMs} ms: leave docker/podman a margin`);
  assert.match(agent.output(), /could not delete this node's group/, 'the DELETE was still tried');
});

test('both targets on a receiver that accepts and never answers: SIGTERM to exit 0 within 8 s, no error-level line', async () => {
  // Takes every connection and every byte, and never answers.
  const sockets = new Set<Socket>();
  const hung = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const address = hung.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const healthPort = await freePort();
  const file = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` },
    interval: '15s',
    push: {
      pushgateway: { url, delete_on_shutdown: true },
      remote_write: { url: `${url}/api/v1/write`, buffer: { dir: tempDir('shutdown-hung') } },
    },
    health: { listen: `127.0.0.1:${healthPort}` },
  }, 'shutdown-hung');
  const agent = startAgent(['--config', file, '--log-format', 'json']);
  try {
    // Both pushes are in flight, each waiting on an answer that never comes, when SIGTERM comes.
    await waitFor('both pushes in flight', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${healthPort}/healthz`)).json()) as { targets: { last_attempt: string | null }[] };
      return body.targets.length === 2 && body.targets.every((target) => target.last_attempt !== null) && sockets.size >= 2;
    }, { context: agent.output });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const started = Date.now();
    agent.child.kill('SIGTERM');
    const killer = setTimeout(() => agent.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await agent.exited;
    clearTimeout(killer);
    const tookMs = Date.now() - started;
    assert.is(code, 0, `exit code ${code} after ${tookMs} ms\n${agent.output().slice(-2000)}`);
    assert.ok(tookMs <= 8_000, `stopped in ${tookMs} ms: the promise is 8 s`);
    const errors = agent.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
    assert.equal(errors, [], 'an ordinary stop logs no error');
  } finally {
    for (const socket of sockets) socket.destroy();
    hung.close();
  }
});

runWhen(test, ['root'], 'shutdown test');
