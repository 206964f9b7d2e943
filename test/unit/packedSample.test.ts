import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PackedInterfacesWriter } from '../../shared/packedInterfaces.js';
import { PackedSample, packReadingInto, type PackedReading } from '../../shared/packedSample.js';
import { ParseError } from '../../shared/parse/error.js';
import { parseInterfaceDumpsInto } from '../../shared/parse/netlink.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { collectorErrors, eachDevice, type CollectorSample, type DeviceView, type NamespaceSample } from '../../shared/snapshot.js';
import { interfacesFromDumps, netlinkFixture } from '../helpers/netlinkDumps.js';

const test = suite('packed readings (setns worker → main thread)');
const dumps = (name: string) => [netlinkFixture(`${name}.link.bin`), netlinkFixture(`${name}.addr.bin`)] as const;

const COLLECTORS: CollectorSample = {
  netstat: { Tcp_RetransSegs: 12, Ip_Forwarding: 1, TcpExt_ListenDrops: 0 },
  sockstat: {},
  conntrack: { entries: 3, entries_limit: 262144, stat_found: 0, stat_drop: 7 },
  errors: [],
};
const PROC_NAMES = ['nat_conntrack', 'somaxconn', 'missing'];

/** One reading packed into `writer` as the worker packs it, its numbers cut out as shareOneBuffer does. */
function pack(writer: PackedInterfacesWriter, fixture: string, procValues: (number | null)[], collectors: CollectorSample): () => PackedReading {
  const start = writer.length;
  writer.takeText();
  const errors = packReadingInto(writer, () => parseInterfaceDumpsInto(...dumps(fixture), writer), procValues, collectors);
  const text = writer.takeText();
  const end = writer.length;
  return () => ({ numbers: writer.numbersFrom(0).subarray(start, end), text, ...(errors === undefined ? {} : { errors }) });
}

test('a reading survives structured clone: devices, proc values and collectors as the reader made them, in key order', () => {
  const writer = new PackedInterfacesWriter();
  const reading = structuredClone(pack(writer, 'busy', [41, 4096, null], COLLECTORS)());
  const sample = new PackedSample(reading, PROC_NAMES);
  assert.is(JSON.stringify(sample.interfaces), JSON.stringify(interfacesFromDumps(...dumps('busy'))));
  assert.equal(sample.proc, { nat_conntrack: 41, somaxconn: 4096 });
  assert.equal(sample.procErrors, ['missing']);
  assert.is(JSON.stringify(sample.collectors), JSON.stringify(COLLECTORS));
  assert.equal(collectorErrors(sample), []);
  assert.equal(Object.keys(reading).sort(), ['numbers', 'text'], 'no errors field when there are none');
});

test('a batch: readings written one after another read back apart; errors travel beside their own reading', () => {
  const writer = new PackedInterfacesWriter();
  const broken: CollectorSample = { netstat: {}, sockstat: { TCP_inuse: 2 }, conntrack: {}, errors: ['net/snmp: cannot read: EIO'] };
  const readings = [
    pack(writer, 'odd', [1, 2, 3], COLLECTORS),
    pack(writer, 'busy', [null, null, null], broken),
    pack(writer, 'odd', [], COLLECTORS),
  ].map((cut) => structuredClone(cut()));
  const [odd, busy, short] = readings.map((reading) => new PackedSample(reading, PROC_NAMES));
  assert.equal(odd!.interfaces, interfacesFromDumps(...dumps('odd')));
  assert.equal(odd!.proc, { nat_conntrack: 1, somaxconn: 2, missing: 3 });
  assert.equal(busy!.interfaces, interfacesFromDumps(...dumps('busy')));
  assert.equal(busy!.procErrors, PROC_NAMES);
  assert.equal(busy!.collectors, broken);
  assert.equal(collectorErrors(busy!), ['net/snmp: cannot read: EIO']);
  // A reading with fewer values than names (a stand-in worker, an older one): the rest are unreadable.
  assert.equal(short!.procErrors, PROC_NAMES);
  assert.equal(short!.collectors, COLLECTORS);
});

test('field names that are not ASCII or hold a NUL keep every other name in its place', () => {
  const writer = new PackedInterfacesWriter();
  const odd: CollectorSample = { netstat: { 'Tcp_Ré': 1, 'A\u0000B': 2, Udp_NoPorts: 3 }, sockstat: { sockets_used: 4 }, conntrack: {}, errors: [] };
  const sample = new PackedSample(structuredClone(pack(writer, 'odd', [], odd)()), []);
  assert.equal(sample.collectors.netstat, { 'Tcp_Ré': 1, 'A\uFFFDB': 2, Udp_NoPorts: 3 });
  assert.equal(sample.collectors.sockstat, { sockets_used: 4 });
  assert.equal(sample.interfaces, interfacesFromDumps(...dumps('odd')));
});

test('a dump that does not parse leaves the writer as it was, header included', () => {
  const writer = new PackedInterfacesWriter();
  const first = pack(writer, 'odd', [5], COLLECTORS);
  const length = writer.length;
  const [link, addr] = dumps('busy');
  assert.throws(
    () => packReadingInto(writer, () => parseInterfaceDumpsInto(link.subarray(0, link.length - 40), addr, writer), [6], COLLECTORS),
    (error: Error) => error instanceof ParseError,
  );
  assert.is(writer.length, length);
  assert.is(writer.text.length, 0);
  const sample = new PackedSample(first(), ['nat_conntrack']);
  assert.equal(sample.proc, { nat_conntrack: 5 });
  assert.equal(sample.interfaces, interfacesFromDumps(...dumps('odd')));
});

/** What a visit saw of each device, read during the visit (the view moves on after it). */
function seen(sample: NamespaceSample): unknown[] {
  const devices: unknown[] = [];
  eachDevice(sample, (device: DeviceView) => {
    devices.push({
      name: device.name, operstate: device.operstate, mtu: device.mtu, mac: device.mac, linkType: device.linkType,
      stats: INTERFACE_STATS.map((_, index) => device.stat(index)), addresses: [...device.addresses],
    });
  });
  return devices;
}

for (const name of ['busy', 'odd']) {
  test(`${name}: the device view shows what the devices hold, packed or plain`, () => {
    const writer = new PackedInterfacesWriter();
    pack(writer, 'busy', [1], COLLECTORS);
    const packed = new PackedSample(structuredClone(pack(writer, name, [2], COLLECTORS)()), ['x']);
    const devices = interfacesFromDumps(...dumps(name));
    const expected = devices.map((device) => ({
      name: device.name, operstate: device.operstate, mtu: device.mtu, mac: device.mac, linkType: device.linkType,
      stats: INTERFACE_STATS.map((stat) => device.stats[stat]), addresses: device.addresses,
    }));
    if (name === 'busy') assert.ok(devices.some((device) => device.addresses.length > 1), 'a device with several addresses');
    assert.equal(seen(packed), expected);
    assert.equal(seen({ interfaces: devices, proc: {}, procErrors: [], collectors: COLLECTORS }), expected);
  });
}

test.run();
