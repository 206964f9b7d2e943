import { readFileSync } from 'node:fs';
import { PackedInterfacesWriter, unpackInterfaces, type PackedInterfaces } from '../../shared/packedInterfaces.js';
import { parseInterfaceDumpsInto } from '../../shared/parse/netlink.js';
import type { InterfaceSample } from '../../shared/snapshot.js';
import { fixturePath } from './fixtures.js';

/** One namespace's dumps in the packed form the setns worker posts (a writer of its own). */
export function packedFromDumps(linkDump: Uint8Array, addrDump: Uint8Array): PackedInterfaces {
  const out = new PackedInterfacesWriter();
  parseInterfaceDumpsInto(linkDump, addrDump, out);
  return { numbers: out.numbersFrom(0), text: out.takeText() };
}

/** The devices the setns reader delivers for these dumps: parsed into the packed form, unpacked as the pool does. */
export function interfacesFromDumps(linkDump: Uint8Array, addrDump: Uint8Array): InterfaceSample[] {
  return unpackInterfaces(packedFromDumps(linkDump, addrDump));
}

/** A recorded dump (test/fixtures/netlink/NAME), e.g. `busy.link.bin`. */
export function netlinkFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(`netlink/${name}`)));
}
