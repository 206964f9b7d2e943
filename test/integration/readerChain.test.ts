import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import { statSync } from 'node:fs';
import { addNamespace, cleanupNamespaces } from '../helpers/netns.js';
import { readOne, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * The nsenter reader's chain with proc files is nsenter → bash, which reads the files with its
 * builtins and then becomes ip (exec): one fork per namespace (the worker's), no process per file.
 */
const test = suite('nsenter reader process chain');
let ns = '';

test.before(() => {
  ns = addNamespace('chain');
});
test.after(cleanupNamespaces);

const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

test('with proc files the shell execs ip: ip is the process the worker forked', async () => {
  const dir = tempDir('chain');
  const record = path.join(dir, 'parent');
  const ip = path.join(dir, 'ip');
  // A stand-in ip: says who started it, and that the namespace has no devices.
  writeFileSync(ip, `#!/bin/sh\necho "$PPID" > '${record}'\necho '[]'\n`);
  chmodSync(ip, 0o755);
  const reader = new NsenterReader(testReaderOptions({ procMetrics: [{ name: 'somaxconn', file: 'sys/net/core/somaxconn', type: 'gauge' }], commands: { ip }, threads: 1 }));
  try {
    const file = `/run/netns/${ns}`;
    const result = await readOne(reader, { name: ns, path: file, inode: statSync(file).ino });
    assert.ok(result.ok, JSON.stringify(result));
    if (result.ok) assert.equal(Object.keys(result.sample.proc), ['somaxconn']);
    // ip's parent is the long-lived worker shell (a child of this process), not an inner bash.
    const parent = Number(readFileSync(record, 'utf8'));
    assert.is(parentOf(parent), process.pid);
  } finally {
    await reader.stop();
  }
});

runWhen(test, ['root', 'nsenter'], 'nsenter reader chain test');
