import { readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { SelfStatsRecorder } from '../../agent/selfStats.js';
import type { Config } from '../../shared/config/configTypes.js';
import { collectorFiles, collectorSample } from '../../shared/collectors/collectorList.js';
import { passesFilter } from '../../shared/filter.js';
import { buildRegistry } from '../helpers/registry.js';
import { interfacesFromDumps } from '../helpers/netlinkDumps.js';
import { PROC_RECORD_MARK, parseNsenterOutput } from '../../shared/parse/nsenterOutput.js';
import type { InterfaceSample, NamespaceResult, NamespaceSample, Snapshot } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { fixture, fixturePath, procFixture } from '../helpers/fixtures.js';

/**
 * The whole `--dry-run` exposition of a fixed set of recorded namespaces, checked line by line
 * against test/fixtures/golden/dry-run.prom (node_exporter's collector/fixtures/e2e-output.txt):
 * a change in any family, HELP text, order, label or value shows in review as a change of that
 * file. No namespaces, no root: the snapshot is made from the recorded reader output in
 * test/fixtures, then goes the way --dry-run takes it (self-stats of one cycle, no process metrics,
 * no push targets). Build figures are fixed, so nothing in the file depends on the machine.
 *
 * After an intended change: `npm run build && UPDATE_GOLDEN=1 node scripts/test.mjs dryRunGolden`,
 * then review the diff of dry-run.prom like code.
 */
const GOLDEN = 'golden/dry-run.prom';
const BUILD = { version: '0.0.0-golden', revision: 'golden', nodeversion: 'v20.0.0' };

const test = suite('--dry-run golden exposition');

/** What the nsenter reader prints for one namespace: one record per proc file, then ip's JSON. */
function nsenterRead(ipFixture: string, procRecords: string[], config: Config): NamespaceSample {
  const stdout = procRecords.map((record) => `${PROC_RECORD_MARK}${record}\n`).join('') + PROC_RECORD_MARK + fixture(ipFixture);
  return { ...parseNsenterOutput(stdout, config.procMetrics), collectors: collectorsFrom('bare', config) };
}

/** The collector files as both readers read them, recorded from a namespace (test/fixtures/proc). */
function collectorsFrom(recording: 'busy' | 'bare', config: Config): NamespaceSample['collectors'] {
  return collectorSample(procFixture(recording, collectorFiles(config.collectors).map((file) => file.procPath)), config.collectors);
}

/** What the setns reader gets for one namespace: the two rtnetlink dumps, and the proc values. */
function setnsRead(netlinkFixture: string, proc: Record<string, number>, config: Config): NamespaceSample {
  const bytes = (suffix: string) => new Uint8Array(readFileSync(fixturePath(`netlink/${netlinkFixture}.${suffix}.bin`)));
  return { interfaces: interfacesFromDumps(bytes('link'), bytes('addr')), proc, procErrors: [], collectors: collectorsFrom('busy', config) };
}

/** One namespace read; devices filtered by device_filter as collection does. */
function read(name: string, inode: number, sample: NamespaceSample, config: Config): NamespaceResult {
  const interfaces: InterfaceSample[] = sample.interfaces.filter((device) => passesFilter(device.name, config.deviceFilter));
  return { ns: { name, path: `/run/netns/${name}`, inode }, ok: true, sample: { ...sample, interfaces }, durationMs: 3 };
}

function failed(name: string, inode: number, reason: 'vanished' | 'timeout'): NamespaceResult {
  return { ns: { name, path: `/run/netns/${name}`, inode }, ok: false, reason, message: reason, durationMs: 3 };
}

/** Neutron's namespaces (router, DHCP, SNAT, floating IP) and a container's, in discovery order (by name). */
function goldenSnapshot(config: Config): Snapshot {
  const router = '27e6b9c0-73c4-4624-9481-eb5c90f109bd';
  const results = [
    read('cni-0c2f7a1e', 4026532801, setnsRead('odd', {}, config), config),
    read('fip-5d2a1c4e-0b7f-4c41-9a8e-3f2b1d6c7e80', 4026532802, setnsRead('busy', { nat_conntrack: 40, conntrack_max: 262144 }, config), config),
    failed('qdhcp-0a9e8c7b-6d5f-4e3a-8b2c-1d0f9e8a7b6c', 4026532803, 'vanished'),
    read('qdhcp-1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd', 4026532804, nsenterRead('ip/lo-down.json', ['0\t!', '1\t262144'], config), config),
    read(`qrouter-${router}`, 4026532805, nsenterRead('ip/veth-up.json', ['0\t12', '1\t262144'], config), config),
    failed('qrouter-9f8e7d6c-5b4a-4392-8a1b-0c9d8e7f6a5b', 4026532806, 'timeout'),
    read(`snat-${router}`, 4026532807, nsenterRead('ip/odd-device.json', ['0\t3'], config), config),
  ];
  return { timestampMs: 1_700_000_000_000, durationMs: 1234.5, results, discoveredCount: results.length, discoveryErrors: [], unlistedDirs: [] };
}

/** The exposition --dry-run prints for the golden snapshot: the registry of one cycle, its self-stats. */
async function goldenExposition(): Promise<string> {
  const config = configFrom(parse(fixture('golden/config.yaml')), { hostname: 'unused-host' });
  const snapshot = goldenSnapshot(config);
  const stats = new SelfStatsRecorder();
  stats.recordCycle(snapshot, config.netnsDirs);
  // As the setns reader reports it: every namespace it read stays held (all within its budget).
  const held = snapshot.results.filter((result) => result.ok).length;
  return buildRegistry(snapshot, config, BUILD, { ...stats.snapshot([]), reader: 'setns', held }).metrics();
}

test('the exposition of the recorded namespaces is the golden file, whole', async () => {
  const actual = await goldenExposition();
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(fixturePath(GOLDEN), actual);
    console.log(`UPDATE_GOLDEN=1: wrote test/fixtures/${GOLDEN}; review its diff`);
  }
  assert.fixture(actual, fixture(GOLDEN), `test/fixtures/${GOLDEN} differs; after an intended change regenerate it with UPDATE_GOLDEN=1 (see this test)`);
});

test('the golden set shows every kind of line: failures counted, odd names escaped, Neutron ids split out', async () => {
  const lines = fixture(GOLDEN).split('\n');
  for (const expected of [
    'netns_exporter_read_errors_total{reason="vanished"} 1',
    'netns_exporter_read_errors_total{reason="timeout"} 1',
    'netns_exporter_read_errors_total{reason="proc_file"} 2',
    'netns_exporter_build_info{version="0.0.0-golden",revision="golden",nodeversion="v20.0.0"} 1',
  ]) assert.ok(lines.includes(expected), `missing: ${expected}`);
  assert.ok(lines.some((line) => line.includes('router="27e6b9c0-73c4-4624-9481-eb5c90f109bd"')), 'router label');
  assert.ok(lines.some((line) => line.includes('network="1b5c74fb-56a8-4fbc-8e4e-c30f620b11bd"')), 'network label');
  assert.ok(lines.some((line) => line.includes('device="v\\"é\\\\x"')), 'odd device name escaped');
  assert.not.ok(lines.some((line) => line.includes('9f8e7d6c') || line.includes('0a9e8c7b')), 'failed namespaces are omitted');
});

test.run();
