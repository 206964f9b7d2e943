import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { runAgent, startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { rawSamples } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPrometheus, tempDir, type RunningServer } from '../helpers/servers.js';

/**
 * The remote_write buffer has one owner: a second agent on the same folder is refused, and a
 * SIGHUP that rebuilds the push targets hands the buffer (in memory too) to the new target, so an
 * outage spanning a reload loses no cycle.
 */
const test = suite('agent: one owner per remote_write buffer, handed over on SIGHUP');
const cleanup: (() => Promise<void> | void)[] = [];
const agents: ReturnType<typeof startAgent>[] = [];
test.after(async () => {
  for (const agent of agents) agent.child.kill('SIGKILL');
  for (const task of cleanup.reverse()) await task();
});

function agentConfig(promPort: number, remoteWrite: Record<string, unknown>): Record<string, unknown> {
  return {
    interval: '1s',
    read_timeout: '900ms',
    // No namespace matches: the agent's own series (cycles_total) are what is pushed.
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}buffer-none$` },
    push: { remote_write: { url: `http://127.0.0.1:${promPort}/api/v1/write`, timeout: '300ms', ...remoteWrite } },
  };
}

function start(configFile: string) {
  const agent = startAgent(['--config', configFile]);
  agents.push(agent);
  return agent;
}

/** Every cycle since the start shows up as one more netns_exporter_cycles_total: a gap is a lost cycle. */
async function assertNoCycleLost(prometheus: RunningServer, agent: ReturnType<typeof startAgent>, atLeast: number): Promise<void> {
  const values = await waitFor('every cycle delivered', async () => {
    const series = [...(await rawSamples(prometheus.url, 'netns_exporter_cycles_total', Date.now())).values()];
    const got = series[0]?.map(([, value]) => value) ?? [];
    return got.length >= atLeast ? got : null;
  }, { timeoutMs: 30_000, context: agent.output });
  const expected = Array.from({ length: values.length }, (_, index) => values[0]! + index);
  assert.equal(values, expected, 'consecutive: no cycle lost across the reload');
  assert.ok(values[0]! <= 2, `the first cycles arrived too (first value ${values[0]})`);
}

test('in-memory buffer: a SIGHUP that changes the push settings during an outage loses no cycle', async () => {
  const promPort = await freePort();
  const configFile = writeConfig(agentConfig(promPort, {}), 'rw-handover');
  const agent = start(configFile);
  await waitFor('a few cycles buffered', async () => /"consecutiveFailures"|push failed/.test(agent.output()) && agent.output().split('\n').length > 3, { context: agent.output });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  writeFileSync(configFile, stringify(agentConfig(promPort, { timeout: '400ms' })));
  agent.child.kill('SIGHUP');
  await waitFor('the reload', async () => agent.output().includes('configuration reloaded'), { context: agent.output });
  // Longer than the 5 s a replaced target gets to deliver on its way out: the new one must have them.
  await new Promise((resolve) => setTimeout(resolve, 6_500));
  const prometheus = await startPrometheus({ port: promPort });
  cleanup.push(() => prometheus.stop());
  await assertNoCycleLost(prometheus, agent, 10);
  assert.not.match(agent.output(), /undelivered samples at shutdown are lost/);
  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);
});

test('buffer.dir: a second agent on the same folder exits 2 naming the key; SIGHUP hands the folder to the new target', async () => {
  const promPort = await freePort();
  const bufferDir = tempDir('rw-owner');
  cleanup.push(() => rmSync(bufferDir, { recursive: true, force: true }));
  const configFile = writeConfig(agentConfig(promPort, { buffer: { dir: bufferDir } }), 'rw-owner');
  const agent = start(configFile);
  await waitFor('the agent running', async () => agent.output().includes('netns-exporter running'), { context: agent.output });

  const second = runAgent(['--config', configFile], { timeoutMs: 20_000 });
  assert.is(second.status, 2, second.stderr);
  const lines = second.stderr.trim().split('\n');
  assert.is(lines.length, 1, second.stderr);
  assert.match(lines[0]!, /^netns-exporter: config error: push\.remote_write\.buffer\.dir: .*in use by process \d+/);

  await new Promise((resolve) => setTimeout(resolve, 2_000));
  writeFileSync(configFile, stringify(agentConfig(promPort, { buffer: { dir: bufferDir }, timeout: '400ms' })));
  agent.child.kill('SIGHUP');
  await waitFor('the reload', async () => agent.output().includes('configuration reloaded') || agent.output().includes('cannot start'), { context: agent.output });
  assert.not.match(agent.output(), /cannot start/);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const prometheus = await startPrometheus({ port: promPort });
  cleanup.push(() => prometheus.stop());
  await assertNoCycleLost(prometheus, agent, 5);
  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);
});

