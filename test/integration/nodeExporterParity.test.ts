import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { cleanupNamespaces, inNs } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { addTcpPair, connectFromClient, type TcpPair } from '../helpers/tcpTraffic.js';

/**
 * Debian's node_exporter (1.5) run inside a test namespace against the agent reading the same
 * namespace: the families docs/metrics.md says carry over with only the prefix changed have the
 * same type and the same value, and each row of its node_network_* table gives node_exporter's
 * value from ours. Values are compared between two node_exporter scrapes taken around the agent's
 * read, so a counter that moved in between still has to fall inside.
 */
const test = suite('node_exporter 1.5 and the agent agree on one namespace');
const PORT = 19_100 + (process.pid % 800);
const REFERENCE = readFileSync(fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url)), 'utf8');
let pair: TcpPair;
let exporter: ChildProcess;

type Exposition = { types: Map<string, string>; values: Map<string, number> };

/** `name{labels}` → value (labels as printed, sorted by the exporters alike), and each family's type. */
function parseExposition(text: string): Exposition {
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match) values.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return { types, values };
}

function scrapeNodeExporter(): Exposition {
  return parseExposition(inNs(pair.server, ['curl', '-s', `http://127.0.0.1:${PORT}/metrics`]));
}

test.before(async () => {
  pair = addTcpPair('nodex');
  connectFromClient(pair, 2, 500); // some TCP and conntrack figures that are not 0
  exporter = spawn('ip', ['netns', 'exec', pair.server, 'prometheus-node-exporter', `--web.listen-address=127.0.0.1:${PORT}`,
    '--collector.disable-defaults', '--collector.netdev', '--collector.netclass', '--collector.netstat', '--collector.conntrack'], { stdio: 'ignore' });
  await waitFor('node_exporter listening', async () => scrapeNodeExporter().values.size > 0);
});

test.after(() => {
  exporter?.kill('SIGKILL');
  cleanupNamespaces();
});

function agentExposition(): Exposition {
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${pair.server}$` },
    interface_metrics: [...INTERFACE_STATS],
    collectors: { netstat: { enabled: true }, conntrack: { enabled: true } },
  }, 'node-exporter');
  const run = runAgent(['--dry-run', '--config', config]);
  assert.is(run.status, 0, run.stderr);
  return parseExposition(run.stdout);
}

/** Our series of one family for the namespace (and device), whatever the configured labels. */
function ours(exposition: Exposition, name: string, device?: string): number | undefined {
  for (const [key, value] of exposition.values) {
    if (!key.startsWith(`${name}{`)) continue;
    if (device === undefined || key.includes(`device="${device}"`)) return value;
  }
  return undefined;
}

test('netstat and conntrack: same names after the prefix, same types, same values', () => {
  const before = scrapeNodeExporter();
  const agent = agentExposition();
  const after = scrapeNodeExporter();
  const carried = [...before.types.keys()].filter((name) => /^node_(netstat|nf_conntrack)_/.test(name));
  assert.ok(carried.filter((name) => name.startsWith('node_netstat_')).length >= 30, carried.join(', '));
  assert.ok(carried.includes('node_nf_conntrack_stat_found'), 'conntrack statistics');
  for (const name of carried) {
    // node_exporter's own scrape is a TCP connection established in this namespace while it reads.
    if (name === 'node_netstat_Tcp_CurrEstab') continue;
    const ourName = name.replace(/^node_/, 'netns_');
    assert.is(agent.types.get(ourName), before.types.get(name), `${ourName}: type`);
    const value = ours(agent, ourName)!;
    const low = Math.min(before.values.get(name)!, after.values.get(name)!);
    const high = Math.max(before.values.get(name)!, after.values.get(name)!);
    assert.ok(value >= low && value <= high, `${ourName} = ${value}, node_exporter ${low}..${high}`);
  }
});

test('every row of the node_network_* table gives node_exporter\'s value from ours', () => {
  const device = `nx${process.pid % 10000}s`;
  inNs(pair.server, ['ip', 'link', 'set', device, 'mtu', '1400']);
  const before = scrapeNodeExporter();
  const agent = agentExposition();
  const after = scrapeNodeExporter();
  const table = REFERENCE.slice(REFERENCE.indexOf("### From node_exporter's"), REFERENCE.indexOf('### proc_metrics naming'));
  const rows = table.split('\n').filter((line) => /^\| `node_network_[a-z_]+` \|/.test(line));
  assert.ok(rows.length >= 19, `${rows.length} rows`);
  for (const row of rows) {
    const name = /^\| `(node_network_[a-z_]+)`/.exec(row)![1]!;
    const terms = [...row.split('|')[2]!.matchAll(/`(netns_network_[a-z_]+)`/g)].map((match) => match[1]!);
    const sum = terms.reduce((total, term) => total + ours(agent, term, device)!, 0);
    const key = `${name}{device="${device}"}`;
    assert.ok(before.values.has(key), `node_exporter has ${key}`);
    const low = Math.min(before.values.get(key)!, after.values.get(key)!);
    const high = Math.max(before.values.get(key)!, after.values.get(key)!);
    assert.ok(sum >= low && sum <= high, `${name} = ${terms.join(' + ')} = ${sum}, node_exporter ${low}..${high}`);
  }
});

runWhen(test, ['root', 'ip', 'iptables', 'curl', 'node-exporter'], 'node_exporter parity');
