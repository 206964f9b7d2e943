import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteWriteTarget } from '../../agent/targets/remoteWrite.js';
import { decodeWriteRequest } from '../../shared/remoteWrite/decode.js';
import { uncompress } from '../../shared/remoteWrite/snappyBlock.js';
import { decodeBody, faultServer, memoryLogger, remoteWriteConfig, remoteWriteFigures, syntheticCycle } from '../helpers/remoteWrite.js';

/** Receivers that fail in scripted ways, on loopback: what the target does about each. */
const test = suite('remote_write against failing receivers');
const closers: (() => Promise<void>)[] = [];
test.after(async () => {
  for (const close of closers) await close();
});

async function server(respond: Parameters<typeof faultServer>[0]) {
  const created = await faultServer(respond);
  closers.push(created.close);
  return created;
}

function target(url: string, section: Record<string, unknown> = {}, logger = memoryLogger().logger) {
  const created = new RemoteWriteTarget(remoteWriteConfig(url, { min_backoff: '50ms', max_backoff: '200ms', ...section }), { logger, version: '9.9.9' });
  closers.push(() => created.stop(Date.now() + 500));
  return created;
}

const T0 = Date.now() - 60_000;

test('500 then 204: retried with the same body; protocol and auth headers on every attempt', async () => {
  const receiver = await server((index, res) => res.writeHead(index === 1 ? 500 : 204).end(index === 1 ? 'tsdb busy' : ''));
  const rw = target(receiver.url, { bearer_token: 'tok-123456', headers: { 'X-Scope-OrgID': 'tenant-a' } });
  await rw.start();
  const outcome = await rw.push(syntheticCycle(T0, 'm', { a: 1, b: 2 }), Date.now() + 3_000);
  assert.ok(outcome.ok, outcome.error ?? '');
  assert.is(outcome.attempts, 2);
  assert.is(receiver.requests.length, 2);
  assert.equal(receiver.requests[0]!.body, receiver.requests[1]!.body);
  for (const { headers } of receiver.requests) {
    assert.is(headers['content-encoding'], 'snappy');
    assert.is(headers['content-type'], 'application/x-protobuf');
    assert.is(headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.is(headers['user-agent'], 'netns-exporter/9.9.9');
    assert.is(headers.authorization, 'Bearer tok-123456');
    assert.is(headers['x-scope-orgid'], 'tenant-a');
  }
  const series = decodeBody(receiver.requests[1]!.body);
  assert.equal(series.map((entry) => [entry.labels.series, entry.samples]), [['a', [{ value: 1, timestampMs: T0 }]], ['b', [{ value: 2, timestampMs: T0 }]]]);
  assert.is(remoteWriteFigures(rw).sentSamples, 2);
});

test('400 (out of order): dropped after one attempt, counted, the receiver\'s message logged; the next cycle goes alone', async () => {
  const receiver = await server((index, res) => {
    if (index === 1) res.writeHead(400).end('out of order sample');
    else res.writeHead(204).end();
  });
  const { logger, lines } = memoryLogger();
  const rw = target(receiver.url, {}, logger);
  await rw.start();
  const outcome = await rw.push(syntheticCycle(T0, 'm', { a: 1 }), Date.now() + 3_000);
  assert.not.ok(outcome.ok);
  assert.is(outcome.attempts, 1);
  assert.match(outcome.error ?? '', /HTTP 400 Bad Request: out of order sample/);
  assert.ok(lines().some((line) => line.level === 40 && /out of order sample/.test(String(line.error))), 'the receiver\'s text is in the log');
  assert.is(rw.state().consecutiveFailures, 1);

  assert.ok((await rw.push(syntheticCycle(T0 + 1_000, 'm', { a: 2 }), Date.now() + 3_000)).ok);
  assert.is(receiver.requests.length, 2, 'the rejected batch was never sent again');
  assert.equal(decodeBody(receiver.requests[1]!.body).map((entry) => entry.samples[0]!.value), [2]);
  const dropped = rw.selfMetrics().find((metric) => metric.spec.name === 'netns_exporter_remote_write_samples_dropped_total')!;
  assert.equal(dropped.values.find((value) => value.labels.reason === 'rejected')?.value, 1);
});

test('429 with Retry-After: waits as asked, then delivers', async () => {
  const receiver = await server((index, res) => {
    if (index === 1) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
    else res.writeHead(200).end();
  });
  const rw = target(receiver.url);
  await rw.start();
  const outcome = await rw.push(syntheticCycle(T0, 'm', { a: 1 }), Date.now() + 4_000);
  assert.ok(outcome.ok, outcome.error ?? '');
  const gap = receiver.requests[1]!.atMs - receiver.requests[0]!.atMs;
  assert.ok(gap >= 950, `waited ${gap} ms for a Retry-After of 1 s`);
  assert.ok(gap < 2_500, `but not much longer (${gap} ms); max_backoff is 200 ms`);
});

test('429 asking for longer than the cycle: the push gives up in time, the next one does not knock before then', async () => {
  const receiver = await server((_, res) => res.writeHead(429, { 'retry-after': '30' }).end());
  const rw = target(receiver.url);
  await rw.start();
  const started = Date.now();
  const first = await rw.push(syntheticCycle(T0, 'm', { a: 1 }), Date.now() + 1_000);
  assert.ok(Date.now() - started < 2_000, 'gave up at once instead of waiting the 30 s asked');
  assert.not.ok(first.ok);
  const second = await rw.push(syntheticCycle(T0 + 1_000, 'm', { a: 2 }), Date.now() + 1_000);
  assert.not.ok(second.ok);
  assert.match(second.error ?? '', /Retry-After/);
  assert.is(receiver.requests.length, 1);
  assert.is(remoteWriteFigures(rw).samples, 2, 'both cycles wait in the buffer');
});

test('a stalled receiver: each attempt times out, the push returns by its deadline, samples stay buffered', async () => {
  const receiver = await server(() => undefined);
  const rw = target(receiver.url, { timeout: '300ms' });
  await rw.start();
  const started = Date.now();
  const outcome = await rw.push(syntheticCycle(T0, 'm', { a: 1, b: 2 }), started + 1_500);
  const took = Date.now() - started;
  assert.not.ok(outcome.ok);
  // The last attempt gets what is left before the deadline, so its timeout may be under 300 ms.
  assert.match(outcome.error ?? '', /no response within \d+ ms/);
  assert.ok(outcome.attempts >= 2, `retried (${outcome.attempts} attempts)`);
  // The deadline plus slack for a loaded machine (others benchmark here); without the timeout it would hang.
  assert.ok(took <= 3_000, `returned by the deadline (${took} ms)`);
  assert.is(remoteWriteFigures(rw).samples, 2);
});

test('several buffered cycles go in one request when they fit, oldest first, each series in time order', async () => {
  let up = false;
  const receiver = await server((_, res) => res.writeHead(up ? 204 : 503).end());
  const rw = target(receiver.url, { max_samples_per_send: 5 });
  await rw.start();
  for (let cycle = 0; cycle < 4; cycle++) {
    assert.not.ok((await rw.push(syntheticCycle(T0 + cycle * 1_000, 'm', { a: cycle, b: cycle }), Date.now() + 150)).ok);
  }
  up = true;
  const before = receiver.requests.length;
  assert.ok((await rw.push(syntheticCycle(T0 + 4_000, 'm', { a: 4, b: 4 }), Date.now() + 3_000)).ok);
  const sent = receiver.requests.slice(before).map((request) => decodeBody(request.body));
  // 10 samples, at most 5 per request → batches of 2 cycles (4 samples) each, plus the last cycle.
  assert.equal(sent.map((batch) => batch.length), [4, 4, 2]);
  const timesOfA = sent.flat().filter((entry) => entry.labels.series === 'a').map((entry) => entry.samples[0]!.timestampMs);
  assert.equal(timesOfA, [0, 1, 2, 3, 4].map((cycle) => T0 + cycle * 1_000));
});

test('metadata is sent with the first cycle, then not again within a minute', async () => {
  const receiver = await server((_, res) => res.writeHead(204).end());
  const rw = target(receiver.url);
  await rw.start();
  assert.ok((await rw.push(syntheticCycle(T0, 'm', { a: 1 }), Date.now() + 2_000)).ok);
  assert.ok((await rw.push(syntheticCycle(T0 + 15_000, 'm', { a: 1 }), Date.now() + 2_000)).ok);
  const metadata = receiver.requests.map((request) => decodeWriteRequest(uncompress(request.body)).metadata);
  assert.equal(metadata[0], [{ type: 'gauge', metricFamilyName: 'm', help: 'test series' }]);
  assert.equal(metadata[1], []);
});

test('413: the batch is split until the receiver takes it; only a single series still too large is dropped, as too_large', async () => {
  const limit = 80;
  const receiver = await server((index, res) => {
    const body = receiver.requests[index - 1]!.body;
    const series = decodeBody(body);
    const tooLarge = body.length > limit || series.some((entry) => entry.labels.series === 'huge');
    res.writeHead(tooLarge ? 413 : 204).end(tooLarge ? 'request entity too large' : '');
  });
  const rw = target(receiver.url);
  await rw.start();
  const values = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'huge'].map((name, index) => [name, index]));
  const outcome = await rw.push(syntheticCycle(T0, 'm', values), Date.now() + 3_000);
  assert.ok(outcome.ok, outcome.error ?? '');
  const delivered = receiver.requests.filter((_, index) => index > 0).map((request) => request.body)
    .filter((body) => body.length <= limit).flatMap((body) => decodeBody(body)).filter((entry) => entry.labels.series !== 'huge');
  assert.equal(delivered.map((entry) => entry.labels.series).sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
  const stats = remoteWriteFigures(rw);
  assert.is(stats.samples, 0);
  assert.is(stats.tooLargeSamples, 1);
  assert.is(stats.sentSamples, 6);
  const dropped = rw.selfMetrics().find((metric) => metric.spec.name === 'netns_exporter_remote_write_samples_dropped_total')!;
  assert.equal(dropped.values.filter((value) => value.value > 0), [{ labels: { reason: 'too_large' }, value: 1 }]);
});

