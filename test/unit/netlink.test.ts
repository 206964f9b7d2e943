import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ParseError } from '../../shared/parse/error.js';
import { parseIpAddrJson } from '../../shared/parse/ipJson.js';
import { fixture as fixtureText } from '../helpers/fixtures.js';
import { RTM_GETADDR, RTM_GETLINK, buildDumpRequest, endsWithDone } from '../../shared/parse/netlink.js';
import { interfacesFromDumps as parseInterfaceDumps, netlinkFixture as fixture } from '../helpers/netlinkDumps.js';

// Recorded with test/fixtures/netlink/record.mjs inside real namespaces: each .bin next to what
// `ip -j -s -s addr show` printed for the same namespace a moment later, with no traffic flowing.

const test = suite('netlink parser');

/** A netlink message: header (length, type, flags, seq, pid), then the body, padded to 4 bytes. */
function message(type: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16 + ((body.length + 3) & ~3));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 16 + body.length, true);
  view.setUint16(4, type, true);
  bytes.set(body, 16);
  return bytes;
}

/** A route attribute (rtattr), padded to 4 bytes. */
function attribute(type: number, value: Uint8Array): Uint8Array {
  const bytes = new Uint8Array((4 + value.length + 3) & ~3);
  new DataView(bytes.buffer).setUint16(0, 4 + value.length, true);
  new DataView(bytes.buffer).setUint16(2, type, true);
  bytes.set(value, 4);
  return bytes;
}

const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));
const DONE = message(3, new Uint8Array(4));

/** One device, ifindex 1, of link type `linkType` with link-layer address `mac`, and one address of its own. */
function device(linkType: number, mac: Uint8Array, address: Uint8Array): { link: Uint8Array; addr: Uint8Array } {
  const ifinfo = new Uint8Array(16);
  new DataView(ifinfo.buffer).setUint16(2, linkType, true);
  new DataView(ifinfo.buffer).setInt32(4, 1, true);
  const link = message(16, join(ifinfo, attribute(3, Uint8Array.from([...'x0'].map((c) => c.charCodeAt(0)).concat(0))), attribute(1, mac), attribute(23, new Uint8Array(24 * 8))));
  const ifaddr = Uint8Array.of(address.length === 4 ? 2 : 10, 64, 0, 0, 1, 0, 0, 0);
  return { link: join(link, DONE), addr: join(message(20, join(ifaddr, attribute(1, address))), DONE) };
}

/** How the parser spells an address of the device's own and its link-layer address. */
function spelled(linkType: number, mac: Uint8Array, address: Uint8Array): { mac: string; address: string } {
  const { link, addr } = device(linkType, mac, address);
  const [only] = parseInterfaceDumps(link, addr);
  return { mac: only!.mac, address: only!.addresses[0]!.address };
}

for (const name of ['busy', 'odd']) {
  test(`${name}: the netlink dumps give what iproute2 prints for the same namespace`, () => {
    const fromNetlink = parseInterfaceDumps(fixture(`${name}.link.bin`), fixture(`${name}.addr.bin`));
    const fromIp = parseIpAddrJson(fixtureText(`netlink/${name}.ip.json`));
    assert.ok(fromNetlink.length >= 2, 'the fixture holds several devices');
    assert.equal(fromNetlink, fromIp);
  });
}

test('busy: traffic counters, mtu, set MAC, v4 secondaries and v6 spelling come through', () => {
  const devices = parseInterfaceDumps(fixture('busy.link.bin'), fixture('busy.addr.bin'));
  const eth0 = devices.find((device) => device.name === 'eth0');
  assert.ok(eth0);
  assert.is(eth0.mac, '02:00:00:00:00:0a');
  assert.is(eth0.mtu, 1400);
  assert.is(eth0.operstate, 'UP');
  assert.ok(eth0.stats.tx_packets >= 3 && eth0.stats.rx_packets >= 3, 'ping traffic was counted');
  const addresses = eth0.addresses.map((a) => `${a.address}/${a.prefixLength} ${a.scope}`);
  for (const expected of ['10.1.2.3/24 global', '10.1.2.4/24 global', '2001:db8:0:1:1:1:1:1/64 global', 'fd00:0:0:1::1/64 global']) {
    assert.ok(addresses.includes(expected), `${expected} in ${addresses.join(', ')}`);
  }
  assert.is(devices.find((device) => device.name === 'lo')?.operstate, 'UNKNOWN');
});

