import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRegistry } from '../helpers/registry.js';
import { configFrom } from '../helpers/config.js';
import { device, readOk, snapshotOf } from '../helpers/samples.js';

const test = suite('registry: metric names and labels of the original');
const build = { version: '0.1.0', revision: 'abc', nodeversion: 'v20.0.0' };

async function exposition(raw: unknown, results: Parameters<typeof snapshotOf>[0]): Promise<string[]> {
  const registry = buildRegistry(snapshotOf(results), configFrom(raw), build, null);
  return (await registry.metrics()).split('\n');
}

test('reproduces the general example of the original README', async () => {
  const lines = await exposition({
    interface_metrics: ['rx_bytes', 'rx_packets', 'rx_dropped', 'tx_bytes', 'tx_packets'],
    proc_metrics: { nat_conntrack: { file: 'sys/net/netfilter/nf_conntrack_count' } },
  }, [
    readOk('test', [device('kokoko')], { nat_conntrack: 0 }),
    readOk('test2', [device('qwerty')], { nat_conntrack: 0 }),
  ]);
  const expected = [
    '# HELP netns_network_nat_conntrack_total Statistics from /proc filesystem in the network namespace',
    '# TYPE netns_network_nat_conntrack_total counter',
    'netns_network_nat_conntrack_total{netns="test"} 0',
    'netns_network_nat_conntrack_total{netns="test2"} 0',
  ];
  for (const stat of ['rx_bytes', 'rx_dropped', 'rx_packets', 'tx_bytes', 'tx_packets']) {
    expected.push(
      `# HELP netns_network_${stat}_total Interface statistics in the network namespace`,
      `# TYPE netns_network_${stat}_total counter`,
      `netns_network_${stat}_total{device="kokoko",netns="test"} 0`,
      `netns_network_${stat}_total{device="qwerty",netns="test2"} 0`,
    );
  }
  for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}`);
  assert.ok(lines.includes('netns_exporter_build_info{version="0.1.0",revision="abc",nodeversion="v20.0.0"} 1'));
});

test('reproduces the OpenStack example, with up typed as a gauge', async () => {
  const lines = await exposition({ labels: { preset: 'openstack' }, hostname: 'fedora' }, [
    readOk('qrouter-27e6b9c0-73c4-4624-9481-eb5c90f109bd', [device('qg-aabbcc2', {
      operstate: 'UP',
      addresses: [{ family: 'inet', address: '192.168.110.10', prefixLength: 24, scope: 'global' }, { family: 'inet6', address: 'fe80::1', prefixLength: 64, scope: 'link' }],
    })]),
    readOk('qrouter-1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd', [device('qr-aabbcc2')]),
  ]);
  for (const line of [
    "# HELP netns_network_up Value is 1 if operstate is 'up', 0 otherwise.",
    '# TYPE netns_network_up gauge',
    'netns_network_up{device="qg-aabbcc2",deviceIP="192.168.110.10",host="fedora",netns="qrouter-27e6b9c0-73c4-4624-9481-eb5c90f109bd",router="27e6b9c0-73c4-4624-9481-eb5c90f109bd"} 1',
    'netns_network_up{device="qr-aabbcc2",deviceIP="",host="fedora",netns="qrouter-1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd",router="1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd"} 0',
    'netns_network_namespace{host="fedora",netns="qrouter-1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd",router="1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd"} 1',
  ]) assert.ok(lines.includes(line), `missing: ${line}`);
});

test('qdhcp namespaces get a network label, others no Neutron label', async () => {
  const lines = await exposition({ labels: { preset: 'openstack' }, hostname: 'h' }, [
    readOk('qdhcp-aaaa', [device('tap1')]),
    readOk('cni-1234', [device('eth0')]),
  ]);
  assert.ok(lines.includes('netns_network_namespace{host="h",netns="qdhcp-aaaa",network="aaaa"} 1'));
  assert.ok(lines.includes('netns_network_namespace{host="h",netns="cni-1234"} 1'));
});

test('odd namespace names are escaped in label values', async () => {
  const name = 'we"ird \\ näme\nline';
  const lines = await exposition({}, [readOk(name, [device('eth0', {}, { rx_bytes: 5 })])]);
  assert.ok(lines.includes('netns_network_rx_bytes_total{device="eth0",netns="we\\"ird \\\\ näme\\nline"} 5'), lines.filter((l) => l.startsWith('netns_network_rx_bytes')).join('\n'));
});

test('a failed read is omitted, never written as -1 or "nil"', async () => {
  const failed = { ns: { name: 'gone', path: '/run/netns/gone', inode: 1 }, ok: false as const, reason: 'vanished' as const, message: 'x', durationMs: 1 };
  const lines = await exposition({}, [failed, readOk('here', [device('eth0')])]);
  assert.not.ok(lines.some((line) => line.includes('netns="gone"')));
  assert.not.ok(lines.some((line) => / -1$/.test(line) || line.includes('"nil"')));
  assert.ok(lines.includes('netns_network_namespace{netns="here"} 1'));
});

test('proc gauges drop the _total suffix; an unreadable proc file is omitted', async () => {
  const lines = await exposition({ proc_metrics: { conntrack: { file: 'sys/net/netfilter/nf_conntrack_count', type: 'gauge' }, forwarding: { file: 'sys/net/ipv4/ip_forward' } } }, [
    readOk('a', [], { conntrack: 12 }),
  ]);
  assert.ok(lines.includes('# TYPE netns_network_conntrack gauge'));
  assert.ok(lines.includes('netns_network_conntrack{netns="a"} 12'));
  assert.not.ok(lines.some((line) => line.startsWith('netns_network_forwarding_total{')));
});

test('info and mtu per interface', async () => {
  const lines = await exposition({}, [readOk('a', [device('eth0', { operstate: 'UP', mtu: 9000, mac: 'aa:bb:cc:dd:ee:ff' })])]);
  assert.ok(lines.includes('netns_network_info{address="aa:bb:cc:dd:ee:ff",device="eth0",link_type="ether",netns="a",operstate="up"} 1'));
  assert.ok(lines.includes('netns_network_mtu_bytes{device="eth0",netns="a"} 9000'));
});

test('the reader in use is a self-metric: netns_exporter_reader_info{reader}', async () => {
  const self = { cycles: 1, cyclesOverrun: 0, pushesOverrun: 0, readErrors: {}, dirListErrors: {}, discoveryErrors: {}, pushes: {}, extra: [], reader: 'setns' as const };
  const lines = (await buildRegistry(snapshotOf([]), configFrom({}), build, self).metrics()).split('\n');
  assert.ok(lines.includes('# TYPE netns_exporter_reader_info gauge'), lines.join('\n'));
  assert.ok(lines.includes('netns_exporter_reader_info{reader="setns"} 1'));
});

test.run();
