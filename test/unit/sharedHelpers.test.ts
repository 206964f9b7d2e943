import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { settledBy } from '../../agent/deadline.js';
import { problemKey } from '../../agent/problemLog.js';
import { NotRegularFileError, readRegularFile } from '../../agent/regularFile.js';
import { byCodeUnits } from '../../shared/compare.js';
import { shellQuote } from '../../shared/shellQuote.js';

const test = suite('helpers written once');

test('shellQuote: bash reads any text back as one word', () => {
  for (const text of ["plain", "it's", "'", "a b\tc\nd", '$(touch /x) `y` "z" \\']) {
    assert.is(execFileSync('bash', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' }), text);
  }
});

test('byCodeUnits: code-unit order, not the locale\'s', () => {
  assert.equal(['b', 'B', 'a', '_', 'A'].sort(byCodeUnits), ['A', 'B', '_', 'a', 'b']);
  assert.is(byCodeUnits('x', 'x'), 0);
});

test('problemKey: the same key while only the figures change', () => {
  assert.is(problemKey('no response within 287 ms'), problemKey('no response within 1,287.5 ms'));
  assert.is(problemKey('3 of 1,000 namespaces failed.'), '# of # namespaces failed.');
  assert.is(problemKey('connect ECONNREFUSED 127.0.0.1:9091'), 'connect ECONNREFUSED #:#');
});

test('settledBy: true when the work settles (even by failing) before the deadline, false when it does not', async () => {
  assert.is(await settledBy(Promise.resolve(), Date.now() + 1_000), true);
  assert.is(await settledBy(Promise.reject(new Error('x')), Date.now() + 1_000), true);
  assert.is(await settledBy(new Promise(() => {}), Date.now() + 20), false);
  assert.is(await settledBy(new Promise(() => {}), Date.now() - 5), false, 'a deadline already past');
});

test('readRegularFile: reads a regular file, refuses a FIFO without waiting for a writer, passes open errors on', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nx-regular-'));
  try {
    const file = path.join(dir, 'file');
    writeFileSync(file, 'text');
    assert.is(readRegularFile(file, constants.O_RDONLY | constants.O_NONBLOCK, (fd) => readFileSync(fd, 'utf8')), 'text');
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readRegularFile(fifo, constants.O_RDONLY | constants.O_NONBLOCK, () => 'read'), (error: unknown) => error instanceof NotRegularFileError);
    assert.throws(() => readRegularFile(path.join(dir, 'missing'), constants.O_RDONLY, () => 'read'), (error: NodeJS.ErrnoException) => error.code === 'ENOENT' && error.syscall === 'open');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
