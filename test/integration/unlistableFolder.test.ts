import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, cleanupNamespaces } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';

/**
 * "Could not list" is not "empty": a netns_dirs folder that turns into a symbolic link loop (a real
 * ELOOP) must not blank the node's group on the Pushgateway.
 */
const test = suite('a netns_dirs folder that cannot be listed');
const INSTANCE = `unlistable-${process.pid}`;
let root = '';
let link = '';
let mounted = '';
let gateway: RunningServer;
let healthPort = 0;
let agent: ReturnType<typeof startAgent>;
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>) =>
  waitUntil(what, probe, { timeoutMs: 20_000, context: () => agent?.output() ?? '' });

type HealthBody = { status: string; problems: string[]; last_cycle: { started: string } | null };

async function health(): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(3_000) });
  return { status: response.status, body: await response.json() as HealthBody };
}

async function group() {
  const samples = parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
  return samples.filter((sample) => sample.labels.instance === INSTANCE);
}

/** Points the configured folder at the real one, or at itself (ELOOP), atomically. */
function pointLink(target: string): void {
  const next = `${link}.next`;
  rmSync(next, { force: true });
  symlinkSync(target, next);
  renameSync(next, link);
}

test.before(async () => {
  root = tempDir('unlistable');
  const folder = path.join(root, 'netns');
  mkdirSync(folder);
  const name = addNamespace('unlist');
  mounted = path.join(folder, 'router-1');
  writeFileSync(mounted, '');
  execFileSync('mount', ['--bind', `/run/netns/${name}`, mounted]);
  link = path.join(root, 'dir');
  pointLink(folder);
  gateway = await startPushgateway();
  healthPort = await freePort();
  agent = startAgent(['--config', writeConfig({
    interval: '500ms',
    netns_dirs: [link],
    health: { listen: `127.0.0.1:${healthPort}`, max_age: '30s' },
    push: { pushgateway: { url: gateway.url, grouping: { instance: INSTANCE } } },
  }, 'unlistable')]);
});

test.after(async () => {
  agent?.child.kill('SIGKILL');
  await gateway?.stop();
  if (mounted !== '') execFileSync('umount', [mounted]);
  rmSync(root, { recursive: true, force: true });
  cleanupNamespaces();
});

test('the last good push stays on the gateway, /healthz says why it is failing', async () => {
  await waitFor('healthy', async () => (await health()).status === 200);
  assert.is(find(await group(), 'netns_network_namespace', { netns: 'router-1' }).length, 1);

  pointLink(link); // the folder is now a link to itself
  const failing = await waitFor('503', async () => {
    const result = await health();
    return result.status === 503 ? result : null;
  });
  assert.match(failing.body.problems[0]!, new RegExp(`^cannot list netns_dirs folder ${link}: ELOOP \\(a symbolic link loop\\); the cycle was not pushed`));
  const pushedAt = find(await group(), 'push_time_seconds', {})[0]!.value;
  // Four cycles that could not list the folder, each seen on /healthz by its start time.
  const failedCycles = new Set<string>();
  await waitFor('four failing cycles', async () => {
    const { status, body } = await health();
    if (status === 503 && body.last_cycle !== null) failedCycles.add(body.last_cycle.started);
    return failedCycles.size >= 4;
  });
  const during = await group();
  assert.is(find(during, 'netns_network_namespace', { netns: 'router-1' }).length, 1, 'the namespace is still on the gateway');
  assert.is(find(during, 'push_time_seconds', {})[0]!.value, pushedAt, 'nothing was pushed over it');
});

test('once the folder lists again: healthy, the failures counted, one warning and one "resolved" in the log', async () => {
  pointLink(path.join(root, 'netns'));
  await waitFor('healthy again', async () => (await health()).status === 200);
  const errors = await waitFor('the counter on the gateway', async () => {
    const series = find(await group(), 'netns_exporter_netns_dir_list_errors_total', { dir: link });
    return series.length === 1 && series[0]!.value > 0 ? series[0]!.value : null;
  });
  assert.ok(errors >= 3, `${errors} failed listings counted`);
  // The loop logs "resolved" after the cycle that pushed the counter has returned: wait for the line itself.
  await waitFor('the "resolved" line', async () => agent.output().includes('"msg":"collection unhealthy: resolved"'));
  const lines = agent.output().split('\n').filter((line) => line.includes('ELOOP'));
  assert.is(lines.filter((line) => line.includes('"level":40')).length, 1, lines.join('\n'));
});

runWhen(test, ['root', 'ip', 'pushgateway'], 'unlistable folder tests');
