/**
 * `npm run bench -- fleet`: how many nodes one receiver takes. Simulates N nodes on this machine
 * with the agent's own push targets (bench/fleetShard.ts, in shard processes of --shard-size nodes)
 * pushing into a real local receiver on loopback for --duration, then reports push latency,
 * failures and retries, the receiver's CPU and RSS, the clients' own CPU (so a saturated client is
 * visible, not mistaken for a slow receiver) and, for the Pushgateway, one scrape of /metrics.
 * Then the thundering herd: the same run with splay and jitter off and on.
 *
 * The receiver and the simulated nodes run on different CPUs (`--pin`, taskset's affinity, which a
 * child takes from the thread that forks it), so each side's CPU is its own and neither steals the
 * other's: the receiver's figures, and the nodes' CPU per sample, are read apart.
 *
 * Every run is bounded: pushes stop at --duration, a receiver past --max-rss is stopped and
 * reported as the knee, shards that outlive their run are killed, and receivers (with their
 * temporary data) are stopped on success, failure and Ctrl-C alike.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { nodeFlagsOfShebang } from './cycleFigures.js';
import {
  averageCores, clientCpuPerSample, parseDurationArg, parsePin, peakPerSecond, quantile, receiverCpuPerSample, type Pinning, type PushRecord,
} from './fleetFigures.js';
import { DEFAULT_RECEIVERS, ProcessSampler, RECEIVER_KINDS, scrapeOnce, startReceiver, type Receiver, type ReceiverKind, type ScrapeResult } from './fleetReceivers.js';
import { samplesPerNode, type ShardPlan, type ShardReport } from './fleetShard.js';
import { fixed, formatTable } from './figures.js';

interface FleetOptions {
  nodes: number[];
  receivers: ReceiverKind[];
  durationMs: number;
  intervalMs: number;
  splayMs: number;
  jitterMs: number;
  namespaces: number;
  devices: number;
  /** Nodes of the herd comparison; 0 leaves it out. */
  herdNodes: number;
  herdReceiver: ReceiverKind;
  /** A run where more than this share of pushes failed is the knee: larger fleets are not tried. */
  maxFailedShare: number;
  shardSize: number;
  maxRssMiB: number;
  /** A shard whose event loop lags more than this (p99) is starved: its figures measure the client. */
  maxClientLagMs: number;
  /** All shards together: the simulated fleet must not take the machine's memory either. */
  maxClientRssMiB: number;
  scrapeTimeoutMs: number;
  /** Receiver and nodes on different CPUs, or null. */
  pin: Pinning | null;
}

const FLEET_DEFAULTS: FleetOptions = {
  // From below the default Pushgateway's knee up; each receiver stops at its own knee.
  nodes: [10, 30, 100, 300, 1000, 3000],
  receivers: [...DEFAULT_RECEIVERS],
  durationMs: 120_000,
  // The shipped packaging/examples/openstack-pushgateway.yaml: 30 s, splay 15 s, jitter 2 s.
  intervalMs: 30_000,
  splayMs: 15_000,
  jitterMs: 2_000,
  namespaces: 200,
  // lo and 3 interfaces: the example's device_filter drops lo (in the families), so 7,201 series per push.
  devices: 4,
  herdNodes: 300,
  herdReceiver: 'pushgateway',
  maxFailedShare: 0.1,
  // A shard process costs ~60 MiB before its first node: 250 nodes share it (a node's cycle is a
  // few ms of CPU, so 250 on one event loop do not lag).
  shardSize: 250,
  maxClientLagMs: 1_000,
  maxRssMiB: 8_192,
  maxClientRssMiB: 6_144,
  scrapeTimeoutMs: 120_000,
  pin: parsePin('auto', cpus().length),
};

/** The agent as installed runs with the V8 flags of its shebang; so does every simulated node. */
const SHARD_FLAGS = nodeFlagsOfShebang(readFileSync(new URL('../agent/main.js', import.meta.url), 'utf8').split('\n')[0]!);

/**
 * Sets the CPUs this process's main thread may run on (taskset -p: that thread only). What it
 * forks or spawns from now on starts there: the receivers and shards are started from this thread.
 */
function pinMainThread(cpuList: string): void {
  execFileSync('taskset', ['-p', '-c', cpuList, String(process.pid)], { stdio: 'ignore' });
}

