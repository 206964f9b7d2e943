import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { discoverNamespaces, FolderStamps, MountsInProgress, NamespaceTypes } from '../../agent/discover.js';
import { KnownNamespaces } from '../../shared/discovery.js';
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

test('a steady cycle gives the namespaces of the cycle before; a namespace bound anew under the same name, one added and one gone are seen at once', async () => {
  const dir = path.join(root, 'steady');
  mkdirSync(dir);
  const [a, b, c, d] = ['stA', 'stB', 'stC', 'stD'].map((name) => addNamespace(name));
  const inode = (name: string) => statSync(`/run/netns/${name}`).ino;
  bindMount(`/run/netns/${a}`, path.join(dir, 'a'));
  bindMount(`/run/netns/${b}`, path.join(dir, 'b'));
  const options = { netnsDirs: [dir], filter: noFilter, procRoot: '/proc', known: new KnownNamespaces(), types: new NamespaceTypes('/proc') };
  const first = await discoverNamespaces(options);
  assert.equal(first.namespaces.map((ns) => [ns.name, ns.inode]), [['a', inode(a!)], ['b', inode(b!)]]);
  const second = await discoverNamespaces(options);
  assert.ok(second.namespaces.length === 2 && second.namespaces.every((ns, index) => ns === first.namespaces[index]), 'the same objects');
  // Another namespace bound onto b: the same name, the same number of files, another inode.
  execFileSync('umount', [path.join(dir, 'b')]);
  execFileSync('mount', ['--bind', `/run/netns/${c}`, path.join(dir, 'b')]);
  const third = await discoverNamespaces(options);
  assert.equal(third.namespaces.map((ns) => [ns.name, ns.inode]), [['a', inode(a!)], ['b', inode(c!)]]);
  assert.is(third.namespaces[0], first.namespaces[0], 'a, unchanged, is still the object of before');
  bindMount(`/run/netns/${d}`, path.join(dir, 'd'));
  assert.equal((await discoverNamespaces(options)).namespaces.map((ns) => ns.name), ['a', 'b', 'd'], 'added');
  execFileSync('umount', [path.join(dir, 'a')]);
  mounts.splice(mounts.indexOf(path.join(dir, 'a')), 1);
  rmSync(path.join(dir, 'a'));
  assert.equal((await discoverNamespaces(options)).namespaces.map((ns) => ns.name), ['b', 'd'], 'gone');
});

/** FolderStamps that count the folders it let go unlisted. */
class CountingStamps extends FolderStamps {
  skipped = 0;
  override unchanged(...args: Parameters<FolderStamps['unchanged']>): boolean {
    const unchanged = super.unchanged(...args);
    if (unchanged) this.skipped += 1;
    return unchanged;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a folder unchanged since its last listing is not listed again; a namespace bound anew under the same name (no change to the folder), one added, one gone, and a file still unmounted are seen at once', async () => {
  const dir = path.join(root, 'stamped');
  mkdirSync(dir);
  const [a, b, c, d] = ['saA', 'saB', 'saC', 'saD'].map((name) => addNamespace(name));
  const inode = (name: string) => statSync(`/run/netns/${name}`).ino;
  bindMount(`/run/netns/${a}`, path.join(dir, 'a'));
  bindMount(`/run/netns/${b}`, path.join(dir, 'b'));
  const stamps = new CountingStamps('/proc');
  const options = { netnsDirs: [dir], filter: noFilter, procRoot: '/proc', known: new KnownNamespaces(), types: new NamespaceTypes('/proc'), mounting: new MountsInProgress(), stamps };
  const names = async () => (await discoverNamespaces(options)).namespaces.map((ns) => [ns.name, ns.inode]);
  /** Cycles until one goes unlisted (another process's mounts meanwhile make a cycle list its folders). */
  const skipsWithin = async (tries: number) => {
    const before = stamps.skipped;
    for (let attempt = 0; attempt < tries && stamps.skipped === before; attempt++) await discoverNamespaces(options);
    return stamps.skipped > before;
  };
  try {
    // Changed within the second before its listing: listed again, as a file system's clock may not have ticked.
    assert.equal(await names(), [['a', inode(a!)], ['b', inode(b!)]]);
    assert.equal(await names(), [['a', inode(a!)], ['b', inode(b!)]]);
    assert.is(stamps.skipped, 0, 'a folder that has just changed is listed each cycle');
    await sleep(1_100);
    await discoverNamespaces(options);
    assert.ok(await skipsWithin(10), 'a settled folder is not listed again');
    // Another namespace bound onto b: the folder itself does not change, the mount table does.
    execFileSync('umount', [path.join(dir, 'b')]);
    execFileSync('mount', ['--bind', `/run/netns/${c}`, path.join(dir, 'b')]);
    assert.equal(await names(), [['a', inode(a!)], ['b', inode(c!)]], 'bound anew');
    assert.ok(await skipsWithin(10), 'and left unlisted again after');
    assert.equal(await names(), [['a', inode(a!)], ['b', inode(c!)]]);
    bindMount(`/run/netns/${d}`, path.join(dir, 'd'));
    assert.equal((await names()).map(([name]) => name), ['a', 'b', 'd'], 'added');
    execFileSync('umount', [path.join(dir, 'a')]);
    mounts.splice(mounts.indexOf(path.join(dir, 'a')), 1);
    rmSync(path.join(dir, 'a'));
    assert.equal((await names()).map(([name]) => name), ['b', 'd'], 'gone');
    // A file waiting for its mount is left out of its first cycle; the next lists the folder again and reports it.
    writeFileSync(path.join(dir, 'e'), '');
    await sleep(1_100);
    const first = await discoverNamespaces(options);
    assert.equal(first.namespaces.map((ns) => ns.name), ['b', 'd']);
    assert.equal(first.problems, [], 'a mount in progress, not reported yet');
    const next = await discoverNamespaces(options);
    assert.match(next.problems.map((problem) => problem.message).join('\n'), /: 1 entry is not network namespaces \(not on nsfs\), e\.g\. .*\/e; skipped/);
  } finally {
    stamps.close();
  }
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
