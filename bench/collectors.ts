import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { Collection } from '../agent/collect.js';
import { readerOptions } from '../agent/readers/options.js';
import type { Config } from '../shared/config/configTypes.js';
import type { Snapshot } from '../shared/snapshot.js';
import { configFrom } from '../test/helpers/config.js';
import { fixed, formatTable } from './figures.js';
import { withNamespaces } from './namespaces.js';

const THREADS = 4;
const REPEAT = 3;
const TIMEOUT_MS = 10_000;
/** The original's example config: its one proc metric is the conntrack count. */
const ORIGINAL = { proc_metrics: { nat_conntrack: { file: 'sys/net/netfilter/nf_conntrack_count' } } };
const OFF = { conntrack: { enabled: false } };

interface CollectorSet {
  label: string;
  config: Config;
  /** The set its cost is compared with (the same proc_metrics, collectors off). */
  base: number;
}

const SETS: CollectorSet[] = [
  { label: 'original, collectors off', config: configFrom({ ...ORIGINAL, collectors: OFF }), base: 0 },
  { label: 'original, defaults (conntrack)', config: configFrom(ORIGINAL), base: 0 },
  { label: 'original, all on', config: configFrom({ ...ORIGINAL, collectors: { netstat: { enabled: true }, sockstat: { enabled: true } } }), base: 0 },
  { label: 'original, all on, every field', config: configFrom({ ...ORIGINAL, collectors: { netstat: { enabled: true, fields: '.*' }, sockstat: { enabled: true } } }), base: 0 },
  // Without proc_metrics and collectors the nsenter reader runs ip directly, with them it starts bash.
  { label: 'no proc_metrics, collectors off', config: configFrom({ collectors: OFF }), base: 4 },
  { label: 'no proc_metrics, defaults', config: configFrom({}), base: 4 },
];

/**
 * What the collectors add to a read, per reader: the same N namespaces (prefix nxb<pid>-c-, each
 * with a configured veth pair) read with the original's example config and each collector set.
 * The sets take turns within each repeat, so the machine's other load spreads over all of them;
 * each figure is the median of three collections. Also the series per namespace each set writes.
 */
export async function benchCollectors(counts: number[]): Promise<string[]> {
  const rows: string[][] = [];
  const notes = [`nf_conntrack ${existsSync('/proc/sys/net/netfilter/nf_conntrack_max') ? 'loaded' : 'NOT loaded: the conntrack files are absent and cost nothing'}`];
  await withNamespaces({ tag: 'c' }, async (pool) => {
    for (const count of [...counts].sort((a, b) => a - b)) {
      await pool.grow(count);
      const filter = { whitelist: new RegExp(pool.whitelistPattern), blacklist: null };
      for (const kind of ['nsenter', 'setns'] as const) {
        const fellBack = { lines: 0 };
        const readers = SETS.map((set) => makeReader(kind, set.config, fellBack));
        try {
          for (const reader of readers) {
            await collectWith(reader, filter, count); // warm-up: JIT, workers, page cache
          }
          const runs: Run[][] = SETS.map(() => []);
          for (let round = 0; round < REPEAT; round += 1) {
            for (const [index, reader] of readers.entries()) runs[index]!.push(await collectWith(reader, filter, count));
          }
          for (const [index, set] of SETS.entries()) {
            const run = median(runs[index]!);
            const base = median(runs[set.base]!);
            const addedUs = ((run.wallMs - base.wallMs) * 1000) / count;
            rows.push([String(count), kind, set.label, fixed(run.wallMs), fixed(run.cpuMs), fixed((run.wallMs * 1000) / count),
              index === set.base ? '' : `${addedUs >= 0 ? '+' : ''}${fixed(addedUs)}`, index === set.base ? '' : `${fixed(run.wallMs / base.wallMs, 2)}×`, String(run.failed)]);
          }
          if (kind === 'setns' && (fellBack.lines > 0 || readers.some((reader) => reader.inUse !== 'setns'))) notes.push(`${count}: a setns reader fell back to nsenter; its figures are not setns'`);
        } finally {
          await Promise.all(readers.map((reader) => reader.stop()));
        }
      }
      if (count === Math.min(...counts)) notes.push(...await seriesPerNamespace(filter, count));
    }
  });
  const header = ['namespaces', 'reader', 'config', 'wall ms', 'CPU ms', 'µs / ns', 'added µs / ns', 'vs off', 'failed'];
  return [`collectors' cost (original's example config, threads ${THREADS}, ${availableParallelism()} CPUs, median of ${REPEAT}, sets interleaved)`, ...formatTable(header, rows), ...notes];
}

/** The agent's collection with this reader; `fellBack` counts the setns reader's warnings that nsenter read for it. */
function makeReader(kind: 'nsenter' | 'setns', config: Config, fellBack: { lines: number }): Collection {
  const logger = pino({ level: 'warn' }, { write: (line: string) => {
    if (line.includes('nsenter')) fellBack.lines += 1;
    process.stderr.write(line);
  } });
  return new Collection(kind, readerOptions({ ...config, readTimeoutMs: TIMEOUT_MS, threads: THREADS }, logger));
}

/** Collector series per namespace for each set (the bench namespaces carry no traffic: a busy one has no more names, only other values). */
async function seriesPerNamespace(filter: { whitelist: RegExp; blacklist: null }, count: number): Promise<string[]> {
  const lines: string[] = [];
  for (const set of SETS.slice(0, 4)) {
    const reader = new Collection('nsenter', readerOptions({ ...set.config, procMetrics: [], readTimeoutMs: TIMEOUT_MS, threads: THREADS }, pino({ level: 'warn' })));
    try {
      const snapshot: Snapshot = await reader.collect({ discovery: { netnsDirs: ['/run/netns'], filter, procRoot: '/proc' } });
      if (snapshot.results.length !== count) throw new Error(`collected ${snapshot.results.length} namespaces, expected ${count}`);
      const perNs = snapshot.results.map((result) => (result.ok ? Object.values(result.sample.collectors).reduce((sum, part) => sum + (Array.isArray(part) ? 0 : Object.keys(part).length), 0) : 0));
      lines.push(`series per namespace, ${set.label}: ${Math.min(...perNs)}${Math.max(...perNs) !== Math.min(...perNs) ? `–${Math.max(...perNs)}` : ''}`);
    } finally {
      await reader.stop();
    }
  }
  return lines;
}

/** One in-process collection's figures. */
interface Run {
  wallMs: number;
  cpuMs: number;
  failed: number;
}

/** One whole collection (discovery + reads) in this process; CPU is this process's threads'. */
async function collectWith(reader: Collection, whitelist: { whitelist: RegExp; blacklist: null }, count: number): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const snapshot = await reader.collect({
    discovery: { netnsDirs: ['/run/netns'], filter: whitelist, procRoot: '/proc' },
  });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (snapshot.results.length !== count) throw new Error(`collected ${snapshot.results.length} namespaces, expected ${count}`);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, failed: snapshot.results.filter((r) => !r.ok).length };
}

function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((runs.length - 1) / 2)]!;
}
