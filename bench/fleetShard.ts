/**
 * One shard of the simulated fleet, run as its own node process by bench/fleet.ts (so several
 * shards use several cores and none holds the whole fleet's heap). Each simulated node is a real
 * PushgatewayTarget or RemoteWriteTarget with its own HTTP client, buffer, family table and series
 * cache and its own `instance`, built from packaging/examples/openstack-pushgateway.yaml as
 * operators run it, and runs the agent's own steps each cycle on the agent's schedule (splay first,
 * then interval + jitter): families from a snapshot whose values and timestamp are new, then the
 * target's push. Reports its pushes and its own CPU to the parent over IPC, then exits.
 *
 * What a node keeps is what the agent keeps; what the simulation itself needs is shared by the
 * shard's nodes: one snapshot whose values are set in place for each node's cycle (the agent's
 * reader makes a new one; a simulated node would otherwise hold one and make another each cycle),
 * one silent logger, and the example's YAML parsed once.
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
import { INTERFACE_STATS } from '../shared/interfaceStats.js';
import { remoteWriteFigures } from '../test/helpers/remoteWrite.js';
import type { Namespace, Snapshot } from '../shared/snapshot.js';
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
  /**
   * CPU after every node's first push (which encodes each series' labels once) to the end, and the
   * samples the pushes started in that window delivered: the steady cost per sample. Null when some
   * node never finished a first push.
   */
  steady: { cpuSeconds: number; samples: number } | null;
}

const EXAMPLE = new URL('../../packaging/examples/openstack-pushgateway.yaml', import.meta.url);
const BUILD = { version: 'bench', revision: '', nodeversion: process.version };
let example: string | null = null;

