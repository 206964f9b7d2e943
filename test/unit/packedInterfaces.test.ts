import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseInterfaceDumps } from '../../shared/parse/netlink.js';
import { packInterfaces, unpackInterfaces } from '../../shared/packedInterfaces.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { fixturePath } from '../helpers/fixtures.js';

const test = suite('packed interfaces (setns worker → main thread)');
const devices = (name: string) => parseInterfaceDumps(
  new Uint8Array(readFileSync(fixturePath(`netlink/${name}.link.bin`))),
  new Uint8Array(readFileSync(fixturePath(`netlink/${name}.addr.bin`))),
);

for (const name of ['busy', 'odd']) {
  test(`${name}: unpacking gives back exactly what was packed, keys in the same order`, () => {
    const original = devices(name);
    const packed = structuredClone(packInterfaces(original));
    const unpacked = unpackInterfaces(packed);
    assert.equal(unpacked, original);
    // Key order too: samples are compared as JSON, and both readers must print the same.
    assert.is(JSON.stringify(unpacked), JSON.stringify(original));
  });
}

test('statistics keep INTERFACE_STATS order; no devices packs to nothing', () => {
  const [first] = unpackInterfaces(packInterfaces(devices('busy')));
  assert.equal(Object.keys(first!.stats), [...INTERFACE_STATS]);
  assert.equal(unpackInterfaces(packInterfaces([])), []);
});

test.run();
