import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeProfile, type CpuProfile } from './cpuProfile.js';
import { checkTargets, describeCheck, fixed, formatTable, medianRun, type CorePoint } from './figures.js';
import { measureCommand, type Measured } from './measure.js';
import { nodeFlagsOfShebang } from './cycleFigures.js';
import { NamespacePool } from './namespaces.js';

export interface CoreOptions {
  /** Namespace counts, smallest first; the pool grows from one to the next. */
  counts: readonly number[];
  /** Runs of each kind per count; the median (by wall time) is reported. */
  repeat: number;
  /** `threads` of the agent's config; null keeps the config default. */
  threads: number | null;
  /** One extra agent run per count under --cpu-prof, summarised in the output. */
  profile: boolean;
  /** Progress lines, printed as they come (a 3,000 run takes minutes). */
  progress: (line: string) => void;
}

export interface CoreResult {
  points: CorePoint[];
  lines: string[];
}

const DIST = fileURLToPath(new URL('..', import.meta.url));
const AGENT_MAIN = path.join(DIST, 'agent/main.js');


/**
 * The core collection benchmark: for each count, the whole agent run (a fresh `node` doing one
 * collection and printing the exposition) beside a bare shell loop of `nsenter --net=<file> cat
 * /proc/net/dev` over the same namespaces, alternating so load from other users hits both alike.
 */
export async function benchCore(options: CoreOptions): Promise<CoreResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'nxb-core-'));
  const pool = new NamespacePool({ tag: 'c' });
  const lines: string[] = [];
  const rows: string[][] = [];
  const points: CorePoint[] = [];
  const creation: string[] = [];
  try {
    const configPath = path.join(work, 'bench.yaml');
    writeFileSync(configPath, benchConfig(pool.whitelistPattern, options.threads));
    for (const count of options.counts) {
      const created = performance.now();
      const added = count - pool.size;
      const namespaces = await pool.grow(count);
      creation.push(`${added} in ${((performance.now() - created) / 1000).toFixed(1)} s`);
      options.progress(`core: ${count} namespaces ready (${creation.at(-1)})`);
      const agentRuns: Measured[] = [];
      const bareRuns: Measured[] = [];
      const loads: number[] = [];
      for (let round = 0; round < options.repeat; round += 1) {
        loads.push(loadavg()[0]!);
        bareRuns.push(await bareLoop(namespaces.map((ns) => ns.path)));
        agentRuns.push(await runAgent(configPath, path.join(work, 'out.prom'), pool.prefix, count));
        options.progress(`core: ${count} round ${round + 1}/${options.repeat}: bare ${bareRuns.at(-1)!.wallMs.toFixed(0)} ms, agent ${agentRuns.at(-1)!.wallMs.toFixed(0)} ms`);
      }
      const agent = medianRun(agentRuns);
      const bare = medianRun(bareRuns);
      points.push({ count, agent, bare });
      const load = `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`;
      rows.push(row(count, 'agent --dry-run', agent, agentRuns, load));
      rows.push(row(count, 'bare nsenter loop', bare, bareRuns, load));
      if (options.profile) lines.push(...(await profileRun(configPath, work, count, pool.prefix)));
    }
  } finally {
    await pool.remove();
    rmSync(work, { recursive: true, force: true });
  }
  lines.unshift(
    ...formatTable(['namespaces', 'run', 'wall ms', 'ms/ns', 'spread ms', 'user ms', 'sys ms', 'CPU ms', 'CPU ms/ns', 'peak RSS MB', 'load1'], rows),
    '',
    ...checkTargets(points).map(describeCheck),
    `namespaces created (ip -batch, then one ip -n per namespace to bring links up): ${creation.join(', ')}`,
    `(median of ${options.repeat} run(s) each; agent = node dist/agent/main.js --dry-run --config <bench.yaml>; threads ${options.threads ?? 'config default'}; CPU and RSS include children, RSS is the largest single process)`,
  );
  return { points, lines };
}

