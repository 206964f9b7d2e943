import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeFlagsOfShebang } from '../../bench/cycleFigures.js';

/**
 * The agent runs with a small young generation (--max-semi-space-size): without it the main
 * thread's young generation grows to V8's 16 MiB semi-spaces under the reads' surviving results,
 * which alone took peak RSS past 150 MB at 1,000 namespaces. The flag reaches node from the
 * command's shebang (the installed `netns-exporter`, the systemd unit) and from the image's
 * entrypoint; the benchmark starts the agent with the same flags.
 */
const test = suite('node flags of the agent');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'agent', 'main.js');

test('the shebang starts node with a small semi-space, through env -S', () => {
  const shebang = readFileSync(MAIN, 'utf8').split('\n')[0]!;
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
  const flags = nodeFlagsOfShebang(shebang);
  assert.ok(flags.some((flag) => /^--max-semi-space-size=\d+$/.test(flag)), shebang);
  assert.ok(flags.includes('--v8-pool-size=1'), `one V8 platform thread: ${shebang}`);
  // What the kernel would run for the installed command: env splits the line, node accepts the flags.
  const run = spawnSync('/usr/bin/env', ['-S', shebang.slice(2).replace(/^\/usr\/bin\/env -S /, ''), MAIN, '--version'], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /^netns-exporter /);
});

test('the container entrypoint passes the same flags', () => {
  const flags = nodeFlagsOfShebang(readFileSync(MAIN, 'utf8').split('\n')[0]!);
  assert.ok(flags.length > 0);
  const entrypoint = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((line) => line.startsWith('ENTRYPOINT'))!;
  const argv = JSON.parse(entrypoint.slice('ENTRYPOINT'.length).trim()) as string[];
  const node = argv.indexOf('node');
  assert.equal(argv.slice(node + 1, node + 1 + flags.length), flags);
});

test('the Debian package\'s wrapper passes the same flags', () => {
  const flags = nodeFlagsOfShebang(readFileSync(MAIN, 'utf8').split('\n')[0]!);
  const wrapper = readFileSync(path.join(ROOT, 'packaging', 'deb', 'build-deb.sh'), 'utf8').split('\n').find((line) => line.startsWith('exec $LIB/bin/node '))!;
  assert.ok(wrapper.includes(`/bin/node ${flags.join(' ')} $LIB/dist/agent/bin.js`), wrapper);
});

test('shebang flags: none for a plain node line', () => {
  assert.equal(nodeFlagsOfShebang('#!/usr/bin/env node'), []);
  assert.equal(nodeFlagsOfShebang('#!/usr/bin/env -S node --a=1 --b'), ['--a=1', '--b']);
});

test.run();