/** The CPUs a process may run on, as /proc shows them ("1", "0-1"), or "?" once it has gone. */
function allowedCpus(pid: number): string {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

interface RunSpec {
  kind: ReceiverKind;
  nodes: number;
  splayMs: number;
  jitterMs: number;
}

interface RunResult {
  spec: RunSpec;
  pushes: PushRecord[];
  receiver: {
    avgCores: number; peakCores: number; peakRssMiB: number; wallSeconds: number;
    /** From the moment every node had pushed once (its series known): cores, and µs per sample of the pushes started then. */
    steadyCores: number | null; steadyUsPerSample: number | null;
  };
  /** When every node had pushed once (epoch ms), or null if some never did. */
  steadyFromMs: number | null;
  client: { cores: number; rssMiB: number; loopLagP99Ms: number; steadyUsPerSample: number | null; wholeUsPerSample: number | null };
  /** Where each side ran: the CPUs /proc allowed the receiver and the first shard, read while running. */
  cpus: { receiver: string; nodes: string };
  scrape: ScrapeResult | null;
  /** Why the run ended early (the knee), or null. */
  stopped: string | null;
  errors: Record<string, number>;
  load: [number, number];
  receiverPid: number;
  receiverDir: string;
}

/** What Ctrl-C must undo: running shards and receivers. */
const cleanups = new Set<() => Promise<void>>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`fleet: ${signal}, stopping shards and receivers`);
      const all = Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
      void Promise.race([all, new Promise((resolve) => setTimeout(resolve, 8_000))]).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