/** The process unshare forked into the new pid namespace (pid 1 there): the agent. */
function namespacedChild(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`unshare ${unsharePid} has children [${children.join(' ')}]`);
  return Number(children[0]);
}

test('buffer.dir: kill -9 in a pid namespace, restart with the same pid → the stale lock does not block; the buffered cycles arrive', async () => {
  const promPort = await freePort();
  const bufferDir = tempDir('rw-samepid');
  cleanup.push(() => rmSync(bufferDir, { recursive: true, force: true }));
  const configFile = writeConfig(agentConfig(promPort, { buffer: { dir: bufferDir } }), 'rw-samepid');
  // As in the container image: the agent has the same pid on every start (1 here, 2 under tini).
  const unshare = ['unshare', '-pf', '--mount-proc'];
  const first = startAgent(['--config', configFile], {}, unshare);
  agents.push(first);
  await waitFor('cycles buffered on disk', async () => readdirSync(bufferDir).filter((name) => name.endsWith('.rwb')).length >= 2, { context: first.output });
  assert.match(readFileSync(path.join(bufferDir, '.lock'), 'utf8'), /^1\n$/, 'pid 1 in its namespace');
  process.kill(namespacedChild(first.child.pid!), 'SIGKILL');
  await first.exited;
  assert.ok(existsSync(path.join(bufferDir, '.lock')), 'kill -9 leaves the lock file behind');

  const prometheus = await startPrometheus({ port: promPort });
  cleanup.push(() => prometheus.stop());
  const second = runAgent(['--config', configFile, '--once'], { wrap: unshare, timeoutMs: 30_000 });
  assert.is(second.status, 0, second.stderr);
  const delivered = await rawSamples(prometheus.url, 'netns_exporter_cycles_total', Date.now());
  const values = [...delivered.values()][0]?.map(([, value]) => value) ?? [];
  assert.ok(values.length >= 3, `the buffered cycles and the new one arrived: ${JSON.stringify(values)}`);
});

/** Samples a buffer file holds, from its header (magic, then the count as u32 LE). */
function fileSamples(file: string): number {
  return readFileSync(file).readUInt32LE(6);
}

/** A self-metric's value from the agent's /metrics page, or null when the series is absent. */
async function selfMetric(port: number, name: string, labels: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(labels === '' ? `${name} ` : `${name}{${labels}}`));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('buffer.dir deleted while running: counted as reason="deleted", warned once, folder and lock recreated', async () => {
  const promPort = await freePort();
  const apiPort = await freePort();
  const bufferDir = tempDir('rw-deleted');
  const moved = `${bufferDir}.gone`;
  cleanup.push(() => rmSync(bufferDir, { recursive: true, force: true }));
  cleanup.push(() => rmSync(moved, { recursive: true, force: true }));
  const configFile = writeConfig({
    ...agentConfig(promPort, { buffer: { dir: bufferDir } }),
    api_server: { server_address: '127.0.0.1', server_port: apiPort },
  }, 'rw-deleted');
  const agent = start(configFile);
  await waitFor('cycles buffered on disk', async () => readdirSync(bufferDir).filter((name) => name.endsWith('.rwb')).length >= 3, { context: agent.output });
  // Out of the agent's reach in one step, as `rm -rf` would leave it; the files are counted here.
  renameSync(bufferDir, moved);
  const lostFiles = readdirSync(moved).filter((name) => name.endsWith('.rwb'));
  const lost = lostFiles.reduce((sum, name) => sum + fileSamples(path.join(moved, name)), 0);
  assert.ok(lost > 0);

  await waitFor('the folder and its lock back', async () => existsSync(path.join(bufferDir, '.lock')) && readdirSync(bufferDir).some((name) => name.endsWith('.rwb')), { context: agent.output });
  assert.is(readFileSync(path.join(bufferDir, '.lock'), 'utf8'), `${agent.child.pid}\n`);
  const second = runAgent(['--config', configFile, '--once'], { timeoutMs: 20_000 });
  assert.is(second.status, 2, `the recreated lock is held: ${second.stderr}`);
  assert.match(second.stderr, /in use by process/);
  // /metrics shows the figures of the last finished cycle: the loss noticed after that cycle's push
  // is published by the next one, so the counter may still read 0 for one interval.
  const deleted = await waitFor('the loss counted', async () => {
    const value = await selfMetric(apiPort, 'netns_exporter_remote_write_samples_dropped_total', 'reason="deleted"');
    return value === null || value === 0 ? null : value;
  }, { context: agent.output });
  assert.is(deleted, lost, `${lostFiles.length} files held ${lost} samples`);
  const warnings = agent.output().split('\n').filter((line) => /buffer\.dir|buffer file|buffer folder/.test(line) && /"level":40|WARN/.test(line));
  assert.is(warnings.length, 1, warnings.join('\n'));

  const prometheus = await startPrometheus({ port: promPort });
  cleanup.push(() => prometheus.stop());
  await waitFor('the buffer drained after the outage', async () => readdirSync(bufferDir).every((name) => !name.endsWith('.rwb')) && /succeeds again/.test(agent.output()), { context: agent.output, timeoutMs: 30_000 });
  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);
});

