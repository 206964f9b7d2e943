import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectorFiles, collectorSample, splitHostWide } from '../../shared/collectors/collectorList.js';
import { netstat } from '../../shared/collectors/netstat.js';
import { DEFAULT_NETSTAT_FIELDS } from '../../shared/config/schema.js';
import type { CollectorFile } from '../../shared/collectors/collector.js';
import type { CollectorsConfig } from '../../shared/config/configTypes.js';
import { configErrors, configFrom } from '../helpers/config.js';
import { ALL_COLLECTOR_FILES, procFixture } from '../helpers/fixtures.js';

const test = suite('collectors: files to read and raw text → sample');
const ALL_FILES = ALL_COLLECTOR_FILES;
const procPaths = (files: readonly CollectorFile[]) => files.map((file) => file.procPath);
const allOn = (): CollectorsConfig => configFrom({ collectors: { netstat: { enabled: true }, sockstat: { enabled: true }, conntrack: { enabled: true } } }).collectors;

test('defaults: conntrack on, netstat and sockstat off; the files follow the config', () => {
  const defaults = configFrom({}).collectors;
  assert.equal(procPaths(collectorFiles(defaults)), ['net/stat/nf_conntrack', 'sys/net/netfilter/nf_conntrack_max']);
  const { perNamespace, hostWide } = splitHostWide(collectorFiles(defaults));
  assert.equal({ perNamespace: procPaths(perNamespace), hostWide: procPaths(hostWide) }, { perNamespace: ['net/stat/nf_conntrack'], hostWide: ['sys/net/netfilter/nf_conntrack_max'] });
  assert.equal(procPaths(collectorFiles(allOn())), ALL_FILES);
  const off = configFrom({ collectors: { conntrack: { enabled: false } } }).collectors;
  assert.equal(collectorFiles(off), []);
  assert.equal(collectorSample({}, off), { netstat: {}, sockstat: {}, conntrack: {}, errors: [] });
});

test('the recorded namespace: default netstat fields are node_exporter\'s, 42 series on Linux 6.18', () => {
  const sample = collectorSample(procFixture('busy', ALL_FILES), allOn());
  assert.equal(sample.errors, []);
  assert.equal(Object.keys(sample.netstat).sort(), netstat.knownMetrics.map((spec) => spec.name.replace('netns_netstat_', '')).sort());
  assert.is(sample.netstat.TcpExt_ListenOverflows, 6);
  assert.is(sample.netstat.Tcp_RetransSegs, 3);
  assert.is(sample.netstat.Ip6_InOctets, 0);
});

test('sockstat keeps per-namespace figures only', () => {
  const sample = collectorSample(procFixture('busy', ALL_FILES), allOn());
  assert.is(sample.sockstat.TCP_inuse, 0);
  assert.is(sample.sockstat.TCP6_inuse, 0);
  assert.is(sample.sockstat.sockets_used, 0);
  for (const hostWide of ['TCP_orphan', 'TCP_alloc', 'TCP_mem', 'UDP_mem']) assert.not.ok(hostWide in sample.sockstat, hostWide);
  assert.is(Object.keys(sample.sockstat).length, 14);
});

test('conntrack: count, max and the summed statistics of node_exporter', () => {
  const sample = collectorSample(procFixture('busy', ALL_FILES), allOn());
  assert.equal(sample.conntrack, {
    entries: 5, entries_limit: 262144, stat_found: 0, stat_invalid: 0, stat_ignore: 0, stat_insert: 0,
    stat_insert_failed: 0, stat_drop: 0, stat_early_drop: 0, stat_search_restart: 0,
  });
});

test('no conntrack module and no IPv6: those series are absent, and no error', () => {
  const sample = collectorSample(procFixture('bare', ALL_FILES), allOn());
  assert.equal(sample.errors, []);
  assert.equal(sample.conntrack, {});
  assert.not.ok(Object.keys(sample.netstat).some((key) => key.includes('6_')));
  assert.not.ok('TCP6_inuse' in sample.sockstat);
  assert.is(sample.netstat.Tcp_RetransSegs, 3);
});

