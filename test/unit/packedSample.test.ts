import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PackedInterfacesWriter } from '../../shared/packedInterfaces.js';
import { DeviceText, NameLists, PackedSample, packReadingInto, type PackedAt, type PackedBatch } from '../../shared/packedSample.js';
import { ParseError } from '../../shared/parse/error.js';
import { parseInterfaceDumpsInto } from '../../shared/parse/netlink.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { collectorErrors, eachDevice, procValue, type CollectorSample, type DeviceView, type NamespaceSample } from '../../shared/snapshot.js';
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

/** A batch being packed as the worker packs one: its numbers and name lists; each reading's text beside it. */
class Batch {
  readonly writer = new PackedInterfacesWriter();
  readonly names = new NameLists();

  /** One reading packed after the others; where it lies, and its text (structured clone as in a message). */
  pack(fixture: string, procValues: (number | null)[], collectors: CollectorSample): PackedAt & { text: string } {
    const at = this.writer.length;
    this.writer.takeText();
    const errors = packReadingInto(this.writer, () => parseInterfaceDumpsInto(...dumps(fixture), this.writer), procValues, collectors, this.names);
    return structuredClone({ at, text: this.writer.takeText(), ...(errors === undefined ? {} : { errors }) });
  }

  /** The batch as the main thread receives it (through structured clone, as a worker's message). */
  received(): PackedBatch {
    return structuredClone({ numbers: this.writer.numbersFrom(0), names: this.names.lists });
  }
}

test('a reading survives structured clone: devices, proc values and collectors as the reader made them, in key order', () => {
  const batch = new Batch();
  const reading = structuredClone(batch.pack('busy', [41, 4096, null], COLLECTORS));
  const sample = new PackedSample(batch.received(), reading, reading.text, PROC_NAMES);
  assert.is(JSON.stringify(sample.interfaces), JSON.stringify(interfacesFromDumps(...dumps('busy'))));
  assert.equal(sample.proc, { nat_conntrack: 41, somaxconn: 4096 });
  assert.equal(sample.procErrors, ['missing']);
  assert.is(JSON.stringify(sample.collectors), JSON.stringify(COLLECTORS));
  assert.equal(collectorErrors(sample), []);
  assert.equal(Object.keys(reading).sort(), ['at', 'text'], 'no errors field when there are none');
});

test('unreadable proc files: named in order, a value missing from the reading counts; none read as one shared empty list', () => {
  const batch = new Batch();
  const some = batch.pack('busy', [null, 4096], COLLECTORS);
  const all = batch.pack('busy', [41, 4096, 7], COLLECTORS);
  const other = batch.pack('odd', [1, 2, 3], COLLECTORS);
  const received = batch.received();
  assert.equal(new PackedSample(received, some, some.text, PROC_NAMES).procErrors, ['nat_conntrack', 'missing']);
  const clean = new PackedSample(received, all, all.text, PROC_NAMES).procErrors;
  assert.equal(clean, []);
  // Asked of every namespace each cycle: no array made per namespace when nothing failed.
  assert.is(new PackedSample(received, other, other.text, PROC_NAMES).procErrors, clean);
  assert.throws(() => clean.push('x'), TypeError, 'the shared list cannot be changed');
});

