import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readerOptions } from '../../agent/readers/options.js';
import { configFrom } from '../helpers/config.js';

const test = suite('reader options: made once from the config');
const silent = pino({ level: 'silent' });

test('setns workers: at most `threads`, the cores, and two, however many cores the host has', () => {
  const workers = (threads: number, cores: number) => readerOptions(configFrom({ threads }), silent, '/proc', cores).workers;
  assert.is(workers(4, 64), 2, 'a big host: two threads re-read every held namespace');
  assert.is(workers(4, 1), 1, 'one core');
  assert.is(workers(1, 64), 1, 'threads: 1');
  // Started one at a time as the namespaces grow: a thread is a V8 heap of its own.
  assert.is(readerOptions(configFrom({ threads: 4 }), silent, '/proc', 64).namespacesPerWorker, 1_500);
  // nsenter's bound stays the config's own.
  assert.is(readerOptions(configFrom({ threads: 16 }), silent, '/proc', 64).threads, 16);
});

test.run();