function forkShard(plan: ShardPlan, onWarm: () => void): { child: ChildProcess; report: Promise<ShardReport> } {
  const child = fork(new URL('./fleetShard.js', import.meta.url), [JSON.stringify(plan)], {
    env: { ...process.env, NETNS_EXPORTER_FLEET_SHARD: '1' },
    execArgv: SHARD_FLAGS,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const report = new Promise<ShardReport>((resolve, reject) => {
    child.on('message', (message: { report?: ShardReport; error?: string; warm?: true }) => {
      if (message.warm === true) onWarm();
      else if (message.report) resolve(message.report);
      else reject(new Error(`shard failed: ${message.error}`));
    });
    child.once('exit', (code, signal) => reject(new Error(`shard exited (${signal ?? code}) without a report`)));
  });
  report.catch(() => undefined);
  return { child, report };
}

function killShard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function runOnce(spec: RunSpec, options: FleetOptions, progress: (line: string) => void): Promise<RunResult> {
  const load1 = loadavg()[0]!;
  const original = options.pin === null ? null : allowedCpus(process.pid);
  if (options.pin !== null) pinMainThread(options.pin.receiver.join(','));
  let receiver: Receiver;
  try {
    receiver = await startReceiver(spec.kind);
  } catch (error) {
    if (original !== null) pinMainThread(original);
    throw error;
  }
  // The shards are forked from here on: on the nodes' CPUs.
  if (options.pin !== null) pinMainThread(options.pin.nodes.join(','));
  const receiverPid = receiver.server.process.pid!;
  const shards: ChildProcess[] = [];
  let receiverStopped = false;
  const stopReceiver = async () => {
    if (receiverStopped) return;
    receiverStopped = true;
    await receiver.server.stop();
  };
  const cleanup = async () => {
    for (const child of shards) killShard(child);
    await stopReceiver();
    if (original !== null) pinMainThread(original);
  };
  cleanups.add(cleanup);
  try {
    const startAtMs = Date.now() + 1_500;
    const endAtMs = startAtMs + options.durationMs;
    const reports: Promise<ShardReport>[] = [];
    // Once every node has pushed once (all series known to the receiver), the steady window opens.
    let warmShards = 0;
    let steadyFromMs: number | null = null;
    let sampler: ProcessSampler | null = null;
    const onWarm = () => {
      if (++warmShards < reports.length || sampler === null) return;
      sampler.sample();
      sampler.tracker(receiverPid).mark();
      steadyFromMs = Date.now();
      progress(`  every node has pushed once after ${Math.round((steadyFromMs - startAtMs) / 1000)} s: steady from here`);
    };
    for (let first = 0; first < spec.nodes; first += options.shardSize) {
      const plan: ShardPlan = {
        protocol: receiver.protocol, url: receiver.pushUrl, firstNode: first, nodes: Math.min(options.shardSize, spec.nodes - first),
        namespaces: options.namespaces, devices: options.devices, intervalMs: options.intervalMs,
        splayMs: spec.splayMs, jitterMs: spec.jitterMs, startAtMs, endAtMs,
      };
      const shard = forkShard(plan, onWarm);
      shards.push(shard.child);
      reports.push(shard.report);
    }
    let stopped: string | null = null;
    const stopEarly = (why: string) => {
      if (stopped !== null) return;
      stopped = why;
      progress(`  ${spec.kind} at ${spec.nodes} nodes: ${why}; stopping the run`);
      for (const child of shards) if (child.connected) child.send('stop');
      // Memory first: the receiver goes now, the shards' remaining pushes fail fast.
      void stopReceiver();
    };
    const shardPids = shards.map((child) => child.pid!);
    const where = { receiver: allowedCpus(receiverPid), nodes: allowedCpus(shardPids[0]!) };
    sampler = new ProcessSampler([receiverPid, ...shardPids], (self) => {
      const rssMiB = self.tracker(receiverPid).usage().lastRssKb / 1024;
      const clientMiB = self.lastRssKb(shardPids) / 1024;
      if (rssMiB > options.maxRssMiB) stopEarly(`receiver RSS ${Math.round(rssMiB)} MiB > ${options.maxRssMiB} MiB`);
      else if (clientMiB > options.maxClientRssMiB) stopEarly(`client bound: simulated nodes' RSS ${Math.round(clientMiB)} MiB > ${options.maxClientRssMiB} MiB`);
      else if (receiver.server.process.exitCode !== null || receiver.server.process.signalCode !== null) {
        if (!receiverStopped) stopEarly(`receiver exited (${receiver.server.process.exitCode ?? receiver.server.process.signalCode})`);
      }
    });
    sampler.start();
    const scrape = receiver.protocol === 'pushgateway'
      ? delay(startAtMs + (options.durationMs * 2) / 3 - Date.now()).then(() => (receiverStopped ? null : scrapeOnce(receiver.server.url, options.scrapeTimeoutMs)))
      : Promise.resolve(null);
    // A cycle that started just before the end may push for up to one interval more.
    const limit = endAtMs - Date.now() + options.intervalMs + 30_000;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled(reports),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limit))),
    ]).finally(() => clearTimeout(timer));
    const scraped = await scrape;
    sampler.stop();
    for (const child of shards) killShard(child);
    if (settled === null) throw new Error(`shards still running ${Math.round(limit / 1000)} s after the run; killed`);
    const failedShard = settled.find((result) => result.status === 'rejected');
    if (failedShard !== undefined) throw (failedShard as PromiseRejectedResult).reason as Error;
    const shardReports = settled.map((result) => (result as PromiseFulfilledResult<ShardReport>).value);
    const usage = sampler.tracker(receiverPid).usage();
    const errors: Record<string, number> = {};
    for (const report of shardReports) for (const [text, count] of Object.entries(report.errors)) errors[text] = (errors[text] ?? 0) + count;
    const wallSeconds = (Math.min(Date.now(), endAtMs + options.intervalMs) - startAtMs) / 1000;
    const perSample = clientCpuPerSample(shardReports);
    const pushes = shardReports.flatMap((report) => report.pushes);
    return {
      spec,
      pushes,
      receiver: {
        avgCores: averageCores(usage), peakCores: usage.peakCores, peakRssMiB: usage.peakRssKb / 1024, wallSeconds: usage.wallSeconds,
        steadyCores: usage.sinceMark === null || usage.sinceMark.wallSeconds <= 0 ? null : usage.sinceMark.cpuSeconds / usage.sinceMark.wallSeconds,
        steadyUsPerSample: receiverCpuPerSample(usage.sinceMark, pushes, steadyFromMs),
      },
      steadyFromMs,
      client: {
        cores: shardReports.reduce((sum, report) => sum + report.cpuSeconds, 0) / Math.max(1, wallSeconds),
        rssMiB: shardReports.reduce((sum, report) => sum + report.maxRssKb, 0) / 1024,
        loopLagP99Ms: Math.max(0, ...shardReports.map((report) => report.loopLagP99Ms)),
        steadyUsPerSample: perSample.steadyUs,
        wholeUsPerSample: perSample.wholeUs,
      },
      cpus: where,
      scrape: scraped,
      stopped,
      errors,
      load: [load1, loadavg()[0]!],
      receiverPid,
      receiverDir: receiver.server.dir,
    };
  } finally {
    await cleanup();
    cleanups.delete(cleanup);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function pushRow(result: RunResult): string[] {
  const times = result.pushes.map((push) => push.ms);
  const fromMs = result.steadyFromMs;
  const steady = fromMs === null ? [] : result.pushes.filter((push) => push.startMs >= fromMs).map((push) => push.ms);
  const failed = result.pushes.filter((push) => !push.ok).length;
  return [
    result.spec.kind, String(result.spec.nodes), String(result.pushes.length),
    fixed(quantile(times, 0.5), 0), fixed(quantile(times, 0.99), 0), fixed(quantile(steady, 0.5), 0), fixed(quantile(steady, 0.99), 0), String(failed),
    String(result.pushes.reduce((sum, push) => sum + push.retries, 0)), String(peakPerSecond(result.pushes)),
    fixed(result.client.cores, 2), fixed(result.client.steadyUsPerSample, 2), fixed(result.client.wholeUsPerSample, 2),
    fixed(result.client.rssMiB, 0), fixed(result.client.rssMiB / result.spec.nodes, 2), fixed(result.client.loopLagP99Ms, 0),
    `${result.cpus.receiver} / ${result.cpus.nodes}`, `${fixed(result.load[0], 1)}→${fixed(result.load[1], 1)}`,
    result.stopped ?? (failed > 0 ? 'failures' : ''),
  ];
}

const PUSH_HEADER = [
  'receiver', 'nodes', 'pushes', 'p50 ms', 'p99 ms', 'steady p50', 'steady p99', 'failed', 'retries', 'peak req/s',
  'client cores', 'node µs/sample', 'whole run', 'client MiB', 'MiB/node', 'client lag ms', 'CPUs recv / nodes', 'load 1m', 'note',
];

function receiverRow(result: RunResult, samples: number): string[] {
  const delivered = result.pushes.filter((push) => push.ok).length * samples;
  const scrape = result.scrape;
  const series = samples * result.spec.nodes;
  return [
    result.spec.kind, String(result.spec.nodes), `${fixed(series / 1e6, 2)} M`,
    fixed(result.receiver.avgCores, 2), fixed(result.receiver.peakCores, 2),
    delivered === 0 ? 'n/a' : fixed((result.receiver.avgCores * result.receiver.wallSeconds * 1e6) / delivered, 1),
    fixed(result.receiver.steadyCores, 2), fixed(result.receiver.steadyUsPerSample, 1),
    fixed(result.receiver.peakRssMiB, 0), fixed((result.receiver.peakRssMiB * 2 ** 20) / series, 0),
    scrape === null ? '-' : scrape.problem === null ? fixed(scrape.ms / 1000, 1) : `>${fixed(scrape.ms / 1000, 0)}`,
    scrape === null ? '-' : `${fixed(scrape.textBytes / 2 ** 20, 0)} / ${fixed(scrape.bytes / 2 ** 20, 1)}`,
  ];
}

const RECEIVER_HEADER = ['receiver', 'nodes', 'series', 'CPU cores', 'peak cores', 'CPU µs/sample', 'steady cores', 'steady µs/sample', 'RSS MiB', 'RSS B/series', 'scrape s', 'scrape MiB text / gzip'];

/** Runs the whole fleet benchmark and returns the lines to print. */
async function benchFleet(options: FleetOptions, progress: (line: string) => void = (line) => console.error(line)): Promise<string[]> {
  hookSignals();
  const lines: string[] = [];
  const plan: ShardPlan = {
    protocol: 'pushgateway', url: 'http://127.0.0.1:1', firstNode: 0, nodes: 1, namespaces: options.namespaces, devices: options.devices,
    intervalMs: options.intervalMs, splayMs: options.splayMs, jitterMs: options.jitterMs, startAtMs: 0, endAtMs: 0,
  };
  const samples = await samplesPerNode(plan);
  lines.push(
    `fleet: ${options.namespaces} namespaces × ${options.devices} devices per node = ${samples} series per push (packaging/examples/openstack-pushgateway.yaml),`,
    `interval ${options.intervalMs / 1000} s, splay ${options.splayMs / 1000} s, jitter ${options.jitterMs / 1000} s, ${options.durationMs / 1000} s of pushing per run,`,
    `${cpus().length} CPUs, ${fixed(totalmem() / 2 ** 30, 0)} GiB, receiver stopped past ${options.maxRssMiB} MiB RSS,`,
    options.pin === null ? 'receiver and nodes not pinned (--pin off or one CPU): they share the CPUs'
      : `receiver pinned to CPU ${options.pin.receiver.join(',')}, simulated nodes (${options.shardSize} per shard process, node ${SHARD_FLAGS.join(' ') || 'without flags'}) to CPU ${options.pin.nodes.join(',')}`,
  );
  const pushRows: string[][] = [];
  const receiverRows: string[][] = [];
  const results: RunResult[] = [];
  for (const kind of options.receivers) {
    for (const nodes of options.nodes) {
      progress(`fleet: ${kind}, ${nodes} nodes, ${options.durationMs / 1000} s …`);
      const result = await runOnce({ kind, nodes, splayMs: options.splayMs, jitterMs: options.jitterMs }, options, progress);
      results.push(result);
      pushRows.push(pushRow(result));
      receiverRows.push(receiverRow(result, samples));
      progress(`  ${formatTable(PUSH_HEADER, [pushRows[pushRows.length - 1]!]).slice(-1)[0]}`);
      progress(`  ${formatTable(RECEIVER_HEADER, [receiverRows[receiverRows.length - 1]!]).slice(-1)[0]}`);
      // Past the knee a bigger fleet only repeats the verdict (and risks the machine's memory).
      const failed = result.pushes.filter((push) => !push.ok).length;
      if (result.stopped === null && result.client.loopLagP99Ms > options.maxClientLagMs) {
        result.stopped = `client-bound: event loop lag p99 ${Math.round(result.client.loopLagP99Ms)} ms`;
      } else if (result.stopped === null && failed > options.maxFailedShare * result.pushes.length) {
        result.stopped = `knee: ${Math.round((100 * failed) / Math.max(1, result.pushes.length))} % of pushes failed`;
      }
      if (result.stopped !== null) pushRows[pushRows.length - 1]![pushRows[pushRows.length - 1]!.length - 1] = result.stopped;
      if (result.stopped !== null) break;
    }
  }
  lines.push('', 'pushes (the simulated nodes\' side):', ...formatTable(PUSH_HEADER, pushRows));
  lines.push(
    'p50/p99: the target\'s whole push (encode, gzip or snappy, HTTP until acknowledged, retries included); steady: the pushes started',
    'once every node had pushed once (a first push\'s series are all new to the receiver, which indexes them); peak req/s: most HTTP',
    'requests started in one wall-clock second; client cores/MiB: every simulated node together (CPU over the run, summed peak RSS of',
    'the shard processes), on this same machine; node µs/sample: the shards\' CPU per sample delivered once every node has pushed once',
    '(steady; the first push encodes each series\' labels), whole run: the same over the whole run, first pushes included; MiB/node:',
    'client MiB over nodes; client lag: the worst shard\'s event-loop delay p99; CPUs: where the receiver and the shards were allowed',
    'to run (--pin). A run whose client lags over a second is client-bound: its failures and latencies measure this machine, not the receiver.',
  );
  lines.push('', 'receiver:', ...formatTable(RECEIVER_HEADER, receiverRows));
  lines.push(
    'CPU cores: the receiver\'s CPU over the run (1.00 = one core busy); peak: its busiest second; µs/sample: its CPU per sample delivered;',
    'steady: the same once every node had pushed once (cores from then to the end, over the samples of the pushes started then);',
    'RSS: its peak resident memory; scrape: one GET of the gateway\'s /metrics two thirds into the run, pushes going on, gzip accepted',
    'as Prometheus scrapes it.',
  );
  const errors = new Map<string, number>();
  for (const result of results) for (const [text, count] of Object.entries(result.errors)) errors.set(`${result.spec.kind} ${result.spec.nodes}: ${text}`, count);
  for (const [text, count] of errors) lines.push(`  failures ${count}× ${text}`);

  if (options.herdNodes > 0) {
    const kind = options.herdReceiver;
    const herdRows: string[][] = [];
    for (const spread of [false, true]) {
      const spec = { kind, nodes: options.herdNodes, splayMs: spread ? options.splayMs : 0, jitterMs: spread ? options.jitterMs : 0 };
      progress(`fleet: herd, ${kind}, ${options.herdNodes} nodes, splay/jitter ${spread ? 'on' : 'off'} …`);
      const result = await runOnce(spec, options, progress);
      results.push(result);
      const times = result.pushes.map((push) => push.ms);
      herdRows.push([
        spread ? `splay ${spec.splayMs / 1000} s, jitter ${spec.jitterMs / 1000} s` : 'splay 0, jitter 0',
        String(spec.nodes), String(peakPerSecond(result.pushes)), fixed(quantile(times, 0.5), 0), fixed(quantile(times, 0.99), 0),
        String(result.pushes.filter((push) => !push.ok).length), fixed(result.receiver.peakCores, 2), fixed(result.client.cores, 2),
      ]);
    }
    lines.push('', `thundering herd (${kind}):`, ...formatTable(['schedule', 'nodes', 'peak req/s', 'p50 ms', 'p99 ms', 'failed', 'recv peak cores', 'client cores'], herdRows));
  }
  lines.push('', `receivers stopped: ${results.map((result) => `${result.spec.kind} pid ${result.receiverPid} (${result.receiverDir})`).join(', ')}`);
  return lines;
}

function list(text: string, what: string): number[] {
  return text.split(',').map((item) => {
    const value = Number(item.trim());
    if (!Number.isInteger(value) || value < 1) throw new Error(`${what}: expected whole numbers ≥ 1, got ${JSON.stringify(item)}`);
    return value;
  });
}

function receiverKind(name: string, what: string): ReceiverKind {
  const kind = name.trim() as ReceiverKind;
  if (!RECEIVER_KINDS.includes(kind)) throw new Error(`${what}: expected some of ${RECEIVER_KINDS.join(', ')}, got ${JSON.stringify(name)}`);
  return kind;
}

/** `npm run bench -- fleet [options]`: the options, defaults from FLEET_DEFAULTS. */
function fleetOptions(argv: readonly string[]): FleetOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string' }, receivers: { type: 'string' }, duration: { type: 'string' }, interval: { type: 'string' },
      splay: { type: 'string' }, jitter: { type: 'string' }, namespaces: { type: 'string' }, devices: { type: 'string' },
      herd: { type: 'string' }, 'herd-receiver': { type: 'string' }, pin: { type: 'string' }, 'shard-size': { type: 'string' }, 'max-rss': { type: 'string' }, 'max-client-rss': { type: 'string' }, 'scrape-timeout': { type: 'string' },
    },
  });
  const options = { ...FLEET_DEFAULTS };
  if (values.nodes !== undefined) options.nodes = list(values.nodes, '--nodes');
  if (values.receivers !== undefined) options.receivers = values.receivers.split(',').map((name) => receiverKind(name, '--receivers'));
  if (values['herd-receiver'] !== undefined) options.herdReceiver = receiverKind(values['herd-receiver'], '--herd-receiver');
  if (values.duration !== undefined) options.durationMs = parseDurationArg(values.duration, '--duration');
  if (values.interval !== undefined) options.intervalMs = parseDurationArg(values.interval, '--interval');
  if (values.splay !== undefined) options.splayMs = parseDurationArg(values.splay, '--splay');
  if (values.jitter !== undefined) options.jitterMs = parseDurationArg(values.jitter, '--jitter');
  if (values['scrape-timeout'] !== undefined) options.scrapeTimeoutMs = parseDurationArg(values['scrape-timeout'], '--scrape-timeout');
  if (values.namespaces !== undefined) options.namespaces = list(values.namespaces, '--namespaces')[0]!;
  if (values.devices !== undefined) options.devices = list(values.devices, '--devices')[0]!;
  if (values['shard-size'] !== undefined) options.shardSize = list(values['shard-size'], '--shard-size')[0]!;
  if (values['max-rss'] !== undefined) options.maxRssMiB = list(values['max-rss'], '--max-rss (MiB)')[0]!;
  if (values['max-client-rss'] !== undefined) options.maxClientRssMiB = list(values['max-client-rss'], '--max-client-rss (MiB)')[0]!;
  if (values.pin !== undefined) options.pin = parsePin(values.pin, cpus().length);
  if (options.pin !== null) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    } catch {
      throw new Error('--pin: taskset (util-linux) is not installed; install it or pass --pin off');
    }
  }
  if (values.herd !== undefined) options.herdNodes = values.herd === '0' ? 0 : list(values.herd, '--herd')[0]!;
  if (options.durationMs > 15 * 60_000) throw new Error('--duration: at most 15m per run');
  if (options.intervalMs < 1_000) throw new Error('--interval: at least 1s');
  // A node's first push waits for its splay: a shorter run would measure nothing.
  if (options.durationMs <= options.splayMs) throw new Error(`--duration (${options.durationMs} ms) must exceed --splay (${options.splayMs} ms)`);
  return options;
}

export async function runFleetCli(argv: readonly string[]): Promise<number> {
  const options = fleetOptions(argv);
  console.log(`netns-exporter fleet benchmark: node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  for (const line of await benchFleet(options)) console.log(line);
  console.log(`\nload at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return 0;
}
