import { readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';

/**
 * The README's series per example, computed from each shipped example's real `--dry-run` on a test
 * namespace with two interfaces: a series with a `device` label is per interface, one with `netns`
 * alone per namespace; the rest, the agent's own once per node, the README gives apart. netstat's count depends on the
 * kernel's /proc/net/snmp, netstat and snmp6 fields: the README names the kernel it was counted on,
 * and on another kernel that column alone is not compared.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = path.join(ROOT, 'packaging', 'examples');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const DEVICES = 2;
const NODE = { namespaces: 200, interfaces: 3 };

const test = suite('README sizing: series per example, from --dry-run');
const NS = `${TEST_PREFIX}size`;

interface Sizing { perNamespace: number; perInterface: number; perNode: number; netstat: number }

test.before(() => {
  addNamespace('size');
  addVeth({ ns: NS, dev: 'sz0' }, { ns: NS, dev: 'sz1' });
});
test.after(() => cleanupNamespaces());

/** The example as shipped, reading the test namespace only and pushing nowhere (--dry-run builds no target). */
function dryRunOf(name: string): string {
  const raw = parse(readFileSync(path.join(EXAMPLES, name), 'utf8')) as Record<string, unknown>;
  delete raw.push;
  const config = { ...raw, netns_dirs: ['/run/netns'], namespaces_filter: { whitelist_pattern: `^${NS}$` }, splay: '0s' };
  const run = runAgent(['--dry-run', '--config', writeConfig(config, 'sizing')], { env: { NETNS_EXPORTER_PUSHGATEWAY_URL: '', NETNS_EXPORTER_REMOTE_WRITE_URL: '' } });
  assert.is(run.status, 0, `${name}: ${run.stderr}`);
  return run.stdout;
}

function sizing(exposition: string): Sizing {
  const series = exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const perInterfaceSeries = series.filter((line) => /[{,]device="/.test(line)).length;
  const perNamespace = series.filter((line) => !/[{,]device="/.test(line) && /[{,]netns="/.test(line)).length;
  assert.is(perInterfaceSeries % DEVICES, 0, 'each interface has the same series');
  const perInterface = perInterfaceSeries / DEVICES;
  // The agent's own figures (once per node) change with each self-metric added: the README states them apart.
  return {
    perNamespace,
    perInterface,
    perNode: NODE.namespaces * (perNamespace + NODE.interfaces * perInterface),
    netstat: series.filter((line) => line.startsWith('netns_netstat_')).length,
  };
}

/** "| [name](packaging/examples/name) | per namespace | per interface | netstat | per node |" */
function readmeRow(name: string): string[] | null {
  const line = README.split('\n').find((row) => row.startsWith(`| [${name}](packaging/examples/${name}) |`));
  return line === undefined ? null : line.split('|').slice(2, -1).map((cell) => cell.trim());
}

const number = (text: string) => Number(text.replace(/,/g, ''));
/** The kernel the README's netstat column was counted on ("... on Linux 6.18 ..."). */
const countedOn = /series per example[^]*?Linux (\d+\.\d+)/i.exec(README)?.[1];

test('the README gives each shipped example its series per namespace, per interface and per node', () => {
  assert.ok(countedOn !== undefined, 'the README names the kernel the table was counted on');
  const sameKernel = release().startsWith(`${countedOn}.`);
  const examples = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).sort();
  assert.ok(examples.length >= 8);
  for (const name of examples) {
    const figures = sizing(dryRunOf(name));
    const row = readmeRow(name);
    assert.ok(row !== null, `the README's sizing table has no row for ${name} (computed: ${JSON.stringify(figures)})`);
    const [perNamespace, perInterface, netstat, perNode] = row!.map(number);
    assert.is(perInterface, figures.perInterface, `${name}: per interface`);
    if (sameKernel) {
      assert.is(perNamespace, figures.perNamespace, `${name}: per namespace`);
      assert.is(netstat, figures.netstat, `${name}: netstat`);
      assert.is(perNode, figures.perNode, `${name}: per node of ${NODE.namespaces} × ${NODE.interfaces}`);
    } else {
      // Another kernel has other netstat fields: everything but them still matches.
      assert.is(perNamespace! - netstat!, figures.perNamespace - figures.netstat, `${name}: per namespace without netstat`);
    }
  }
});

test('no shipped example or README states a series count that differs from the computed one', () => {
  const computed = new Map(readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).map((name) => [name, sizing(dryRunOf(name))]));
  for (const [name, figures] of computed) {
    const text = readFileSync(path.join(EXAMPLES, name), 'utf8');
    for (const match of text.matchAll(/([\d,]+) series per (namespace|interface|node)/g)) {
      const stated = number(match[1]!);
      const expected = match[2] === 'namespace' ? figures.perNamespace : match[2] === 'interface' ? figures.perInterface : figures.perNode;
      assert.is(stated, expected, `${name} says "${match[0]}"`);
    }
  }
  // The fleet benchmark's figure is not the example's: the README must not size the example by it.
  assert.not.ok(README.includes('the OpenStack example config and 200 namespaces × 3 devices (7,201 series per push)'), 'the stale per-node figure');
  assert.not.ok(README.includes('20–30 nodes of 7,000 series'), 'the stale node count');
  assert.not.match(readFileSync(path.join(EXAMPLES, 'remote-write-prometheus.yaml'), 'utf8'), /about 6,800/);
});

runWhen(test, ['root', 'ip'], 'sizing from the examples');
