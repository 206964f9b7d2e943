import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { passesFilter } from '../../shared/filter.js';
import { KnownNamespaces, selectNamespaces, type ListedFile, type ListedFolder } from '../../shared/discovery.js';

const test = suite('discovery: which listed files are network namespaces');
const NSFS = 4;
const noFilter = { whitelist: null, blacklist: null };

function file(name: string, ino: number, overrides: Partial<ListedFile> = {}): ListedFile {
  return { name, dev: NSFS, ino, type: null, ...overrides };
}

function folder(dir: string, files: ListedFile[]): ListedFolder {
  return { dir, listedCount: files.length, files };
}

test('one namespace bound under two names in one folder is read once, under its first name', () => {
  const found = selectNamespaces([folder('/run/netns', [file('qrouter-1', 100), file('alias', 100)])], NSFS);
  assert.equal(found.namespaces, [{ name: 'qrouter-1', path: '/run/netns/qrouter-1', inode: 100 }]);
  assert.equal(found.problems, []);
  assert.is(found.listedCount, 2);
});

test('the same namespace under two folders is read once, from the first folder, without a problem', () => {
  const found = selectNamespaces([
    folder('/run/netns', [file('a', 100)]),
    folder('/var/run/docker/netns', [file('a', 100), file('b', 101)]),
  ], NSFS);
  assert.equal(found.namespaces.map((ns) => ns.path), ['/run/netns/a', '/var/run/docker/netns/b']);
  assert.equal(found.problems, []);
  assert.is(found.listedCount, 3);
});

test('another namespace under a name already taken is skipped with a problem', () => {
  const found = selectNamespaces([folder('/run/netns', [file('a', 100)]), folder('/other', [file('a', 200)])], NSFS);
  assert.equal(found.namespaces.map((ns) => ns.inode), [100]);
  assert.equal(found.problems.map((problem) => problem.key), ['duplicate:/other/a']);
});

test('files not on nsfs are skipped, one problem per folder with three examples', () => {
  const files = [file('p1', 1, { dev: 9 }), file('ns', 100), file('p2', 2, { dev: 9 }), file('p3', 3, { dev: 9 }), file('p4', 4, { dev: 9 })];
  const found = selectNamespaces([folder('/proc', files)], NSFS);
  assert.equal(found.namespaces.map((ns) => ns.name), ['ns']);
  assert.equal(found.problems, [{ key: 'not-nsfs:/proc', message: '/proc: 4 entries are not network namespaces (not on nsfs), e.g. /proc/p1, /proc/p2, /proc/p3; skipped' }]);
  assert.equal(selectNamespaces([folder('/proc', files)], null).namespaces.length, 5, 'no nsfs device known: nothing is judged by it');
});

test('a namespace of another type is skipped with a problem; an unknown type is read (the read will tell)', () => {
  const found = selectNamespaces([folder('/run/netns', [file('pid', 7, { type: 'pid' }), file('net', 8, { type: 'net' }), file('unknown', 9)])], NSFS);
  assert.equal(found.namespaces.map((ns) => ns.name), ['net', 'unknown']);
  assert.equal(found.problems.map((problem) => problem.message), ['/run/netns/pid is a pid namespace, not a network namespace; skipped']);
});

test('the name filter applies, the blacklist wins; namespaces come sorted by name; unlisted folders are kept apart', () => {
  const listed = ['qrouter-b', 'qdhcp-a', 'qrouter-a', 'qrouter-x'];
  const toStat = listed.filter((name) => passesFilter(name, { whitelist: /^qrouter-/, blacklist: /-x$/ }));
  assert.equal(toStat, ['qrouter-b', 'qrouter-a']);
  assert.equal(listed.filter((name) => passesFilter(name, noFilter)), listed);
  const found = selectNamespaces([
    { dir: '/locked', code: 'EACCES' },
    { dir: '/run/netns', listedCount: listed.length, files: toStat.map((name, index) => file(name, index + 1)) },
  ], NSFS);
  assert.equal(found.namespaces.map((ns) => ns.name), ['qrouter-a', 'qrouter-b']);
  assert.equal(found.unlisted, [{ dir: '/locked', code: 'EACCES' }]);
  assert.is(found.listedCount, 4);
});