/** Prometheus' own count of remote_write requests it answered with `code`. */
async function receiverAnswers(prometheus: RunningServer, code: number): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith('prometheus_http_requests_total{') && candidate.includes('handler="/api/v1/write"') && candidate.includes(`code="${code}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('buffer.dir read-only at recovery: delivered files are never resent while running; after a restart their resend is counted as resent, drops nothing', async () => {
  const promPort = await freePort();
  const apiPort = await freePort();
  const bufferDir = tempDir('rw-readonly');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', bufferDir]);
  cleanup.push(() => {
    execFileSync('umount', ['-l', bufferDir]);
    rmSync(bufferDir, { recursive: true, force: true });
  });
  const configFile = writeConfig({
    ...agentConfig(promPort, { buffer: { dir: bufferDir } }),
    api_server: { server_address: '127.0.0.1', server_port: apiPort },
  }, 'rw-readonly');
  const agent = start(configFile);
  await waitFor('cycles buffered on disk', async () => readdirSync(bufferDir).filter((name) => name.endsWith('.rwb')).length >= 5, { context: agent.output });
  execFileSync('mount', ['-o', 'remount,ro', bufferDir]);
  const onDisk = readdirSync(bufferDir).filter((name) => name.endsWith('.rwb'));
  const onDiskSamples = onDisk.reduce((sum, name) => sum + fileSamples(path.join(bufferDir, name)), 0);

  const prometheus = await startPrometheus({ port: promPort });
  cleanup.push(() => prometheus.stop());
  await assertNoCycleLost(prometheus, agent, 12);
  assert.is(await receiverAnswers(prometheus, 400), 0, 'nothing delivered was sent again');
  assert.is(await selfMetric(apiPort, 'netns_exporter_remote_write_samples_dropped_total', 'reason="rejected"'), 0);
  assert.equal(readdirSync(bufferDir).filter((name) => name.endsWith('.rwb')), onDisk, 'the delivered files are still there (read-only)');
  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);

  // A restart while the folder stays read-only: the delivered files are all the agent finds.
  const again = start(configFile);
  const resent = await waitFor('the resend counted', async () => {
    const value = await selfMetric(apiPort, 'netns_exporter_remote_write_resent_total', '');
    return value !== null && value >= onDiskSamples ? value : null;
  }, { context: again.output, timeoutMs: 30_000 });
  assert.is(resent, onDiskSamples, `${onDisk.length} files held ${onDiskSamples} samples`);
  assert.is(await selfMetric(apiPort, 'netns_exporter_remote_write_samples_dropped_total', 'reason="rejected"'), 0, 'the resend\'s 400 drops nothing');
  await waitFor('the new cycles delivered', async () => /succeeds again|"consecutiveFailures"/.test(again.output()) || (await receiverAnswers(prometheus, 204)) > 20, { context: again.output });
  const before = await receiverAnswers(prometheus, 400);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  assert.is(await receiverAnswers(prometheus, 400), before, 'each resent file is sent once');

  // Writable again: the delivered files go.
  execFileSync('mount', ['-o', 'remount,rw', bufferDir]);
  await waitFor('the delivered files removed', async () => readdirSync(bufferDir).every((name) => !name.endsWith('.rwb')), { context: again.output });
  again.child.kill('SIGTERM');
  assert.is(await again.exited, 0);
});

runWhen(test, ['root', 'prometheus'], 'agent buffer ownership tests');
