import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ParseError } from '../../shared/parse/error.js';
import { parseIpAddrJson } from '../../shared/parse/ipJson.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { fixture } from '../helpers/fixtures.js';

const test = suite('ip -j -s -s addr show parser');

test('reads every device with all 24 statistics, addresses and state', () => {
  const devices = parseIpAddrJson(fixture('ip/veth-up.json'));
  assert.equal(devices.map((d) => d.name), ['lo', 'zzva']);
  const veth = devices[1]!;
  assert.is(veth.operstate, 'UP');
  assert.is(veth.mtu, 1500);
  assert.is(veth.linkType, 'ether');
  assert.match(veth.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(Object.keys(veth.stats).sort(), [...INTERFACE_STATS].sort());
  assert.ok(veth.stats.rx_packets > 0, 'the fixture was recorded after a ping');
  assert.equal(veth.addresses.map((a) => [a.family, a.address, a.prefixLength]), [['inet', '10.250.0.1', 30], ['inet6', veth.addresses[1]!.address, 64]]);
});

test('maps each statistic to the same-named kernel counter', () => {
  const raw = JSON.parse(fixture('ip/veth-up.json'))[1].stats64;
  const veth = parseIpAddrJson(fixture('ip/veth-up.json'))[1]!;
  assert.is(veth.stats.rx_bytes, raw.rx.bytes);
  assert.is(veth.stats.tx_packets, raw.tx.packets);
  assert.is(veth.stats.multicast, raw.rx.multicast);
  assert.is(veth.stats.collisions, raw.tx.collisions);
  assert.is(veth.stats.rx_over_errors, raw.rx.over_errors);
  assert.is(veth.stats.tx_heartbeat_errors, raw.tx.heartbeat_errors);
});

test('compressed and nohandler are zero when iproute2 omits them, read when present', () => {
  const plain = parseIpAddrJson(fixture('ip/veth-up.json'))[1]!;
  assert.is(plain.stats.rx_compressed, 0);
  assert.is(plain.stats.rx_nohandler, 0);
  const counted = parseIpAddrJson(fixture('ip/compressed.json'))[1]!;
  assert.is(counted.stats.rx_compressed, 7);
  assert.is(counted.stats.rx_nohandler, 3);
  assert.is(counted.stats.tx_compressed, 5);
});

test('keeps odd device names and link states as recorded', () => {
  const devices = parseIpAddrJson(fixture('ip/odd-device.json'));
  assert.ok(devices.some((d) => d.name === 'v"é\\x'));
  const down = parseIpAddrJson(fixture('ip/lo-down.json'));
  assert.is(down[0]!.operstate, 'DOWN');
  assert.equal(down[0]!.addresses, []);
});

test('rejects output that is not ip JSON with a ParseError', () => {
  assert.throws(() => parseIpAddrJson('Cannot open network namespace'), (e: unknown) => e instanceof ParseError);
  assert.throws(() => parseIpAddrJson('{"a":1}'), /not a JSON list/);
  assert.throws(() => parseIpAddrJson('[{"ifname":"x","operstate":"UP"}]'), /no stats64/);
  assert.throws(() => parseIpAddrJson('[{"ifname":"x","stats64":{"rx":{},"tx":{}}}]'), /missing/);
});

test.run();