/** The shipped OpenStack example with its push section pointed at the local receiver, as node `hostname`. */
export function nodeConfig(plan: ShardPlan, hostname: string): Config {
  example ??= readFileSync(EXAMPLE, 'utf8');
  const raw = parse(example) as Record<string, unknown>;
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

/** A node's namespaces: Neutron-like names (routers and DHCP) carrying the node, so the openstack preset's labels are filled. */
function nodeNamespaces(count: number, node: number): Namespace[] {
  return Array.from({ length: count }, (_, index) => {
    const id = `${node.toString(16).padStart(8, '0')}-5f6e-4c1a-9d2b-${index.toString(16).padStart(12, '0')}`;
    const name = index % 3 === 2 ? `qdhcp-${id}` : `qrouter-${id}`;
    return { name, path: `/run/netns/${name}`, inode: 4026532000 + index };
  });
}

/**
 * The shard's one synthetic snapshot (`namespaces` × `devices`), built once. `forNode` sets a
 * node's namespaces and this cycle's values in place: every counter grows with the cycle and
 * differs from node to node, conntrack moves; the families are built from it at once
 * (cycleFamilies copies the values into the node's own table and keeps only immutable strings:
 * names, device names, addresses), before another node's turn.
 */
export class ShardSnapshot {
  readonly #snapshot: Snapshot;

  constructor(namespaces: number, devices: number) {
    this.#snapshot = syntheticSnapshot({ names: nodeNamespaces(namespaces, 0).map((ns) => ns.name), devices });
  }

  forNode(namespaces: readonly Namespace[], node: number, cycle: number, timestampMs: number): Snapshot {
    const snapshot = this.#snapshot;
    snapshot.timestampMs = timestampMs;
    const offset = node * 10_000_000_000 + cycle * 7_919;
    for (let index = 0; index < snapshot.results.length; index++) {
      const result = snapshot.results[index]!;
      result.ns = namespaces[index]!;
      if (!result.ok) continue;
      const interfaces = result.sample.interfaces;
      for (let device = 0; device < interfaces.length; device++) {
        const stats = interfaces[device]!.stats;
        const base = offset + index * 1_000_000 + device * 1_000;
        for (let stat = 0; stat < INTERFACE_STATS.length; stat++) stats[INTERFACE_STATS[stat]!] = base + stat;
      }
      const proc = result.sample.proc;
      proc.nf_conntrack_count = 100 + ((index * 31 + cycle * 17 + node) % 900);
      proc.nf_conntrack_max = 262_144;
    }
    return snapshot;
  }
}

/** One silent logger for every node of the shard: a node's log lines would go nowhere anyway. */
const LOGGER = pino({ level: 'silent' });

function createTarget(config: Config): PushTarget {
  const deps = { logger: LOGGER, version: 'bench' };
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

/** What the shard counts while its nodes run. */
interface ShardState {
  plan: ShardPlan;
  report: ShardReport;
  snapshot: ShardSnapshot;
  /** Nodes that finished their first push; when all have, the steady window opens. */
  warm: number;
  steadyFrom: { atMs: number; cpu: NodeJS.CpuUsage } | null;
  steadySamples: number;
}

async function runNode(state: ShardState, node: number): Promise<void> {
  const { plan, report } = state;
  const config = nodeConfig(plan, `node-${String(node).padStart(5, '0')}`);
  const target = createTarget(config);
  const namespaces = nodeNamespaces(plan.namespaces, node);
  // The families' slots are kept between cycles, as the agent keeps them.
  const table = new FamilyTable();
  await target.start();
  try {
    await sleepUntil(plan.startAtMs - Date.now() + Math.random() * config.splayMs, plan.endAtMs);
    for (let cycle = 0; Date.now() < plan.endAtMs && !stopping.signal.aborted; cycle++) {
      const startMs = Date.now();
      const snapshot = state.snapshot.forNode(namespaces, node, cycle, startMs);
      const families = cycleFamilies(snapshot, config, BUILD, null, table);
      const registry = cycleExposition(families);
      const sentBefore = remoteWriteFigures(target).sentSamples;
      const inSteadyWindow = state.steadyFrom !== null;
      // The shared snapshot changes at the next node's turn: the targets read only its timestamp,
      // the families (this node's own table) carry the values.
      const cycleOutput = { snapshot: { ...snapshot, results: [] }, registry, families };
      // The loop's deadline: a push must finish before the next cycle is due.
      const outcome = await target.push(cycleOutput, startMs + Math.max(config.intervalMs - (Date.now() - startMs), 1_000));
      const samples = target.name === 'remote_write'
        ? remoteWriteFigures(target).sentSamples - sentBefore
        : outcome.ok ? families.reduce((sum, family) => sum + family.count, 0) : 0;
      const batches = target.name === 'remote_write' ? Math.max(1, Math.ceil(samples / (config.push.remoteWrite?.maxSamplesPerSend ?? 1))) : 1;
      report.pushes.push({
        startMs, ms: outcome.durationMs, requests: outcome.attempts, retries: Math.max(0, outcome.attempts - batches), ok: outcome.ok, cycle, samples,
      });
      if (inSteadyWindow) state.steadySamples += samples;
      if (cycle === 0 && ++state.warm === plan.nodes) {
        state.steadyFrom = { atMs: Date.now(), cpu: process.cpuUsage() };
        // The driver opens the receiver's steady window once every shard has said so.
        process.send?.({ warm: true });
      }
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
  const report: ShardReport = { pushes: [], cpuSeconds: 0, maxRssKb: 0, loopLagP99Ms: 0, errors: {}, steady: null };
  const cpuBefore = process.cpuUsage();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const state: ShardState = { plan, report, snapshot: new ShardSnapshot(plan.namespaces, plan.devices), warm: 0, steadyFrom: null, steadySamples: 0 };
  const nodes = Array.from({ length: plan.nodes }, (_, index) => plan.firstNode + index);
  await Promise.all(nodes.map((node) => runNode(state, node)));
  const cpu = process.cpuUsage(cpuBefore);
  report.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (state.steadyFrom !== null) {
    const steadyCpu = process.cpuUsage(state.steadyFrom.cpu);
    report.steady = { cpuSeconds: (steadyCpu.user + steadyCpu.system) / 1e6, samples: state.steadySamples };
  }
  report.maxRssKb = process.resourceUsage().maxRSS;
  lag.disable();
  report.loopLagP99Ms = lag.percentile(99) / 1e6;
  return report;
}

/** Samples per node and cycle (what one node sends), counted from one cycle's families. */
export async function samplesPerNode(plan: ShardPlan): Promise<number> {
  const config = nodeConfig(plan, 'node-00000');
  const families = cycleFamilies(new ShardSnapshot(plan.namespaces, plan.devices).forNode(nodeNamespaces(plan.namespaces, 0), 0, 0, Date.now()), config, BUILD, null);
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
