/**
 * One shard of the simulated fleet, run as its own node process by bench/fleet.ts (so several
 * shards use several cores and none holds the whole fleet's heap). Each simulated node is a real
 * PushgatewayTarget or RemoteWriteTarget with its own HTTP client and its own `instance`, built
 * from packaging/examples/openstack-pushgateway.yaml as operators run it, and fed a fresh registry
 * each cycle (counters moving) on the agent's schedule: splay first, then interval + jitter.
 * Reports its pushes and its own CPU to the parent over IPC, then exits.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { parse } from 'yaml';
import { PushgatewayTarget } from '../agent/targets/pushgateway.js';
import { RemoteWriteTarget } from '../agent/targets/remoteWrite.js';
import type { PushTarget } from '../agent/targets/target.js';
import { parseConfig } from '../shared/config/schema.js';
import type { Config } from '../shared/config/configTypes.js';
import { cycleFamilies } from '../shared/metrics/families.js';
import { FamilyTable } from '../shared/metrics/familyTable.js';
import { cycleExposition } from '../shared/metrics/exposition.js';
import { remoteWriteFigures } from '../test/helpers/remoteWrite.js';
import type { Snapshot } from '../shared/snapshot.js';
import { syntheticSnapshot } from '../test/helpers/snapshot.js';
import type { PushRecord } from './fleetFigures.js';

export type Protocol = 'pushgateway' | 'remote_write';

export interface ShardPlan {
  protocol: Protocol;
  /** Pushgateway base URL, or the remote_write URL. */
  url: string;
  firstNode: number;
  nodes: number;
  namespaces: number;
  devices: number;
  intervalMs: number;
  splayMs: number;
  jitterMs: number;
  /** Epoch ms: every shard starts its nodes' splay from here, so shards start together. */
  startAtMs: number;
  /** Epoch ms: no cycle starts after this. */
  endAtMs: number;
}

export interface ShardReport {
  pushes: PushRecord[];
  /** This process's CPU over the run (user + system), seconds. */
  cpuSeconds: number;
  maxRssKb: number;
  /**
   * The 99th percentile of this process's event-loop delay: above a second or so the simulated
   * nodes are starved (too many on too few cores) and their latencies measure the client.
   */
  loopLagP99Ms: number;
  errors: Record<string, number>;
}

const EXAMPLE = new URL('../../packaging/examples/openstack-pushgateway.yaml', import.meta.url);
const BUILD = { version: 'bench', revision: '', nodeversion: process.version };

/** The shipped OpenStack example with its push section pointed at the local receiver, as node `hostname`. */
export function nodeConfig(plan: ShardPlan, hostname: string): Config {
  const raw = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
  raw.interval = `${plan.intervalMs}ms`;
  raw.read_timeout = `${Math.min(plan.intervalMs, 10_000)}ms`;
  raw.splay = `${plan.splayMs}ms`;
  raw.jitter = `${plan.jitterMs}ms`;
  delete raw.health;
  raw.push = plan.protocol === 'pushgateway'
    ? { pushgateway: { url: plan.url, job: 'netns_exporter', timeout: '10s' } }
    : { remote_write: { url: plan.url, timeout: '10s' } };
  const result = parseConfig(raw, { hostname, env: {}, readFile: () => '' });
  if (!result.ok) throw new Error(`bench config: ${result.errors.join('; ')}`);
  return result.config;
}

/** Neutron-like names (routers and DHCP namespaces), so the openstack preset's labels are filled. */
function namespaceNames(count: number, node: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const id = `${node.toString(16).padStart(8, '0')}-5f6e-4c1a-9d2b-${index.toString(16).padStart(12, '0')}`;
    return index % 3 === 2 ? `qdhcp-${id}` : `qrouter-${id}`;
  });
}

/** The node's cycle: counters grow with the cycle, conntrack moves a little. */
function cycleSnapshot(names: readonly string[], devices: number, cycle: number): Snapshot {
  const snapshot = syntheticSnapshot({ names, devices, offset: cycle * 7_919, timestampMs: Date.now() });
  for (const [index, result] of snapshot.results.entries()) {
    if (result.ok) result.sample.proc = { nf_conntrack_count: 100 + ((index * 31 + cycle * 17) % 900), nf_conntrack_max: 262_144 };
  }
  return snapshot;
}

function createTarget(config: Config): PushTarget {
  const deps = { logger: pino({ level: 'silent' }), version: 'bench' };
  if (config.push.pushgateway !== null) return new PushgatewayTarget(config.push.pushgateway, deps);
  return new RemoteWriteTarget(config.push.remoteWrite!, deps);
}

