import { spawnSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSnappy } from '../../agent/targets/snappy.js';
import { uncompress } from '../../shared/remoteWrite/snappyBlock.js';

const test = suite('remote_write snappy: the native binding where it loads');

/** A request-sized body (~384 KB) that looks like remote_write's: repeated label bytes, changing values. */
function requestBody(round: number): Buffer {
  const body = Buffer.alloc(384_000);
  for (let offset = 0; offset < body.length; offset += 192) {
    body.write(`\n\u0012\n\b__name__\u0012\u001cnetns_network_rx_bytes_total\n\u0005netns\u0012,qrouter-${(offset / 192).toString(16).padStart(12, '0')}`, offset, 'latin1');
    body.writeDoubleLE(round * 1e6 + offset, offset + 180);
  }
  return body;
}

test('what it compresses decodes to the same bytes', async () => {
  const snappy = await loadSnappy();
  const body = requestBody(1);
  const compressed = snappy.compress(body);
  assert.ok(compressed.length < body.length / 2, `${snappy.kind}: ${compressed.length} bytes`);
  assert.ok(Buffer.from(uncompress(compressed)).equals(body));
});

test('request after request, the compressed bodies do not pile up memory outside the heap', async () => {
  const snappy = await loadSnappy();
  const bodies = Array.from({ length: 4 }, (_, index) => requestBody(index));
  const held: Uint8Array[] = [];
  await nextTurn();
  const before = process.memoryUsage().rss;
  // 400 requests, the last four held as the buffer holds them until sent, a turn of the event loop
  // between them as between the agent's pushes; nothing forces a GC.
  for (let round = 0; round < 400; round++) {
    held.push(snappy.compress(bodies[round % 4]!));
    if (held.length > 4) held.shift();
    await nextTurn();
  }
  const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grownMiB < 80, `${snappy.kind}: RSS grew ${grownMiB.toFixed(0)} MiB over 400 requests of 375 KiB`);
});

/** MIMALLOC_PURGE_DELAY as a fresh process sees it after loading snappy, started with `env`. */
function purgeDelayAfterLoad(env: NodeJS.ProcessEnv): string {
  const module = new URL('../../agent/targets/snappy.js', import.meta.url).href;
  const script = `const { loadSnappy } = await import(${JSON.stringify(module)}); const s = await loadSnappy(); process.stdout.write(s.kind + ' ' + process.env.MIMALLOC_PURGE_DELAY);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.is(run.status, 0, run.stderr);
  return run.stdout;
}

test('the binding\'s allocator hands freed pages back at once (no purge delay), unless the operator set one', () => {
  const { MIMALLOC_PURGE_DELAY: _, ...env } = process.env;
  assert.is(purgeDelayAfterLoad(env), 'native 0');
  assert.is(purgeDelayAfterLoad({ ...env, MIMALLOC_PURGE_DELAY: '25' }), 'native 25');
});

test.run();