test('docs/configuration.md states the default fields regex as the schema applies it', () => {
  const reference = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(reference.includes(`\`${DEFAULT_NETSTAT_FIELDS.replaceAll('|', '\\|')}\``));
  assert.is(configFrom({}).collectors.netstat.fields.source, DEFAULT_NETSTAT_FIELDS);
});

test('the fields regex picks the series; ".*" writes every field', () => {
  const raw = procFixture('busy', ALL_FILES);
  const tcpOnly = configFrom({ collectors: { netstat: { enabled: true, fields: '^Tcp_' } } }).collectors;
  assert.equal(Object.keys(collectorSample(raw, tcpOnly).netstat).length, 15);
  const every = configFrom({ collectors: { netstat: { enabled: true, fields: '.*' } } }).collectors;
  assert.ok(Object.keys(collectorSample(raw, every).netstat).length > 300);
});

test('conntrack entries come from the stat file\'s entries column; no nf_conntrack_count is read', () => {
  const raw = procFixture('busy', ALL_FILES);
  assert.not.ok('sys/net/netfilter/nf_conntrack_count' in raw);
  const sample = collectorSample({ ...raw, 'net/stat/nf_conntrack': raw['net/stat/nf_conntrack']!.replace(/^00000005/gm, '0000002a') }, allOn());
  assert.is(sample.conntrack.entries, 42);
  assert.is(sample.conntrack.entries_limit, 262144);
  assert.equal(sample.errors, []);
});

test('unreadable, unread and damaged files are noted per file; the rest still counts', () => {
  const raw = { ...procFixture('busy', ALL_FILES), 'net/netstat': { error: 'EACCES: permission denied' }, 'net/sockstat': 'sockets: used 3\nTCP: inuse' };
  delete (raw as Record<string, unknown>)['net/snmp6'];
  const sample = collectorSample(raw, allOn());
  assert.equal(sample.errors, [
    'net/netstat: EACCES: permission denied',
    'net/snmp6: not read',
    'net/sockstat: line 2: expected "PROTOCOL: key value ...", got "TCP: inuse"',
  ]);
  assert.is(sample.netstat.Tcp_RetransSegs, 3);
  assert.not.ok('TcpExt_ListenOverflows' in sample.netstat);
  assert.is(sample.sockstat.sockets_used, 3);
  const badStat = collectorSample({ ...procFixture('busy', ALL_FILES), 'net/stat/nf_conntrack': '1\n' }, allOn());
  assert.equal(badStat.conntrack, {});
  assert.equal(badStat.errors, ['net/stat/nf_conntrack: expected a header of field names, got "1"']);
});

test('config errors name the key: unknown keys, a bad or empty regex, a non-boolean', () => {
  assert.equal(configErrors({ collectors: { netstat: { enabled: true, fields: '(Tcp' } } }).map((e) => e.split(':')[0]), ['collectors.netstat.fields']);
  assert.match(configErrors({ collectors: { netstat: { fields: '' } } })[0]!, /^collectors\.netstat\.fields: must not be empty/);
  assert.match(configErrors({ collectors: { conntrack: { enabled: 'yes' } } })[0]!, /^collectors\.conntrack\.enabled: expected true or false/);
  assert.match(configErrors({ collectors: { netstat: { field: 'x' } } })[0]!, /^collectors\.netstat\.field: unknown key \(known: enabled, fields\)/);
  assert.match(configErrors({ collectors: { snmp: {} } })[0]!, /^collectors\.snmp: unknown key \(known: netstat, sockstat, conntrack\)/);
  assert.match(configErrors({ collectors: [] })[0]!, /^collectors: expected a mapping/);
});

test.run();
