import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PushgatewayTarget } from '../../agent/targets/pushgateway.js';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import type { ExtraMetric } from '../../shared/metrics/families.js';
import { configFrom } from '../helpers/config.js';
import { memoryLogger, rawSamples, remoteWriteFigures, syntheticCycle } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPrometheus, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { writeWebConfig } from '../helpers/webConfig.js';

/**
 * What remote_write keeps when things go wrong the way they do on a node: a credential rotated on
 * the receiver before the agent's file, a receiver moved to another path, a full disk under
 * buffer.dir. Real Prometheus (and Pushgateway) behind their own web config, a real tmpfs.
 */
const test = suite('remote_write loses nothing: auth errors, wrong paths, rotated secrets, full disks');
const cleanup: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const task of cleanup.reverse()) await task();
});

const REAL_FILES = { readFile: (file: string) => readFileSync(file, 'utf8') };
const USER = 'agent';

let metricCounter = 0;
function metricName(): string {
  metricCounter += 1;
  return `nxt_loss_${process.pid}_${metricCounter}`;
}

function cycleTimes(count: number): number[] {
  const base = Math.floor(Date.now() / 1000) * 1000 - count * 1000;
  return Array.from({ length: count }, (_, index) => base + index * 1000);
}

const soon = (ms = 2_000) => Date.now() + ms;