test('a batch: readings written one after another read back apart; errors travel beside their own reading', () => {
  const batch = new Batch();
  const broken: CollectorSample = { netstat: {}, sockstat: { TCP_inuse: 2 }, conntrack: {}, errors: ['net/snmp: cannot read: EIO'] };
  const readings = [
    batch.pack('odd', [1, 2, 3], COLLECTORS),
    batch.pack('busy', [null, null, null], broken),
    batch.pack('odd', [], COLLECTORS),
  ];
  const received = batch.received();
  const [odd, busy, short] = readings.map((reading) => new PackedSample(received, structuredClone(reading), reading.text, PROC_NAMES));
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

test('procValue reads one value as proc holds it; unreadable and unknown names have none', () => {
  const batch = new Batch();
  const reading = batch.pack('busy', [41, null, 7], COLLECTORS);
  const sample = new PackedSample(batch.received(), reading, reading.text, PROC_NAMES);
  assert.equal(PROC_NAMES.map((name) => procValue(sample, name)), [41, undefined, 7]);
  assert.is(procValue(sample, 'not configured'), undefined);
  assert.equal(PROC_NAMES.map((name) => procValue(sample, name)), PROC_NAMES.map((name) => sample.proc[name]), 'as proc says');
});

test("a sample's devices shown while another sample's are shown (one view is reused): each as it is, and again after", () => {
  const batch = new Batch();
  const [busy, odd] = [batch.pack('busy', [], COLLECTORS), batch.pack('odd', [], COLLECTORS)];
  const received = batch.received();
  const outer = new PackedSample(received, busy, new DeviceText(busy.text), []);
  const inner = new PackedSample(received, odd, odd.text, []);
  const seen = (sample: NamespaceSample, nested?: NamespaceSample) => {
    const names: string[] = [];
    eachDevice(sample, (device) => {
      if (nested !== undefined) names.push(`(${seen(nested).join(',')})`);
      names.push(`${device.name}:${device.operstate}:${device.stat(0)}:${device.addresses.length}`);
    });
    return names;
  };
  const expected = (fixture: string) => interfacesFromDumps(...dumps(fixture)).map((device) => `${device.name}:${device.operstate}:${device.stats[INTERFACE_STATS[0]!]}:${device.addresses.length}`);
  const alone = seen(outer);
  assert.equal(alone, expected('busy'));
  const nested = seen(outer, inner);
  assert.equal(nested.filter((_, index) => index % 2 === 1), expected('busy'), 'the outer devices, unmoved by the inner visit');
  assert.equal(nested[0], `(${expected('odd').join(',')})`);
  assert.equal(seen(outer), alone, 'and the same again');
});

test('field names are sent once per batch, as lists the readings refer to; any name comes back as it was', () => {
  const batch = new Batch();
  const odd: CollectorSample = { netstat: { 'Tcp_Ré': 1, 'A\u0000B': 2, Udp_NoPorts: 3 }, sockstat: { sockets_used: 4 }, conntrack: {}, errors: [] };
  const readings = [batch.pack('busy', [], COLLECTORS), batch.pack('odd', [], odd), batch.pack('busy', [], COLLECTORS)];
  const received = batch.received();
  // netstat and conntrack of COLLECTORS, then the odd netstat and sockstat: four lists for five parts with figures.
  assert.equal(received.names, [Object.keys(COLLECTORS.netstat), Object.keys(COLLECTORS.conntrack), Object.keys(odd.netstat), ['sockets_used']]);
  const [first, second, third] = readings.map((reading) => new PackedSample(received, reading, reading.text, []));
  assert.equal(second!.collectors.netstat, { 'Tcp_Ré': 1, 'A\u0000B': 2, Udp_NoPorts: 3 });
  assert.equal(second!.collectors.sockstat, { sockets_used: 4 });
  assert.equal(second!.interfaces, interfacesFromDumps(...dumps('odd')));
  assert.equal(first!.collectors, COLLECTORS);
  assert.equal(third!.collectors, COLLECTORS);
  // The same fields in another order are another list: a record keeps its key order.
  const reordered: CollectorSample = { ...COLLECTORS, conntrack: { entries_limit: 1, entries: 2 } };
  const again = new Batch();
  const at = [again.pack('odd', [], COLLECTORS), again.pack('odd', [], reordered)];
  const both = again.received();
  assert.equal(Object.keys(new PackedSample(both, at[1]!, at[1]!.text, []).collectors.conntrack), ['entries_limit', 'entries']);
  assert.equal(Object.keys(new PackedSample(both, at[0]!, at[0]!.text, []).collectors.conntrack), Object.keys(COLLECTORS.conntrack));
});

test('a dump that does not parse leaves the writer as it was, header included', () => {
  const batch = new Batch();
  const first = batch.pack('odd', [5], COLLECTORS);
  const { writer } = batch;
  const length = writer.length;
  const [link, addr] = dumps('busy');
  assert.throws(
    () => packReadingInto(writer, () => parseInterfaceDumpsInto(link.subarray(0, link.length - 40), addr, writer), [6], COLLECTORS, batch.names),
    (error: Error) => error instanceof ParseError,
  );
  assert.is(writer.length, length);
  assert.is(writer.text.length, 0);
  const sample = new PackedSample(batch.received(), first, first.text, ['nat_conntrack']);
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
    const batch = new Batch();
    batch.pack('busy', [1], COLLECTORS);
    const reading = batch.pack(name, [2], COLLECTORS);
    const packed = new PackedSample(batch.received(), reading, reading.text, ['x']);
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