test('413 then a receiver that hangs: stop() ends the split at once, the batch stays buffered', async () => {
  const receiver = await server((index, res) => {
    if (index === 1) res.writeHead(413).end('request entity too large');
    // Later requests (the halves) are never answered.
  });
  const rw = target(receiver.url, { timeout: '20s' });
  await rw.start();
  const pushing = rw.push(syntheticCycle(T0, 'm', { a: 1, b: 2, c: 3, d: 4 }), Date.now() + 25_000);
  while (receiver.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  const stopAsked = Date.now();
  await rw.stop(Date.now() + 1_000);
  const stoppedMs = Date.now() - stopAsked;
  const outcome = await pushing;
  assert.ok(stoppedMs < 3_000, `stop() waited ${stoppedMs} ms for a split half the receiver never answered`);
  assert.not.ok(outcome.ok);
  assert.match(outcome.error ?? '', /stopped/);
  assert.is(remoteWriteFigures(rw).sentSamples, 0);
  assert.is(remoteWriteFigures(rw).tooLargeSamples, 0);
});

for (const status of [401, 403, 404, 407]) {
  test(`${status}: nothing dropped, draining stops at once, the batch waits for the next cycle`, async () => {
    const receiver = await server((_, res) => res.writeHead(status).end('no'));
    const rw = target(receiver.url, { max_samples_per_send: 1 });
    await rw.start();
    const outcome = await rw.push(syntheticCycle(T0, 'm', { a: 1, b: 2, c: 3 }), Date.now() + 2_000);
    assert.not.ok(outcome.ok);
    assert.match(outcome.error ?? '', new RegExp(`HTTP ${status}.*samples stay buffered`));
    assert.is(receiver.requests.length, 1, 'stopped at the first such answer');
    assert.is(remoteWriteFigures(rw).samples, 3);
    assert.is(remoteWriteFigures(rw).rejectedSamples, 0);
  });
}

for (const status of [409, 415]) {
  test(`${status}: the receiver calls the data malformed: dropped and counted as rejected`, async () => {
    const receiver = await server((_, res) => res.writeHead(status).end('bad'));
    const rw = target(receiver.url);
    await rw.start();
    await rw.push(syntheticCycle(T0, 'm', { a: 1 }), Date.now() + 2_000);
    assert.is(remoteWriteFigures(rw).samples, 0);
    assert.is(remoteWriteFigures(rw).rejectedSamples, 1);
  });
}

test.run();
