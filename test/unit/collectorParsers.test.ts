import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConntrackStat } from '../../shared/collectors/conntrack.js';
import { ParseError } from '../../shared/parse/error.js';
import { FieldSelection, parseSnmp6, parseSnmpPairs } from '../../shared/collectors/netstat.js';
import { parseSockstat } from '../../shared/collectors/sockstat.js';
import { fixture } from '../helpers/fixtures.js';

const test = suite('/proc collector parsers');

test('snmp: every Protocol_Field of the recorded file, negative MaxConn included', () => {
  const { values, skipped } = parseSnmpPairs(fixture('proc/busy/net/snmp'));
  assert.equal(skipped, []);
  assert.is(values.Tcp_RetransSegs, 3);
  assert.is(values.Tcp_ActiveOpens, 5);
  assert.is(values.Tcp_OutRsts, 2);
  assert.is(values.Tcp_MaxConn, -1);
  assert.is(values.Ip_Forwarding, 2);
  assert.is(values.Udp_NoPorts, 1);
  assert.is(values.IcmpMsg_OutType3, 1);
  assert.is(Object.keys(values).filter((key) => key.startsWith('Tcp_')).length, 15);
});

test('netstat: TcpExt and IpExt, with the accept queue overflows the recording provoked', () => {
  const { values, skipped } = parseSnmpPairs(fixture('proc/busy/net/netstat'));
  assert.equal(skipped, []);
  assert.is(values.TcpExt_ListenOverflows, 6);
  assert.is(values.TcpExt_ListenDrops, 6);
  assert.is(values.TcpExt_TCPSynRetrans, 3);
  assert.ok(values.IpExt_InOctets! > 0);
});

test('snmp6: protocol split at its "6", as node_exporter does', () => {
  const { values, skipped } = parseSnmp6(fixture('proc/busy/net/snmp6'));
  assert.equal(skipped, []);
  for (const key of ['Ip6_InReceives', 'Ip6_InOctets', 'Icmp6_InMsgs', 'Icmp6_OutMLDv2Reports', 'Udp6_InDatagrams', 'UdpLite6_InErrors']) {
    assert.type(values[key], 'number', key);
  }
  assert.not.ok(Object.keys(values).some((key) => key.startsWith('Icmp_')));
});

test('sockstat and sockstat6: Protocol_key, sockets_used', () => {
  const v4 = parseSockstat(fixture('proc/busy/net/sockstat'));
  assert.equal(v4.skipped, []);
  assert.equal(Object.keys(v4.values), [
    'sockets_used', 'TCP_inuse', 'TCP_orphan', 'TCP_tw', 'TCP_alloc', 'TCP_mem', 'UDP_inuse', 'UDP_mem',
    'UDPLITE_inuse', 'RAW_inuse', 'FRAG_inuse', 'FRAG_memory',
  ]);
  const v6 = parseSockstat(fixture('proc/busy/net/sockstat6'));
  assert.equal(Object.keys(v6.values), ['TCP6_inuse', 'UDP6_inuse', 'UDPLITE6_inuse', 'RAW6_inuse', 'FRAG6_inuse', 'FRAG6_memory']);
});

test('nf_conntrack stat: hexadecimal per-CPU rows summed; entries, the table size every row repeats, taken once', () => {
  const recorded = parseConntrackStat(fixture('proc/busy/net/stat/nf_conntrack'));
  assert.equal(recorded.skipped, []);
  assert.is(recorded.values.entries, 5, 'the recorded nf_conntrack_count, not 5 per CPU');
  assert.is(recorded.values.search_restart, 0);
  const text = [
    'entries  found invalid insert_failed drop early_drop search_restart',
    '0000000a  0000000f 00000001 00000000 000000ff 00000002 00000010',
    '0000000a  00000001 00000002 00000003 00000001 00000000 00000001',
    '',
  ].join('\n');
  assert.equal(parseConntrackStat(text), {
    values: { entries: 10, found: 16, invalid: 3, insert_failed: 3, drop: 256, early_drop: 2, search_restart: 17 },
    skipped: [],
  });
});

