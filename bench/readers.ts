import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { collectSnapshot } from '../agent/collect.js';
import { discoverNamespaces } from '../agent/discover.js';
import { NsenterReader } from '../agent/readers/nsenter.js';
import type { NamespaceReader } from '../agent/readers/reader.js';
import { SetnsReader } from '../agent/readers/setns.js';
import { fixed, formatTable } from './figures.js';
import { withNamespaces } from './namespaces.js';

interface Run {
  wallMs: number;
  cpuMs: number;
  failed: number;
}

/** The config default: the nsenter reader keeps this many reads in flight. */
const THREADS = 4;
const REPEAT = 3;
const TIMEOUT_MS = 10_000;

/**
 * The setns reader beside the nsenter reader and the bare shell loop over the same N namespaces
 * (prefix nxb<pid>-r-, each with a configured veth pair, removed afterwards even on error). Each
 * figure is the median of three whole collections (collectSnapshot: discovery + reads). CPU is this
 * process's (main and worker threads); the nsenter chains' own CPU is not in it. Peak RSS is the
 * process's high-water mark after that reader's runs.
 */
export async function benchReaders(counts: number[]): Promise<string[]> {
  const rows: string[][] = [];
  const notes: string[] = [];
  await withNamespaces({ tag: 'r' }, async (pool) => {
    for (const count of [...counts].sort((a, b) => a - b)) {
      const created = performance.now();
      const namespaces = await pool.grow(count);
      notes.push(`${count} namespaces created in ${((performance.now() - created) / 1000).toFixed(1)} s`);
      const filter = { whitelist: new RegExp(pool.whitelistPattern), blacklist: null };
      const nsenter = new NsenterReader({ timeoutMs: TIMEOUT_MS, procMetrics: [], threads: THREADS });
      const setns = new SetnsReader({
        timeoutMs: TIMEOUT_MS, procMetrics: [], fallback: nsenter, logger: pino({ level: 'warn' }),
        workers: Math.min(THREADS, availableParallelism()),
      });
      const startup = performance.now();
      await setns.start();
      const startupMs = performance.now() - startup;
      try {
        const discovery = median(await repeat(() => discoverOnly(filter)));
        rows.push(row(count, 'discovery alone', discovery, null));
        const bare = median(await repeat(() => bareLoop(namespaces.map((ns) => ns.path))));
        rows.push(row(count, 'bare nsenter cat loop', bare, null));
        const slow = median(await repeat(() => collectWith(nsenter, filter, count)));
        rows.push(row(count, 'nsenter reader', slow, process.resourceUsage().maxRSS));
        await collectWith(setns, filter, count); // warm-up: JIT, page cache of the namespace files
        const fast = median(await repeat(() => collectWith(setns, filter, count)));
        if (setns.usingFallback) notes.push(`${count}: the setns reader fell back to nsenter; its figures are not setns'`);
        rows.push(row(count, 'setns reader', fast, process.resourceUsage().maxRSS));
        notes.push(`${count}: setns ${fixed(slow.wallMs / fast.wallMs, 1)}× faster than nsenter (wall), worker start-up ${fixed(startupMs)} ms; target 1000 < 150 ms: ${count === 1000 ? (fast.wallMs < 150 ? 'MET' : 'MISS') : 'n/a'}`);
      } finally {
        await setns.stop();
      }
    }
  });
  const header = ['namespaces', 'reader', 'wall ms', 'CPU ms', 'µs / namespace', 'failed', 'peak RSS MiB'];
  return [`readers (threads ${THREADS}, ${availableParallelism()} CPUs, median of ${REPEAT})`, ...formatTable(header, rows), ...notes];
}

function row(count: number, reader: string, run: Run, maxRssKiB: number | null): string[] {
  return [String(count), reader, fixed(run.wallMs), fixed(run.cpuMs), fixed((run.wallMs * 1000) / count), String(run.failed), maxRssKiB === null ? '' : fixed(maxRssKiB / 1024)];
}

async function collectWith(reader: NamespaceReader, whitelist: { whitelist: RegExp; blacklist: null }, count: number): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const snapshot = await collectSnapshot({
    discovery: { netnsDirs: ['/run/netns'], filter: whitelist, procRoot: '/proc' },
    reader, deviceFilter: { whitelist: null, blacklist: null },
  });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (snapshot.results.length !== count) throw new Error(`collected ${snapshot.results.length} namespaces, expected ${count}`);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, failed: snapshot.results.filter((r) => !r.ok).length };
}

/** Discovery stats every file in /run/netns, other users' namespaces included: part of every collection. */
async function discoverOnly(filter: { whitelist: RegExp; blacklist: null }): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await discoverNamespaces({ netnsDirs: ['/run/netns'], filter, procRoot: '/proc' });
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000, failed: 0 };
}

/** `for f in ...; do nsenter --net=$f cat /proc/net/dev; done`: the floor of a process per namespace. */
function bareLoop(paths: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const script = 'for f do nsenter --net="$f" cat /proc/net/dev >/dev/null || exit 1; done; times';
    const child = spawn('sh', ['-c', script, 'sh', ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bare nsenter loop exited with ${code}`));
      // `times`: the shell's and then its children's user/system time, as "0m0.012s 0m0.034s".
      const seconds = [...out.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      resolve({ wallMs: performance.now() - started, cpuMs: seconds.reduce((a, b) => a + b, 0) * 1000, failed: 0 });
    });
  });
}

async function repeat(run: () => Promise<Run>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < REPEAT; i += 1) runs.push(await run());
  return runs;
}

function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((runs.length - 1) / 2)]!;
}