test('names that are not UTF-8 keep their bytes; two that read alike are labelled apart by bytes, whatever the listing order', () => {
  const bytes = (...codes: number[]) => Buffer.from([0x62, 0x61, 0x64, ...codes]);
  const listed = [file('bad\uFFFD', 101, { bytes: bytes(0xff) }), file('bad\uFFFD', 100, { bytes: bytes(0xfe) }), file('bad\uFFFD', 102)];
  for (const order of [listed, [...listed].reverse()]) {
    const found = selectNamespaces([folder('/run/netns', order)], NSFS);
    assert.equal(found.namespaces.map((ns) => [ns.name, ns.inode, ns.file?.toString('hex') ?? null]), [
      // A name that is valid UTF-8 and holds U+FFFD itself (bytes ef bf bd) sorts first and keeps it.
      ['bad\uFFFD', 102, null],
      ['bad\uFFFD~2', 100, Buffer.from('/run/netns/bad\xfe', 'latin1').toString('hex')],
      ['bad\uFFFD~3', 101, Buffer.from('/run/netns/bad\xff', 'latin1').toString('hex')],
    ]);
    assert.equal(found.problems.map((problem) => problem.message), [
      '/run/netns/bad\\xfe gets the same label as /run/netns/bad\uFFFD ("bad\uFFFD": bytes that are not UTF-8 read as U+FFFD); labelled "bad\uFFFD~2"',
      '/run/netns/bad\\xff gets the same label as /run/netns/bad\uFFFD ("bad\uFFFD": bytes that are not UTF-8 read as U+FFFD); labelled "bad\uFFFD~3"',
    ]);
  }
});

test('a namespace found again unchanged is the object of the cycle before; a changed one is new', () => {
  const known = new KnownNamespaces();
  const cycle = (files: ListedFile[]) => known.settle(selectNamespaces([folder('/run/netns', files)], NSFS).namespaces);
  const first = cycle([file('a', 100), file('b', 101), file('c', 102)]);
  const second = cycle([file('a', 100), file('b', 101), file('c2', 102), file('d', 103)]);
  assert.is(second[0], first[0]);
  assert.is(second[1], first[1]);
  // Renamed (same inode): a new object with the new label and path.
  assert.is.not(second[2], first[2]);
  assert.equal(second[2], { name: 'c2', path: '/run/netns/c2', inode: 102 });
  const third = cycle([file('a', 100), file('d', 103)]);
  assert.is(third[0], first[0]);
  assert.is(third[1], second[3]);
  // Gone for a cycle, then back as it was: forgotten meanwhile (the table does not keep what left).
  const fourth = cycle([file('a', 100), file('b', 101), file('d', 103)]);
  assert.is.not(fourth[1], first[1]);
  assert.equal(fourth[1], first[1]);
});

test('folders that are the very listings of the cycle before give the selection made then; any other folder is selected anew', () => {
  const known = new KnownNamespaces();
  const listed = [folder('/run/netns', [file('b', 101), file('a', 100), file('a2', 100)])];
  const first = known.select(listed, NSFS);
  assert.equal(first.namespaces.map((ns) => ns.name), ['a', 'b']);
  assert.equal(first.problems, []);
  const again = known.select(listed, NSFS);
  assert.equal(again, first);
  assert.ok(again.namespaces.every((ns, index) => ns === first.namespaces[index]), 'the same namespace objects');
  again.namespaces.pop();
  assert.is(known.select(listed, NSFS).namespaces.length, 2, 'a fresh array each cycle: a caller changing it changes no later cycle');
  assert.is(known.listedBefore('/run/netns'), listed[0], 'the listing is kept for the next cycle to compare with');
  // Equal but not the same object (agent/discover.ts gives the earlier one back only when every file is as it was).
  const relisted = known.select([folder('/run/netns', [file('b', 101), file('c', 102)])], NSFS);
  assert.equal(relisted.namespaces.map((ns) => ns.name), ['b', 'c']);
  assert.is(relisted.namespaces[0], first.namespaces[1], 'settled: b is still the object of before');
  // The same listing seen on another nsfs device (unknown now): selected anew, judged by the device.
  const sameFolders = [known.listedBefore('/run/netns')!];
  assert.is(known.select(sameFolders, null).namespaces.length, 2);
  assert.equal(known.select(sameFolders, 99).namespaces, [], 'files not on this nsfs device are no namespaces');
});

test('a name that is not UTF-8 is kept only while its bytes are the same', () => {
  const known = new KnownNamespaces();
  const named = (bytes: Buffer) => known.settle(selectNamespaces([folder('/run/netns', [file(bytes.toString('utf8'), 100, { bytes })])], NSFS).namespaces)[0]!;
  const first = named(Buffer.from([0x61, 0xff]));
  assert.is(named(Buffer.from([0x61, 0xff])), first);
  // The same label (a U+FFFD), other bytes: another file, another object.
  assert.is.not(named(Buffer.from([0x61, 0xfe])), first);
});

test.run();