/** The parent's "stop now" (a receiver past its memory bound): no new cycle starts after it. */
const stopping = new AbortController();
// Every sleeping node listens on it: hundreds of listeners are expected, not a leak.
setMaxListeners(0, stopping.signal);

/** Resolves after `ms`, or sooner when that is past `untilMs` or the parent says stop. */
function sleepUntil(ms: number, untilMs: number): Promise<void> {
  const wait = Math.max(0, Math.min(ms, untilMs - Date.now()));
  return new Promise((resolve) => {
    if (stopping.signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      stopping.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    stopping.signal.addEventListener('abort', done, { once: true });
  });
}

async function runNode(plan: ShardPlan, node: number, report: ShardReport): Promise<void> {
  const config = nodeConfig(plan, `node-${String(node).padStart(5, '0')}`);
  const target = createTarget(config);
  const names = namespaceNames(plan.namespaces, node);
  const perSend = config.push.remoteWrite?.maxSamplesPerSend ?? 1;
  // The families' slots are kept between cycles, as the agent keeps them.
  const table = new FamilyTable();
  await target.start();
  try {
    await sleepUntil(plan.startAtMs - Date.now() + Math.random() * config.splayMs, plan.endAtMs);
    for (let cycle = 0; Date.now() < plan.endAtMs && !stopping.signal.aborted; cycle++) {
      const startMs = Date.now();
      const snapshot = cycleSnapshot(names, plan.devices, cycle);
      const families = cycleFamilies(snapshot, config, BUILD, null, table);
      const registry = cycleExposition(families);
      const sentBefore = remoteWriteFigures(target).sentSamples;
      // The loop's deadline: a push must finish before the next cycle is due.
      const outcome = await target.push({ snapshot, registry, families }, startMs + Math.max(config.intervalMs - (Date.now() - startMs), 1_000));
      const batches = target.name === 'remote_write' ? Math.max(1, Math.ceil((remoteWriteFigures(target).sentSamples - sentBefore) / perSend)) : 1;
      report.pushes.push({
        startMs, ms: outcome.durationMs, requests: outcome.attempts, retries: Math.max(0, outcome.attempts - batches), ok: outcome.ok,
      });
      if (!outcome.ok) {
        const key = (outcome.error ?? 'unknown').replace(/\d+/g, 'N').slice(0, 120);
        report.errors[key] = (report.errors[key] ?? 0) + 1;
      }
      const elapsed = Date.now() - startMs;
      await sleepUntil(Math.max(0, config.intervalMs - elapsed) + Math.random() * config.jitterMs, plan.endAtMs);
    }
  } finally {
    await target.stop(Date.now() + 5_000);
  }
}

export async function runShard(plan: ShardPlan): Promise<ShardReport> {
  const report: ShardReport = { pushes: [], cpuSeconds: 0, maxRssKb: 0, loopLagP99Ms: 0, errors: {} };
  const cpuBefore = process.cpuUsage();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const nodes = Array.from({ length: plan.nodes }, (_, index) => plan.firstNode + index);
  await Promise.all(nodes.map((node) => runNode(plan, node, report)));
  const cpu = process.cpuUsage(cpuBefore);
  report.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  report.maxRssKb = process.resourceUsage().maxRSS;
  lag.disable();
  report.loopLagP99Ms = lag.percentile(99) / 1e6;
  return report;
}

/** Samples per node and cycle (what one node sends), counted from one cycle's families. */
export async function samplesPerNode(plan: ShardPlan): Promise<number> {
  const config = nodeConfig(plan, 'node-00000');
  const families = cycleFamilies(cycleSnapshot(namespaceNames(plan.namespaces, 0), plan.devices, 0), config, BUILD, null);
  return families.reduce((sum, family) => sum + family.count, 0);
}

// Run as a child of bench/fleet.ts: the plan comes as JSON in argv, the report goes back over IPC.
if (process.send !== undefined && process.env.NETNS_EXPORTER_FLEET_SHARD === '1') {
  const plan = JSON.parse(process.argv[2] ?? '{}') as ShardPlan;
  // The parent going away (Ctrl-C, a crash) must not leave a shard pushing.
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message) => {
    if (message === 'stop') stopping.abort();
  });
  runShard(plan).then(
    (report) => process.send!({ report }, () => process.exit(0)),
    (error: Error) => process.send!({ error: error.message }, () => process.exit(1)),
  );
}