test('odd: down, lower-layer-down, link/none, unicode names, point-to-point local address', () => {
  const devices = parseInterfaceDumps(fixture('odd.link.bin'), fixture('odd.addr.bin'));
  const byName = new Map(devices.map((device) => [device.name, device]));
  assert.is(byName.get('lo')?.operstate, 'DOWN');
  assert.is(byName.get('vup')?.operstate, 'LOWERLAYERDOWN');
  assert.is(byName.get('tun0')?.linkType, 'none');
  assert.is(byName.get('tun0')?.mac, '');
  assert.ok(byName.has('ünï') && byName.has('ünï-p'));
  assert.equal(byName.get('vup')?.addresses.map((a) => a.address), ['192.0.2.1']);
});

test('glibc inet_ntop spelling of IPv6 addresses', () => {
  const cases: [string, string][] = [
    ['00000000000000000000000000000002', '::2'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['00000000000000000000000001020304', '::1.2.3.4'],
    ['00010000000000020000000000000003', '1:0:0:2::3'],
    ['00010000000200000000000300000000', '1:0:2::3:0:0'],
    ['fe800000000000000000000000000001', 'fe80::1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['000000000000000000000000ffff0000', '::255.255.0.0'],
    ['00010000000000000000000000000000', '1::'],
    ['00000000000100000000000000000000', '0:0:1::'],
  ];
  for (const [hex, expected] of cases) assert.is(spelled(1, new Uint8Array(6), Buffer.from(hex, 'hex')).address, expected, hex);
});

test('link-layer addresses: hex pairs, or IP addresses on tunnels as iproute2 prints them', () => {
  const v4 = Uint8Array.of(192, 0, 2, 1);
  assert.equal(spelled(1, Uint8Array.of(2, 0, 0, 0, 0, 0x0a), v4), { mac: '02:00:00:00:00:0a', address: '192.0.2.1' });
  assert.is(spelled(1, Uint8Array.of(0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54), v4).mac, 'fe:dc:ba:98:76:54');
  assert.is(spelled(768, Uint8Array.of(10, 0, 0, 1), v4).mac, '10.0.0.1');
  assert.is(spelled(1, Uint8Array.of(10, 0, 0, 1), v4).mac, '0a:00:00:01');
  assert.is(spelled(769, Buffer.from('fe800000000000000000000000000001', 'hex'), v4).mac, 'fe80::1');
});

test('dump requests: length, type, request+dump flags, sequence', () => {
  const link = buildDumpRequest(RTM_GETLINK, 7);
  const view = new DataView(link.buffer);
  assert.is(view.getUint32(0, true), 32);
  assert.is(view.getUint16(4, true), RTM_GETLINK);
  assert.is(view.getUint16(6, true), 0x301);
  assert.is(view.getUint32(8, true), 7);
  assert.is(buildDumpRequest(RTM_GETADDR, 1).length, 24);
});

test('malformed input fails with a ParseError that says where', () => {
  const link = fixture('busy.link.bin');
  const addr = fixture('busy.addr.bin');
  assert.throws(() => parseInterfaceDumps(link.subarray(0, link.length - 20), addr), (e: Error) => e instanceof ParseError && /NLMSG_DONE|claims/.test(e.message));
  const firstLength = new DataView(link.buffer, link.byteOffset).getUint32(0, true);
  assert.throws(() => parseInterfaceDumps(link.subarray(0, firstLength), addr), (e: Error) => e instanceof ParseError && /without NLMSG_DONE/.test(e.message));
  const corrupt = Uint8Array.from(link);
  new DataView(corrupt.buffer).setUint32(0, 1_000_000, true);
  assert.throws(() => endsWithDone(corrupt), (e: Error) => e instanceof ParseError && /claims 1000000 bytes/.test(e.message));
  assert.throws(() => parseInterfaceDumps(corrupt, addr), (e: Error) => e instanceof ParseError && /claims 1000000 bytes/.test(e.message));
});

test('an NLMSG_ERROR reply names the errno', () => {
  const error = new Uint8Array(36);
  const view = new DataView(error.buffer);
  view.setUint32(0, 36, true);
  view.setUint16(4, 2, true); // NLMSG_ERROR
  view.setInt32(16, -1, true); // -EPERM
  assert.throws(() => endsWithDone(error), (e: Error) => e instanceof ParseError && /error 1/.test(e.message));
});

test.run();
