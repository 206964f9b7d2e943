import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GrowingBuffer, writeLatin1, writeUtf8 } from '../../shared/growingBuffer.js';

const test = suite('growing buffer');

const TEXTS = ['', 'netns="qrouter-1"', 'ä ß é', 'Ω ネットワーク', '𝄞 pair', 'lone \ud800 surrogate', 'x'.repeat(70_000)];

test('latin1 and UTF-8 writes give the bytes Buffer.from gives, and say how many they wrote', () => {
  for (const text of TEXTS) {
    const utf8 = Buffer.alloc(text.length * 3 + 4, 0xee);
    const written = writeUtf8(utf8, text, 2, text.length * 3);
    assert.equal(utf8.subarray(2, 2 + written), Buffer.from(text, 'utf8'), text.slice(0, 20));
    assert.is(utf8[1], 0xee, 'nothing before the offset');
    const bytes = Buffer.from(text, 'utf8').toString('latin1');
    const latin1 = Buffer.alloc(bytes.length + 4, 0xee);
    assert.is(writeLatin1(latin1, bytes, 3), bytes.length);
    assert.equal(latin1.subarray(3, 3 + bytes.length), Buffer.from(text, 'utf8'), 'kept UTF-8 bytes copied as they are');
  }
});

test('a buffer that grows keeps what was written; reset keeps the memory and starts again', () => {
  const buffer = new GrowingBuffer(16);
  for (const text of TEXTS) buffer.utf8(text);
  buffer.latin1(Buffer.from('ü', 'utf8').toString('latin1'));
  buffer.decimal(-1234567890123);
  assert.equal(buffer.bytes(), Buffer.from(`${TEXTS.join('')}ü-1234567890123`, 'utf8'));
  buffer.reset();
  buffer.utf8('again');
  assert.equal(buffer.bytes(), Buffer.from('again'));
});

test.run();
