import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * glibc's malloc arenas: by default up to 8 per core, one per thread that allocates, each keeping
 * what it once held; the agent caps them at start (agent/system/libc.ts limitMallocArenas). Counted
 * from glibc's own malloc_stats() in a child node whose six worker threads allocate, against the same
 * child without the cap.
 */
const test = suite('malloc arenas and freed memory');
const LIBC = fileURLToPath(new URL('../../agent/system/libc.js', import.meta.url));

/** Arenas before and after six worker threads allocate, counted by glibc's malloc_stats() in a child node. */
function arenasInChild(cap: boolean): { before: number; after: number } {
  const script = `
    const koffi = (await import('node:module')).createRequire(${JSON.stringify(LIBC)})('koffi');
    const mallocStats = koffi.load('libc.so.6').func('void malloc_stats(void)');
    mallocStats();
    process.stderr.write('-- workers --\\n');
    if (${cap}) { const { limitMallocArenas } = await import(${JSON.stringify(LIBC)}); if (!limitMallocArenas(2)) throw new Error('mallopt refused'); }
    const { Worker } = await import('node:worker_threads');
    const code = "import { parentPort } from 'node:worker_threads'; const keep = []; for (let i = 0; i < 200; i++) keep.push(Buffer.allocUnsafeSlow(64 * 1024)); parentPort.postMessage(keep.length); setTimeout(() => {}, 300);";
    await Promise.all(Array.from({ length: 6 }, () => new Promise((resolve) => new Worker(code, { eval: true }).on('message', resolve))));
    mallocStats();`;
  const env = { ...process.env };
  delete env.MALLOC_ARENA_MAX;
  // The workers' code is a module too (--input-type). malloc_stats() writes one "Arena N:" block per arena to stderr.
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.status !== 0) throw new Error(`child node failed (${child.status}): ${child.stderr.slice(-500)}`);
  const [first = '', second = ''] = child.stderr.split('-- workers --');
  const count = (text: string) => text.split('\n').filter((line) => /^Arena \d+:/.test(line)).length;
  return { before: count(first), after: count(second) };
}

test('capped at start, six threads that allocate afterwards share a few arenas instead of making one each', () => {
  const uncapped = arenasInChild(false);
  const capped = arenasInChild(true);
  assert.ok(uncapped.after - uncapped.before >= 6, `without the cap the allocating threads make arenas: ${JSON.stringify(uncapped)}`);
  // Arenas made before the call stay, and glibc still makes one or two while its limit takes hold
  // (4 where 12 were made without the cap, here); six threads that allocate no longer get one each.
  assert.ok(capped.after - capped.before <= 2, `with the cap: ${JSON.stringify(capped)} (without: ${JSON.stringify(uncapped)})`);
});

/**
 * RSS before and after the agent's end-of-cycle call (releaseFreedMemory), in a child node that
 * mallocs and touches 160 blocks of 64 KiB (below glibc's mmap threshold: they come from the heap),
 * each followed by a small block, and frees the large ones only: holes between blocks in use, as a
 * cycle's freed buffers leave them, which glibc's own trimming on free() (the heap's top) never
 * reaches.
 */
function rssAroundRelease(release: boolean): { held: number; freed: number; after: number } {
  const script = `
    const koffi = (await import('node:module')).createRequire(${JSON.stringify(LIBC)})('koffi');
    const lib = koffi.load('libc.so.6');
    const malloc = lib.func('void *malloc(size_t size)');
    const free = lib.func('void free(void *ptr)');
    const memset = lib.func('void *memset(void *s, int c, size_t n)');
    const { readFileSync } = await import('node:fs');
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const blocks = [];
    const pins = [];
    for (let i = 0; i < 160; i++) {
      const block = malloc(64 * 1024);
      memset(block, 1, 64 * 1024);
      blocks.push(block);
      pins.push(malloc(64));
    }
    const held = rss();
    for (const block of blocks) free(block);
    const freed = rss();
    if (${release}) { const { releaseFreedMemory } = await import(${JSON.stringify(LIBC)}); if (!releaseFreedMemory()) throw new Error('malloc_trim released nothing'); }
    process.stdout.write(JSON.stringify({ held, freed, after: rss() }));
    for (const pin of pins) free(pin);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.status !== 0) throw new Error(`child node failed (${child.status}): ${child.stderr.slice(-500)}`);
  return JSON.parse(child.stdout) as { held: number; freed: number; after: number };
}

test('freed malloc memory stays resident until released; the end-of-cycle call hands it back to the kernel', () => {
  const kept = rssAroundRelease(false);
  // 10 MiB were touched; free() alone keeps most of them (the small blocks keep the holes apart; it
  // may hand back a hole that reaches the heap's top).
  assert.ok(kept.held - kept.after < 4, `without the call the freed blocks stay resident: ${JSON.stringify(kept)}`);
  // Whole pages inside each hole go back (15 of a 64 KiB hole's 16, here 7.9–9.8 MiB of the 10).
  const released = rssAroundRelease(true);
  assert.ok(released.freed - released.after >= 6, `the call returns most of the freed 10 MiB: ${JSON.stringify(released)}`);
});

test.run();
