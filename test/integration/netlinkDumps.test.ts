import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpAddrJson } from '../../shared/parse/ipJson.js';
import type { InterfaceSample } from '../../shared/snapshot.js';
import { addNamespace, cleanupNamespaces, inNs } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';

/**
 * The setns worker's rtnetlink dumps (agent/readers/netnsLibc.ts) as the kernel sends them: a
 * namespace's dump is received datagram after datagram into one kept buffer per dump type, never
 * copied. A namespace with 200 devices sends its link dump in many datagrams (about 300 KB; the
 * kernel fills at most 32 KiB each), so the buffer must grow while a dump arrives, and a second
 * dump into the same buffers must give the same devices.
 */
const test = suite('rtnetlink dumps over a held socket');
let ns = '';

/** Run inside the namespace (ip netns exec): two dump pairs on one socket, parsed as the worker does. */
const CHILD = `
const { loadLibc } = await import(${JSON.stringify(new URL('../../agent/readers/netnsLibc.js', import.meta.url).href)});
const { PackedInterfacesWriter, unpackInterfaces } = await import(${JSON.stringify(new URL('../../shared/packedInterfaces.js', import.meta.url).href)});
const { parseInterfaceDumpsInto } = await import(${JSON.stringify(new URL('../../shared/parse/netlink.js', import.meta.url).href)});
const libc = loadLibc();
const route = libc.openRoute(5000);
const out = new PackedInterfacesWriter();
const rounds = [];
for (let round = 0; round < 2; round += 1) {
  const [addresses, links] = libc.dumpRoute(route, [22, 18]);
  const start = out.length;
  parseInterfaceDumpsInto(links, addresses, out);
  rounds.push({ linkBytes: links.length, addressBytes: addresses.length, start, end: out.length, text: out.takeText() });
}
const numbers = out.numbersFrom(0);
console.log(JSON.stringify(rounds.map((r) => ({ ...r, devices: unpackInterfaces({ numbers: numbers.subarray(r.start, r.end), text: r.text }) }))));
`;

test.before(() => {
  ns = addNamespace('nd');
  const commands = [];
  for (let i = 0; i < 100; i += 1) commands.push(`link add a${i} type veth peer name b${i}`, `addr add 10.77.${i >> 6}.${(i & 63) + 1}/32 dev a${i}`);
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${commands.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
});

test.after(cleanupNamespaces);

test('a link dump of many datagrams arrives whole, twice over, and parses to what iproute2 prints', () => {
  const rounds = JSON.parse(inNs(ns, [process.execPath, '--input-type=module', '-e', CHILD])) as { linkBytes: number; addressBytes: number; devices: InterfaceSample[] }[];
  const fromIp = parseIpAddrJson(inNs(ns, ['ip', '-j', '-s', '-s', 'addr', 'show']));
  assert.is(fromIp.length, 201, 'lo and 100 veth pairs');
  assert.ok(rounds[0]!.linkBytes > 4 * 32 * 1024, `the link dump spans several datagrams (${rounds[0]!.linkBytes} bytes)`);
  for (const [index, round] of rounds.entries()) {
    assert.equal(round.devices, fromIp, `dump ${index + 1}`);
  }
  assert.is(rounds[1]!.linkBytes, rounds[0]!.linkBytes);
  assert.equal(rounds[1]!.devices.find((d) => d.name === 'a99')?.addresses.map((a) => a.address), ['10.77.1.36']);
});

/** Run inside the namespace: a watching and a plain socket, asked about address changes around real ones. */
const WATCH = `
const { execFileSync } = await import('node:child_process');
const { loadLibc } = await import(${JSON.stringify(new URL('../../agent/readers/netnsLibc.js', import.meta.url).href)});
const { endsWithDone } = await import(${JSON.stringify(new URL('../../shared/parse/netlink.js', import.meta.url).href)});
const libc = loadLibc();
const watching = libc.openRoute(5000, true);
const plain = libc.openRoute(5000, false);
const ip = (...args) => execFileSync('ip', args);
const answers = {};
libc.dumpRoute(watching, [22, 18]);
answers.quiet = libc.addressesChanged(watching);
ip('addr', 'add', '10.78.0.1/32', 'dev', 'a0');
answers.added = libc.addressesChanged(watching);
answers.plainAdded = libc.addressesChanged(plain);
answers.askedAgain = libc.addressesChanged(watching);
// Announced while nothing reads: the announcement is queued ahead of the link dump's reply.
ip('-6', 'addr', 'add', 'fd00:78::1/128', 'dev', 'lo');
const [links] = libc.dumpRoute(watching, [18]);
answers.linkDumpWhole = endsWithDone(links) && links.length > 1000;
// Asked of several sockets at once (one poll), as the worker asks for a batch.
answers.duringDump = [...libc.addressesChangedAmong([plain, watching])].join() === String(watching);
answers.quietAmong = libc.addressesChangedAmong([plain, watching]).size === 0;
ip('addr', 'del', '10.78.0.1/32', 'dev', 'a0');
answers.deleted = [...libc.addressesChangedAmong([watching, plain])].join() === String(watching);
ip('link', 'set', 'a1', 'mtu', '1400');
answers.linkChange = libc.addressesChanged(watching);
console.log(JSON.stringify(answers));
`;

test('a watching socket hears of address changes, also ones announced during a link dump; link changes are not address changes', () => {
  inNs(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.lo.disable_ipv6=0']);
  const answers = JSON.parse(inNs(ns, [process.execPath, '--input-type=module', '-e', WATCH])) as Record<string, boolean>;
  assert.equal(answers, {
    quiet: false,
    added: true,
    plainAdded: false,
    askedAgain: false,
    linkDumpWhole: true,
    duringDump: true,
    quietAmong: true,
    deleted: true,
    linkChange: false,
  });
});

runWhen(test, ['root', 'ip'], 'rtnetlink dumps');