function row(count: number, label: string, median: Measured, runs: readonly Measured[], load: string): string[] {
  const cpu = median.userMs + median.sysMs;
  const walls = runs.map((run) => run.wallMs);
  return [
    String(count), label, fixed(median.wallMs), fixed(median.wallMs / count, 2),
    `${fixed(Math.min(...walls))}–${fixed(Math.max(...walls))}`,
    fixed(median.userMs), fixed(median.sysMs), fixed(cpu), fixed(cpu / count, 2),
    median.maxRssKb === null ? 'n/a' : fixed(median.maxRssKb / 1024, 1), load,
  ];
}

/**
 * Only our namespaces count; the log is kept to warnings so stderr does not cost time. Interval and
 * read timeout are generous: on a loaded 2-core box a read may be slow, and a timed-out read would
 * make the run look faster than it is (the run is checked for every namespace anyway).
 */
function benchConfig(whitelistPattern: string, threads: number | null): string {
  return [
    'namespaces_filter:',
    `  whitelist_pattern: ${JSON.stringify(whitelistPattern)}`,
    ...(threads === null ? [] : [`threads: ${threads}`]),
    'interval: 5m',
    'read_timeout: 60s',
    'log_level: warn',
    '',
  ].join('\n');
}

/** One whole agent run: a fresh node that collects once and prints the exposition. */
async function runAgent(configPath: string, outPath: string, prefix: string, count: number, nodeFlags: string[] = []): Promise<Measured> {
  // The agent as installed: node with the flags of its shebang.
  const shebangFlags = nodeFlagsOfShebang(readFileSync(AGENT_MAIN, 'utf8').split('\n')[0]!);
  const measured = await measureCommand(process.execPath, [...shebangFlags, ...nodeFlags, AGENT_MAIN, '--dry-run', '--config', configPath], { stdoutPath: outPath });
  const problem = checkExposition(measured, outPath, prefix, count);
  if (problem !== null) throw new Error(`agent --dry-run at ${count} namespaces: ${problem}`);
  return measured;
}

/** Every namespace of the run must be in the exposition: a run that read fewer would flatter. */
function checkExposition(measured: Measured, outPath: string, prefix: string, count: number): string | null {
  if (measured.exitCode !== 0) return `exit ${measured.exitCode}: ${measured.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const text = readFileSync(outPath, 'utf8');
  const needle = `netns="${prefix}`;
  const read = text.split('\n').filter((line) => line.startsWith('netns_network_namespace{') && line.includes(needle)).length;
  return read === count ? null : `exposition lists ${read} of ${count} namespaces`;
}

/** The floor to beat: one process chain per namespace, one after another, no parsing at all. */
async function bareLoop(files: readonly string[]): Promise<Measured> {
  const measured = await measureCommand('sh', ['-c', 'for f do nsenter --net="$f" cat /proc/net/dev || exit 1; done', 'sh', ...files]);
  if (measured.exitCode !== 0) throw new Error(`bare nsenter loop failed: exit ${measured.exitCode}: ${measured.stderr.trim().slice(0, 300)}`);
  return measured;
}

async function profileRun(configPath: string, work: string, count: number, prefix: string): Promise<string[]> {
  const dir = path.join(work, `prof-${count}`);
  await runAgent(configPath, path.join(work, 'out.prom'), prefix, count, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) return [`profile at ${count}: no .cpuprofile written`];
  const keep = path.join(tmpdir(), `nxb-core-${count}-${process.pid}.cpuprofile`);
  writeFileSync(keep, readFileSync(path.join(dir, file)));
  const summary = summarizeProfile(JSON.parse(readFileSync(keep, 'utf8')) as CpuProfile, 12);
  return [
    '',
    `CPU profile of the agent's main thread at ${count} namespaces (${summary.totalMs.toFixed(0)} ms; kept in ${keep}):`,
    ...summary.areas.slice(0, 10).map((area) => `  ${area.ms.toFixed(0).padStart(7)} ms  ${area.area}`),
    '  top functions (self time):',
    ...summary.functions.map((fn) => `  ${fn.ms.toFixed(0).padStart(7)} ms  ${fn.name}`),
  ];
}
