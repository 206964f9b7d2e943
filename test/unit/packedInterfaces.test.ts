import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PackedInterfacesWriter, unpackInterfaces } from '../../shared/packedInterfaces.js';
import { ParseError } from '../../shared/parse/error.js';
import { parseInterfaceDumpsInto } from '../../shared/parse/netlink.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { interfacesFromDumps, netlinkFixture, packedFromDumps } from '../helpers/netlinkDumps.js';

const test = suite('packed interfaces (setns worker → main thread)');
const dumps = (name: string) => [netlinkFixture(`${name}.link.bin`), netlinkFixture(`${name}.addr.bin`)] as const;

for (const name of ['busy', 'odd']) {
  test(`${name}: the packed form survives structured clone, keys in the same order`, () => {
    const packed = packedFromDumps(...dumps(name));
    const unpacked = unpackInterfaces(structuredClone(packed));
    assert.ok(unpacked.length >= 2);
    assert.equal(unpacked, unpackInterfaces(packed));
    // Key order too: samples are compared as JSON, and both readers must print the same.
    assert.is(JSON.stringify(unpacked), JSON.stringify(unpackInterfaces(packed)));
  });
}

test('statistics keep INTERFACE_STATS order; no devices packs to nothing', () => {
  const [first] = interfacesFromDumps(...dumps('busy'));
  assert.equal(Object.keys(first!.stats), [...INTERFACE_STATS]);
  assert.equal(unpackInterfaces({ numbers: new Float64Array(0), text: '' }), []);
});

test('a batch: namespaces written one after another into one writer read back apart', () => {
  const out = new PackedInterfacesWriter();
  const parts = ['busy', 'odd', 'busy'].map((name) => {
    const start = out.length;
    parseInterfaceDumpsInto(...dumps(name), out);
    return { start, end: out.length, text: out.takeText() };
  });
  const all = out.numbersFrom(0);
  for (const [index, name] of ['busy', 'odd', 'busy'].entries()) {
    const { start, end, text } = parts[index]!;
    assert.equal(unpackInterfaces({ numbers: all.subarray(start, end), text }), interfacesFromDumps(...dumps(name)), `${name} at ${index}`);
  }
});

test('a dump that does not parse leaves the writer as it was', () => {
  const out = new PackedInterfacesWriter();
  parseInterfaceDumpsInto(...dumps('odd'), out);
  const length = out.length;
  const text = out.takeText();
  const [link, addr] = dumps('busy');
  // Cut inside the last device's attributes, after earlier devices were written.
  assert.throws(() => parseInterfaceDumpsInto(link.subarray(0, link.length - 40), addr, out), (e: Error) => e instanceof ParseError);
  assert.is(out.length, length);
  assert.is(out.text.length, 0, 'no text of the devices before the cut');
  // A writer grows past its first buffer without losing what it holds.
  for (let i = 0; i < 200; i += 1) parseInterfaceDumpsInto(...dumps('busy'), out);
  assert.equal(unpackInterfaces({ numbers: out.numbersFrom(0).subarray(0, length), text }), interfacesFromDumps(...dumps('odd')));
});

test.run();
