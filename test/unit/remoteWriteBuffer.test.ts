import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CORRUPT_FILES, RemoteWriteBuffer } from '../../agent/targets/remoteWriteBuffer.js';
import { memoryLogger } from '../helpers/remoteWrite.js';
import { tempDir } from '../helpers/servers.js';

const body = (tag: number, size = 10) => Buffer.alloc(size, tag);

async function bodiesOf(buffer: RemoteWriteBuffer, maxSamples = 1_000_000): Promise<number[]> {
  const batch = await buffer.peek(maxSamples);
  return batch === null ? [] : batch.bodies.map((entry) => entry[0]!);
}

/** The buffer's own files in `folder`, sorted (the lock file left out). */
function bufferFiles(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.endsWith('.rwb')).sort();
}

const test = suite('remote_write buffer');
const dirs: string[] = [];
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
/** A buffer folder holding four files of 10 samples each (bodies tagged 1 to 4), its buffer closed. */
async function fourFiles(maxSamples: number): Promise<string> {
  const folder = dir();
  const first = new RemoteWriteBuffer({ maxSamples, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await first.open();
  for (let tag = 1; tag <= 4; tag++) await first.append(body(tag, 50), 10, tag);
  await first.persist();
  await first.close();
  return folder;
}

function dir(): string {
  const made = tempDir('rwbuffer');
  dirs.push(made);
  return made;
}

test('in memory: entries come back oldest first, batched up to max samples', async () => {
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 1_000, dir: null, logger: memoryLogger().logger });
  for (let tag = 1; tag <= 4; tag++) await buffer.append(body(tag), 10, tag);
  const batch = (await buffer.peek(25))!;
  assert.equal(batch.entries.map((entry) => entry.timestampMs), [1, 2]);
  assert.is(batch.samples, 20);
  await buffer.remove(batch.entries);
  assert.equal(await bodiesOf(buffer), [3, 4]);
  assert.equal(buffer.stats(), { entries: 2, samples: 20, bytes: 20, droppedSamples: 0, diskFullSamples: 0, corruptSamples: 0, corruptFiles: 0, deletedSamples: 0, memoryEntries: 2 });
});

test('a single entry larger than the batch size is still taken (alone)', async () => {
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 1_000, dir: null, logger: memoryLogger().logger });
  await buffer.append(body(1), 50, 1);
  await buffer.append(body(2), 5, 2);
  assert.equal((await buffer.peek(10))!.entries.map((entry) => entry.samples), [50]);
});

test('full by samples: the OLDEST entries are dropped and counted, with a warning', async () => {
  const { logger, lines } = memoryLogger();
  const buffer = new RemoteWriteBuffer({ maxSamples: 30, maxBytes: 1_000, dir: null, logger });
  for (let tag = 1; tag <= 3; tag++) assert.is(await buffer.append(body(tag), 10, tag), 0);
  assert.is(await buffer.append(body(4), 10, 4), 10);
  assert.is(await buffer.append(body(5), 20, 5), 20);
  assert.equal(await bodiesOf(buffer), [4, 5]);
  assert.equal(buffer.stats(), { entries: 2, samples: 30, bytes: 20, droppedSamples: 30, diskFullSamples: 0, corruptSamples: 0, corruptFiles: 0, deletedSamples: 0, memoryEntries: 2 });
  assert.ok(lines().some((line) => /buffer full/.test(String(line.msg))));
});

test('full by bytes: oldest dropped too; a chunk larger than the whole buffer is dropped alone', async () => {
  const buffer = new RemoteWriteBuffer({ maxSamples: 1_000, maxBytes: 25, dir: null, logger: memoryLogger().logger });
  await buffer.append(body(1), 1, 1);
  await buffer.append(body(2), 1, 2);
  await buffer.append(body(3), 1, 3);
  assert.equal(await bodiesOf(buffer), [2, 3]);
  assert.is(await buffer.append(body(9, 26), 5, 4), 5);
  assert.equal(await bodiesOf(buffer), [2, 3], 'older entries kept: dropping them would not have made room');
  assert.is(buffer.stats().droppedSamples, 6);
});

