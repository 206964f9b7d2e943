import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { discoverNamespaces, NamespaceTypes } from '../../agent/discover.js';
import { addBareNamespaces, addNamespace, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/** Discovery against the real kernel: folders that cannot be listed, files that are other namespaces. */
const test = suite('discovery');
const noFilter = { whitelist: null, blacklist: null };
let root = '';
const mounts: string[] = [];

function bindMount(source: string, target: string): void {
  writeFileSync(target, '');
  execFileSync('mount', ['--bind', source, target]);
  mounts.push(target);
}

test.before(() => {
  root = tempDir('discover');
});

test.after(() => {
  for (const target of mounts.reverse()) execFileSync('umount', [target]);
  rmSync(root, { recursive: true, force: true });
  cleanupNamespaces();
});

test('a folder that cannot be listed is reported as such, never as empty', async () => {
  const loop = path.join(root, 'loop');
  symlinkSync(loop, loop);
  const notAFolder = path.join(root, 'file');
  writeFileSync(notAFolder, '');
  const name = addNamespace('disc');
  const found = await discoverNamespaces({ netnsDirs: ['/run/netns', loop, notAFolder, path.join(root, 'missing')], filter: { whitelist: new RegExp(`^${TEST_PREFIX}disc$`), blacklist: null }, procRoot: '/proc' });
  assert.equal(found.namespaces.map((ns) => ns.name), [name], 'the readable folder is still read');
  assert.equal(found.unlisted, [{ dir: loop, code: 'ELOOP' }, { dir: notAFolder, code: 'ENOTDIR' }], 'a missing folder is simply empty');
});

test('files of other namespace types (pid, uts bound into a folder) are recognised and skipped, one problem each', async () => {
  const dir = path.join(root, 'mixed');
  mkdirSync(dir);
  const name = addNamespace('mixed');
  bindMount(`/run/netns/${name}`, path.join(dir, 'net0'));
  bindMount('/proc/self/ns/pid', path.join(dir, 'pid0'));
  bindMount('/proc/self/ns/uts', path.join(dir, 'uts0'));
  const types = new NamespaceTypes('/proc');
  const found = await discoverNamespaces({ netnsDirs: [dir], filter: noFilter, procRoot: '/proc', types });
  assert.equal(found.namespaces.map((ns) => ns.name), ['net0']);
  assert.equal(found.unlisted, []);
  const messages = found.problems.map((problem) => problem.message).sort();
  assert.is(messages.length, 2, messages.join('\n'));
  assert.match(messages[0]!, /pid0 is a pid namespace, not a network namespace; skipped/);
  assert.match(messages[1]!, /uts0 is a uts namespace, not a network namespace; skipped/);
  const again = await discoverNamespaces({ netnsDirs: [dir], filter: noFilter, procRoot: '/proc', types });
  assert.equal(again.problems.map((problem) => problem.key).sort(), found.problems.map((problem) => problem.key).sort(), 'the same keys every cycle, so the loop warns once');
});

test('netns_dirs: [/proc] is one problem for the folder, not one per entry', async () => {
  const found = await discoverNamespaces({ netnsDirs: ['/proc'], filter: noFilter, procRoot: '/proc' });
  assert.is(found.namespaces.length, 0);
  assert.is(found.problems.length, 1, found.problems.map((problem) => problem.message).join('\n'));
  assert.match(found.problems[0]!.message, /^\/proc: \d+ entries are not network namespaces \(not on nsfs\), e\.g\. /);
  assert.is(found.problems[0]!.key, 'not-nsfs:/proc');
});

test('the test helper removes what it made, odd names and a thousand plain ones alike', () => {
  addNamespace('we"ird \\ näme');
  addBareNamespaces('bulk', 1_000);
  cleanupNamespaces();
  assert.equal(readdirSync('/run/netns').filter((name) => name.startsWith(TEST_PREFIX)), []);
});

runWhen(test, ['root', 'ip'], 'discovery tests');
