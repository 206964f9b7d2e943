import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNamespaceMounts } from '../../shared/parse/mountinfo.js';
import { fixture } from '../helpers/fixtures.js';

const test = suite('mountinfo: namespace types of bound namespace files');

test('nsfs mounts map their inode to the namespace type; other mounts are ignored', () => {
  const types = parseNamespaceMounts(fixture('mountinfo/nsfs.txt'));
  assert.equal([...types.entries()].sort(), [[4026531836, 'pid'], [4026531838, 'uts'], [4026532591, 'net']]);
});

test('odd input: empty text, a line without the separator', () => {
  assert.is(parseNamespaceMounts('').size, 0);
  assert.is(parseNamespaceMounts('49 42 0:4 net:[1] /run/netns/x rw shared:8 nsfs nsfs rw').size, 0);
});

test.run();