test('nf_conntrack stat on a 64-CPU host: every row summed, entries from the first; a changed header is read anew', () => {
  const header = 'entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart';
  const columns = header.split(' ').length;
  // CPU c: entries 0x2a everywhere, found = c, drop = 2c, search_restart = 0xffffffff, the rest 1.
  const rows = Array.from({ length: 64 }, (_, cpu) => header.split(' ').map((name) => {
    const value = name === 'entries' ? 0x2a : name === 'found' ? cpu : name === 'drop' ? 2 * cpu : name === 'search_restart' ? 0xffffffff : 1;
    return value.toString(16).padStart(8, '0');
  }).join(cpu % 2 === 0 ? ' ' : '\t  '));
  const text = `${header}\n${rows.join('\n')}\n`;
  for (let call = 0; call < 2; call += 1) {
    const { values, skipped } = parseConntrackStat(text);
    assert.equal(skipped, []);
    assert.is(Object.keys(values).length, columns);
    assert.is(values.entries, 0x2a, 'the table size once, not 64 times');
    assert.is(values.found, (63 * 64) / 2);
    assert.is(values.drop, 63 * 64);
    assert.is(values.search_restart, 64 * 0xffffffff);
    assert.is(values.insert, 64);
  }
  // Another header right after: its own names, not the remembered ones.
  assert.equal(parseConntrackStat('entries drop\n00000003 0000000A\r\n00000003 00000001\n').values, { entries: 3, drop: 11 });
  assert.equal(parseConntrackStat(text).values.found, (63 * 64) / 2);
  // A cell that is not hexadecimal skips its row only, and says which line.
  const damaged = parseConntrackStat(`${header}\n${rows[1]}\n${rows[2]!.replace('00000002', '0000000g')}\n${rows[3]}\n`);
  assert.is(damaged.values.found, 1 + 3);
  assert.equal(damaged.skipped.length, 1);
  assert.match(damaged.skipped[0]!, /^line 3: expected 17 hexadecimal values/);
});

test('a field selection keeps only matching names, the same on every reuse of its remembered answers', () => {
  const selection = new FieldSelection(/^(Tcp_RetransSegs|TcpExt_Listen.*|Ip6_InOctets)$/u);
  for (let round = 0; round < 3; round++) {
    assert.equal(parseSnmpPairs(fixture('proc/busy/net/snmp'), selection).values, { Tcp_RetransSegs: 3 });
    assert.equal(parseSnmpPairs(fixture('proc/busy/net/netstat'), selection).values, { TcpExt_ListenOverflows: 6, TcpExt_ListenDrops: 6 });
    assert.equal(Object.keys(parseSnmp6(fixture('proc/busy/net/snmp6'), selection).values), ['Ip6_InOctets']);
  }
  // The same header with other values in another namespace: the remembered columns still apply.
  assert.equal(parseSnmpPairs('Tcp: RetransSegs OutSegs\nTcp: 9 1\n', selection).values, { Tcp_RetransSegs: 9 });
  assert.equal(parseSnmpPairs('Tcp: RetransSegs OutSegs\nTcp: 11 1\n', selection).values, { Tcp_RetransSegs: 11 });
});

test('header/value count mismatch: that protocol is skipped and noted, the others kept', () => {
  const text = 'Tcp: ActiveOpens PassiveOpens\nTcp: 5\nUdp: InDatagrams NoPorts\nUdp: 7 1\n';
  const { values, skipped } = parseSnmpPairs(text);
  assert.equal(values, { Udp_InDatagrams: 7, Udp_NoPorts: 1 });
  assert.equal(skipped, ['line 2: Tcp has 2 fields but 1 values']);
});

test('a truncated read: a header without values, a value cut mid-number', () => {
  const headerOnly = parseSnmpPairs('Tcp: ActiveOpens\nTcp: 5\nUdp: InDatagrams NoPorts\n');
  assert.equal(headerOnly.values, { Tcp_ActiveOpens: 5 });
  assert.is(headerOnly.skipped.length, 1);
  const cut = parseSnmpPairs('Tcp: ActiveOpens PassiveOpens\nTcp: 5 1x\n');
  assert.equal(cut.values, { Tcp_ActiveOpens: 5 });
  assert.match(cut.skipped[0]!, /Tcp_PassiveOpens is not a number/);
  const conntrack = parseConntrackStat('entries found drop\n00000001 00000002 00000003\n00000001 0000');
  assert.equal(conntrack.values, { entries: 1, found: 2, drop: 3 });
  assert.match(conntrack.skipped[0]!, /line 3: expected 3 hexadecimal values/);
  const sockstat = parseSockstat('sockets: used 4\nTCP: inuse 3 orphan\n');
  assert.equal(sockstat.values, { sockets_used: 4 });
  assert.is(sockstat.skipped.length, 1);
  const snmp6 = parseSnmp6('Ip6InReceives 12\nIp6InOctets\nUdp6InErrors 1x\n');
  assert.equal(snmp6.values, { Ip6_InReceives: 12 });
  assert.is(snmp6.skipped.length, 2);
});

test('unusable input is a ParseError, never a crash', () => {
  assert.throws(() => parseSnmpPairs(''), (error: unknown) => error instanceof ParseError);
  assert.throws(() => parseConntrackStat(''), (error: unknown) => error instanceof ParseError);
  assert.throws(() => parseConntrackStat('00000001 00000002\n'), (error: unknown) => error instanceof ParseError);
  const garbage = parseSnmpPairs('no colon here\nat all\n');
  assert.equal(garbage.values, {});
  assert.is(garbage.skipped.length, 1);
  assert.equal(parseSockstat('\n\n').values, {});
  assert.equal(parseSnmp6('').values, {});
});

test.run();