test('on disk: a new buffer over the same folder resends what was not removed, in order, and keeps counting ids up', async () => {
  const folder = dir();
  const first = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await first.open();
  for (let tag = 1; tag <= 3; tag++) await first.append(body(tag, 100 + tag), 10, 1_000 + tag);
  await first.persist();
  await first.remove((await first.peek(10))!.entries);
  assert.is(bufferFiles(folder).length, 2);
  await first.close();

  const { logger, lines } = memoryLogger();
  const second = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger });
  await second.open();
  assert.equal(second.stats(), { entries: 2, samples: 20, bytes: 205, droppedSamples: 0, diskFullSamples: 0, corruptSamples: 0, corruptFiles: 0, deletedSamples: 0, memoryEntries: 0 });
  const batch = (await second.peek(100))!;
  assert.equal(batch.entries.map((entry) => entry.timestampMs), [1_002, 1_003]);
  assert.equal(batch.bodies.map((entry) => [entry[0], entry.length]), [[2, 102], [3, 103]]);
  assert.ok(lines().some((line) => /resending/.test(String(line.msg))));
  await second.append(body(4), 1, 1_004);
  await second.persist();
  assert.equal(bufferFiles(folder), ['0000000000000002.rwb', '0000000000000003.rwb', '0000000000000004.rwb']);
});

test('on disk: a restart under a smaller limit drops the oldest files to fit', async () => {
  const folder = dir();
  const first = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await first.open();
  for (let tag = 1; tag <= 5; tag++) await first.append(body(tag), 10, tag);
  await first.persist();
  await first.close();
  const second = new RemoteWriteBuffer({ maxSamples: 20, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await second.open();
  assert.equal(await bodiesOf(second), [4, 5]);
  assert.is(second.stats().droppedSamples, 30);
  assert.is(bufferFiles(folder).length, 2);
});

test('on disk: corrupt, truncated and foreign files are moved aside with a warning, never a crash', async () => {
  const folder = await fourFiles(100);
  const file = (id: number) => path.join(folder, `${String(id).padStart(16, '0')}.rwb`);
  const flipped = readFileSync(file(1));
  flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1);
  writeFileSync(file(1), flipped);
  writeFileSync(file(2), readFileSync(file(2)).subarray(0, 68));
  writeFileSync(file(3), 'garbage');
  writeFileSync(path.join(folder, '0000000000000009.rwb.tmp'), 'half-written');
  writeFileSync(path.join(folder, 'README'), 'not ours to touch');

  const { logger, lines } = memoryLogger();
  const second = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger });
  await second.open();
  assert.equal(await bodiesOf(second), [4]);
  assert.is(second.stats().corruptFiles, 3);
  const warnings = lines().filter((line) => /moved aside/.test(String(line.msg))).map((line) => line.error);
  assert.equal(warnings, [
    '0000000000000001.rwb: checksum mismatch',
    '0000000000000002.rwb: truncated (6 of 50 body bytes)',
    '0000000000000003.rwb: not a remote_write buffer file (bad header)',
  ]);
  assert.equal(readdirSync(folder).filter((name) => name !== '.lock').sort(), [
    '0000000000000001.rwb.corrupt', '0000000000000002.rwb.corrupt', '0000000000000003.rwb.corrupt', '0000000000000004.rwb', 'README',
  ]);
});

test('on disk: a file that breaks after start-up is set aside when read, and the next entry is sent', async () => {
  const folder = dir();
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await buffer.open();
  await buffer.append(body(1), 10, 1);
  await buffer.append(body(2), 10, 2);
  await buffer.persist();
  writeFileSync(path.join(folder, '0000000000000001.rwb'), 'garbage');
  assert.equal(await bodiesOf(buffer), [2]);
  assert.is(buffer.stats().corruptFiles, 1);
  assert.is(buffer.stats().samples, 10);
  assert.ok(existsSync(path.join(folder, '0000000000000001.rwb.corrupt')));
});

test('on disk: an unusable folder is an error naming it', async () => {
  const folder = dir();
  const file = path.join(folder, 'a-file');
  writeFileSync(file, '');
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: path.join(file, 'sub'), logger: memoryLogger().logger });
  const error = await buffer.open().then(() => null, (cause: Error) => cause);
  assert.match(String(error?.message), /ENOTDIR/);
});

test('on disk: one flipped byte in a header (a sample count of 16.7 million) sets aside that file alone; the valid ones are kept', async () => {
  const folder = await fourFiles(1_000);
  const second = path.join(folder, '0000000000000002.rwb');
  const data = readFileSync(second);
  // The sample count's third byte, right after the 6-byte magic: 10 becomes 16,711,690.
  data.writeUInt8(data.readUInt8(8) ^ 0xff, 8);
  writeFileSync(second, data);

  const { logger, lines } = memoryLogger();
  const reopened = new RemoteWriteBuffer({ maxSamples: 1_000, maxBytes: 10_000, dir: folder, logger });
  await reopened.open();
  assert.equal(await bodiesOf(reopened), [1, 3, 4]);
  assert.equal(reopened.stats(), {
    entries: 3, samples: 30, bytes: 150, droppedSamples: 0, diskFullSamples: 0, corruptSamples: 0, corruptFiles: 1, deletedSamples: 0, memoryEntries: 0,
  });
  assert.ok(lines().some((line) => /header checksum mismatch/.test(String(line.error))));
  assert.ok(existsSync(`${second}.corrupt`));
});

