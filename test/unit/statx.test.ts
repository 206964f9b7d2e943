import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bindStatx, makedev, type FileIdentity } from '../../agent/system/libc.js';

/*
 * Discovery stat()s every listed file each cycle through statx(2) (a Stats and its four Dates per
 * file were a sixth of a steady cycle's allocation at 1,000 namespaces). What it says must be what
 * fs.statSync says: the nsfs device and the inodes are compared with Stats figures elsewhere.
 */
const test = suite('statx for discovery');

test('glibc\'s makedev: major and minor bits interleaved', () => {
  assert.is(makedev(0, 4), 4);
  assert.is(makedev(8, 1), 2049);
  assert.is(makedev(259, 3), 66307);
  assert.is(makedev(0, 256), 2 ** 20);
  assert.is(makedev(4096, 0), 2 ** 44);
  assert.is(makedev(0xfffff, 0xffffffff), (0xfff * 2 ** 8) + 0xff + 0xffffff * 2 ** 20 + 0xff * 2 ** 44);
});

test('the same device, inode, type and size as fs.statSync, through links; false for a missing file', () => {
  const statx = bindStatx();
  assert.ok(statx !== null, 'koffi and libc statx load on this host');
  const dir = mkdtempSync(path.join(tmpdir(), 'netns-exporter-statx-'));
  try {
    writeFileSync(path.join(dir, 'full'), 'x'.repeat(5000));
    writeFileSync(path.join(dir, 'empty'), '');
    symlinkSync(path.join(dir, 'full'), path.join(dir, 'link'));
    for (const file of ['/', '/proc/self/ns/net', dir, path.join(dir, 'full'), path.join(dir, 'empty'), path.join(dir, 'link')]) {
      const into: FileIdentity = { dev: -1, ino: -1, isFile: false, size: -1 };
      assert.ok(statx!(file, into), file);
      const stats = statSync(file);
      assert.equal(into, { dev: stats.dev, ino: stats.ino, isFile: stats.isFile(), size: stats.size }, file);
    }
    assert.not.ok(statx!(path.join(dir, 'missing'), { dev: 0, ino: 0, isFile: false, size: 0 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