function basic(password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}` };
}

function dropped(metrics: ExtraMetric[]): Record<string, number> {
  const family = metrics.find((metric) => metric.spec.name === 'netns_exporter_remote_write_samples_dropped_total');
  return Object.fromEntries((family?.values ?? []).map((value) => [value.labels.reason, value.value]));
}

function remoteWrite(section: Record<string, unknown>, logger = memoryLogger().logger): RemoteWriteTarget {
  const config = configFrom({ push: { remote_write: { min_backoff: '50ms', max_backoff: '200ms', ...section } } }, REAL_FILES).push.remoteWrite!;
  const target = new RemoteWriteTarget(config, { logger, version: 'test' });
  cleanup.push(() => target.stop(Date.now() + 500));
  return target;
}

/** A Prometheus receiving remote_write behind basic auth; its web config is re-read on every request. */
async function securedPrometheus(password: string): Promise<{ server: RunningServer; setPassword: (next: string) => void }> {
  const dir = tempDir('prom-auth');
  const webConfig = path.join(dir, 'web.yml');
  writeWebConfig(webConfig, { users: { [USER]: password } });
  const server = await startPrometheus({ extraArgs: [`--web.config.file=${webConfig}`] });
  cleanup.push(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, setPassword: (next) => writeWebConfig(webConfig, { users: { [USER]: next } }) };
}

test('a 401 after the receiver\'s password changed keeps every sample; the new password in password_file delivers them all', async () => {
  const { server, setPassword } = await securedPrometheus('first-password');
  const secrets = tempDir('rw-secret');
  cleanup.push(() => rmSync(secrets, { recursive: true, force: true }));
  const passwordFile = path.join(secrets, 'password');
  writeFileSync(passwordFile, 'first-password\n', { mode: 0o600 });
  const metric = metricName();
  const rw = remoteWrite({ url: `${server.url}/api/v1/write`, basic_auth: { username: USER, password_file: passwordFile } });
  await rw.start();
  const times = cycleTimes(5);

  assert.ok((await rw.push(syntheticCycle(times[0]!, metric, { a: 0 }), soon())).ok, 'the first password works');
  setPassword('second-password');
  for (const index of [1, 2, 3]) {
    const outcome = await rw.push(syntheticCycle(times[index]!, metric, { a: index }), soon());
    assert.not.ok(outcome.ok);
    assert.match(outcome.error ?? '', /HTTP 401/);
  }
  assert.is(remoteWriteFigures(rw).samples, 3, 'the three cycles refused with 401 wait in the buffer');
  assert.equal(dropped(rw.selfMetrics()).rejected ?? 0, 0, 'a 401 is not bad data');

  // The operator writes the new password into the file; no restart, no reload.
  writeFileSync(passwordFile, 'second-password\n');
  const outcome = await rw.push(syntheticCycle(times[4]!, metric, { a: 4 }), soon(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');
  assert.is(remoteWriteFigures(rw).samples, 0);
  const stored = await rawSamples(server.url, metric, Date.now(), basic('second-password'));
  assert.equal(stored.get('a'), times.map((at, index) => [at, index]), 'every sample arrived, in order');
});

test('a 404 (receiver moved) keeps the buffer on disk; the agent at the right path delivers all of it', async () => {
  const prometheus = await startPrometheus();
  cleanup.push(() => prometheus.stop());
  const dir = tempDir('rw-404');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const metric = metricName();
  const times = cycleTimes(3);
  const wrong = remoteWrite({ url: `${prometheus.url}/api/v1/moved`, buffer: { dir } });
  await wrong.start();
  for (const [index, at] of times.entries()) {
    const outcome = await wrong.push(syntheticCycle(at, metric, { a: index }), soon());
    assert.match(outcome.error ?? '', /HTTP 404/);
  }
  assert.is(remoteWriteFigures(wrong).samples, 3);
  assert.equal(dropped(wrong.selfMetrics()).rejected ?? 0, 0, 'a 404 is not bad data');
  await wrong.stop(soon(300));

  const right = remoteWrite({ url: `${prometheus.url}/api/v1/write`, buffer: { dir } });
  await right.start();
  assert.is(remoteWriteFigures(right).samples, 3, 'the files of the first run were kept');
  assert.ok((await right.push(syntheticCycle(times[2]! + 1_000, metric, { a: 3 }), soon(5_000))).ok);
  const stored = await rawSamples(prometheus.url, metric, Date.now());
  assert.equal(stored.get('a')?.map(([, value]) => value), [0, 1, 2, 3]);
});

test('Pushgateway: a password rotated on the gateway and then in password_file works without a restart', async () => {
  const dir = tempDir('pg-auth');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const webConfig = path.join(dir, 'web.yml');
  writeWebConfig(webConfig, { users: { [USER]: 'first-password' } });
  const gateway = await startPushgateway(['--persistence.file=', `--web.config.file=${webConfig}`]);
  cleanup.push(() => gateway.stop());
  const passwordFile = path.join(dir, 'password');
  writeFileSync(passwordFile, 'first-password\n', { mode: 0o600 });
  const config = configFrom({
    push: { pushgateway: { url: gateway.url, basic_auth: { username: USER, password_file: passwordFile } } },
  }, REAL_FILES).push.pushgateway!;
  const pg = new PushgatewayTarget(config, { logger: memoryLogger().logger, version: 'test', env: {} });
  cleanup.push(() => pg.stop(soon(500)));
  await pg.start();
  assert.ok((await pg.push(syntheticCycle(Date.now(), 'nxt_pg_rotate', { a: 1 }), soon())).ok);
  writeWebConfig(webConfig, { users: { [USER]: 'second-password' } });
  assert.match((await pg.push(syntheticCycle(Date.now(), 'nxt_pg_rotate', { a: 2 }), soon())).error ?? '', /HTTP 401/);
  writeFileSync(passwordFile, 'second-password\n');
  const outcome = await pg.push(syntheticCycle(Date.now(), 'nxt_pg_rotate', { a: 3 }), soon());
  assert.ok(outcome.ok, outcome.error ?? '');
  const page = await (await fetch(`${gateway.url}/metrics`, { headers: basic('second-password') })).text();
  assert.match(page, /nxt_pg_rotate\{[^}]*series="a"[^}]*\} 3/);
});

/** A small tmpfs, its own filesystem, so filling it touches nothing else; unmounted on cleanup. */
function smallFilesystem(sizeKb: number): string {
  const mountPoint = tempDir('rw-full');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'netns-exporter-test', mountPoint]);
  cleanup.push(() => {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  return mountPoint;
}

/** Writes `file` until the filesystem says ENOSPC. */
function fill(file: string): void {
  const page = Buffer.alloc(4096, 1);
  try {
    for (;;) writeFileSync(file, page, { flag: 'a' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
}

test('a full buffer disk: pushes go on, the oldest files give way (counted), nothing leaks, and every sample kept arrives — also after a restart', async () => {
  const mountPoint = smallFilesystem(256);
  const dir = path.join(mountPoint, 'buffer');
  const port = await freePort();
  const promDir = tempDir('prom-full');
  cleanup.push(() => rmSync(promDir, { recursive: true, force: true }));
  const metric = metricName();
  const times = cycleTimes(8);
  const section = { url: `http://127.0.0.1:${port}/api/v1/write`, timeout: '200ms', buffer: { dir } };

  const first = remoteWrite(section);
  await first.start();
  for (const index of [0, 1]) assert.not.ok((await first.push(syntheticCycle(times[index]!, metric, { a: index }), soon(300))).ok);
  assert.is(remoteWriteFigures(first).samples, 2);
  fill(path.join(mountPoint, 'filler'));

  for (const index of [2, 3, 4, 5]) {
    const outcome = await first.push(syntheticCycle(times[index]!, metric, { a: index }), soon(300));
    assert.not.ok(outcome.ok);
    assert.match(outcome.error ?? '', /samples stay buffered/, 'the receiver is what failed, not the disk');
  }
  assert.equal(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'no temp file left behind');
  const lost = dropped(first.selfMetrics()).disk_full ?? 0;
  assert.ok(lost > 0, 'the oldest gave way to the newest');
  assert.is(remoteWriteFigures(first).samples + lost, 6, 'every sample is either buffered or counted as dropped');
  await first.stop(soon(300));

  // The receiver comes back; the agent restarts with the disk still full.
  const prometheus = await startPrometheus({ port, dir: promDir });
  cleanup.push(() => prometheus.stop());
  const second = remoteWrite(section);
  await second.start();
  const outcome = await second.push(syntheticCycle(times[6]!, metric, { a: 6 }), soon(5_000));
  assert.ok(outcome.ok, outcome.error ?? '');
  const stored = (await rawSamples(prometheus.url, metric, Date.now())).get('a') ?? [];
  const kept = stored.map(([, value]) => value);
  assert.equal(kept, Array.from({ length: 7 - lost }, (_, index) => index + lost), 'the newest samples, all of them, in order');
  assert.equal(readdirSync(dir).filter((name) => name.endsWith('.rwb') || name.endsWith('.tmp')), [], 'delivered files removed');
});

runWhen(test, ['root', 'prometheus', 'pushgateway'], 'remote_write loss tests');