test('on disk: a body that does not check out counts its samples (the header vouches for them) as corrupt', async () => {
  const folder = dir();
  const first = new RemoteWriteBuffer({ maxSamples: 1_000, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await first.open();
  await first.append(body(1, 50), 7, 1);
  await first.persist();
  await first.close();
  const file = path.join(folder, '0000000000000001.rwb');
  const data = readFileSync(file);
  data.writeUInt8(data.readUInt8(data.length - 1) ^ 0x01, data.length - 1);
  writeFileSync(file, data);
  const reopened = new RemoteWriteBuffer({ maxSamples: 1_000, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await reopened.open();
  assert.is(reopened.stats().corruptSamples, 7);
  assert.is(reopened.stats().corruptFiles, 1);
});

test('on disk: only the newest few .corrupt files are kept', async () => {
  const folder = dir();
  for (let id = 1; id <= MAX_CORRUPT_FILES + 3; id++) writeFileSync(path.join(folder, `${String(id).padStart(16, '0')}.rwb`), 'garbage');
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await buffer.open();
  assert.is(buffer.stats().corruptFiles, MAX_CORRUPT_FILES + 3);
  const kept = readdirSync(folder).filter((name) => name.endsWith('.corrupt')).sort();
  assert.equal(kept, Array.from({ length: MAX_CORRUPT_FILES }, (_, index) => `${String(index + 4).padStart(16, '0')}.rwb.corrupt`));
  // New files never reuse the name of a file set aside.
  await buffer.append(body(1), 1, 1);
  await buffer.persist();
  assert.equal(bufferFiles(folder), [`${String(MAX_CORRUPT_FILES + 4).padStart(16, '0')}.rwb`]);
});

test('on disk: a folder held by a live process is refused; a lock left by a dead one is taken over', async () => {
  const folder = dir();
  const first = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await first.open();
  const second = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  const refused = await second.open().then(() => null, (error: Error) => error);
  assert.match(String(refused?.message), new RegExp(`in use by process ${process.pid}`));
  await first.close();
  writeFileSync(path.join(folder, '.lock'), `${spawnSync('true').pid}\n`);
  await second.open();
  assert.is(readFileSync(path.join(folder, '.lock'), 'utf8'), `${process.pid}\n`);
  await second.close();
  assert.not.ok(existsSync(path.join(folder, '.lock')), 'released on close');
});

test('on disk: the kernel\'s lock decides, not the pid in .lock: our own pid (a restart in a container) or any 0.1.0 lock never blocks', async () => {
  const folder = dir();
  // What 0.1.0 left after a kill -9 in a container: a lock naming the pid the agent always gets.
  writeFileSync(path.join(folder, '.lock'), `${process.pid}\n`);
  const buffer = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await buffer.open();
  assert.is(readFileSync(path.join(folder, '.lock'), 'utf8'), `${process.pid}\n`);
  await buffer.close();
  // A live process's pid (init's), with nobody holding the lock: taken over too.
  writeFileSync(path.join(folder, '.lock'), '1\n');
  const next = new RemoteWriteBuffer({ maxSamples: 100, maxBytes: 10_000, dir: folder, logger: memoryLogger().logger });
  await next.open();
  await next.close();
});

test('full: one warning per episode, then a summary of what the episode dropped when it ends', async () => {
  const { logger, lines } = memoryLogger();
  const buffer = new RemoteWriteBuffer({ maxSamples: 20, maxBytes: 10_000, dir: null, logger });
  // A receiver down for ten cycles of 10 samples: eight of them overflow the 20 the buffer holds.
  for (let cycle = 1; cycle <= 10; cycle++) await buffer.append(body(cycle), 10, cycle);
  const full = () => lines().filter((line) => /buffer full/.test(String(line.msg)));
  assert.is(full().length, 1, full().map((line) => line.msg).join('\n'));
  // The receiver is back: the buffer drains, and the next cycle fits without dropping anything.
  for (let batch = await buffer.peek(100); batch !== null; batch = await buffer.peek(100)) await buffer.remove(batch.entries);
  await buffer.append(body(11), 10, 11);
  const summary = lines().filter((line) => /no longer full/.test(String(line.msg)));
  assert.is(summary.length, 1, lines().map((line) => line.msg).join('\n'));
  assert.is(summary[0]!.dropped, 80);
  // A second episode warns again.
  for (let cycle = 12; cycle <= 14; cycle++) await buffer.append(body(cycle), 10, cycle);
  assert.is(full().length, 2);
});

test.run();
