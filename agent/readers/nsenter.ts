import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { ProcMetricConfig } from '../../shared/config/types.js';
import { ParseError } from '../../shared/parse/ipJson.js';
import { PROC_RECORD_MARK, PROC_UNREADABLE, parseNsenterOutput } from '../../shared/parse/nsenterOutput.js';
import type { Namespace, NamespaceResult, ReadFailureReason } from '../../shared/types.js';
import type { NamespaceReader } from './reader.js';

export interface NsenterReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** Commands, injectable so a test can stand a hung or failing program in for one of them. */
  nsenter?: string;
  ip?: string;
  procRoot?: string;
}

/** More output than any namespace's ip JSON: a runaway child is cut off instead of eating memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a namespace with one process chain: `nsenter --net=<file> -- ip -j -s -s addr show`, which
 * lists the namespace's own devices, addresses and full rtnl_link_stats64 over netlink. With
 * proc_metrics, bash runs ip and then reads each /proc file with its `read` builtin, so no
 * process is spawned per file. `nsenter --net` enters only the network namespace: unlike
 * `ip netns exec`, it copies no mount table, so the cost per namespace stays flat.
 */
export class NsenterReader implements NamespaceReader {
  readonly kind = 'nsenter' as const;
  readonly #options: Required<NsenterReaderOptions>;

  constructor(options: NsenterReaderOptions) {
    this.#options = { nsenter: 'nsenter', ip: 'ip', procRoot: '/proc', ...options };
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async read(ns: Namespace): Promise<NamespaceResult> {
    const started = performance.now();
    const run = await runChild(this.#options.nsenter, this.#argv(ns), this.#options.timeoutMs);
    const durationMs = performance.now() - started;
    const fail = (reason: ReadFailureReason, message: string): NamespaceResult => ({ ns, ok: false, reason, message, durationMs });
    if (run.spawnError !== null) return fail('spawn', `cannot run ${this.#options.nsenter}: ${run.spawnError}`);
    if (run.timedOut) return fail('timeout', `read did not finish within ${this.#options.timeoutMs} ms; killed`);
    if (run.exitCode !== 0) {
      if (await vanished(ns)) return fail('vanished', 'namespace disappeared during the read');
      const reason = /permission denied|operation not permitted/i.test(run.stderr) ? 'permission' : 'exit';
      return fail(reason, `exit ${run.exitCode ?? run.signal}: ${firstLine(run.stderr)}`);
    }
    try {
      return { ns, ok: true, sample: parseNsenterOutput(run.stdout, this.#options.procMetrics), durationMs };
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      return fail('parse', error.message);
    }
  }

  #argv(ns: Namespace): string[] {
    const { ip, procMetrics, procRoot } = this.#options;
    const ipArgs = ['-j', '-s', '-s', 'addr', 'show'];
    if (procMetrics.length === 0) return [`--net=${ns.path}`, '--', ip, ...ipArgs];
    const script = [
      `${shellQuote(ip)} ${ipArgs.join(' ')} || exit 97`,
      'i=0',
      'for f do',
      `  printf '${PROC_RECORD_MARK}%s\\t' "$i"`,
      // sysctl files answer any read at offset > 0 with EOF. dash's `read` takes one byte at a time
      // (and so would see "4" of 4096); bash reads a block. Without a newline `read` returns 1 with
      // the value set, so a value counts whenever one was read.
      '  v=',
      `  if read -r v 2>/dev/null < "${procRoot}/$f" || [ -n "$v" ]; then printf '%s\\n' "$v"; else printf '${PROC_UNREADABLE}\\n'; fi`,
      '  i=$((i+1))',
      'done',
    ].join('\n');
    return [`--net=${ns.path}`, '--', 'bash', '-c', script, 'bash', ...procMetrics.map((metric) => metric.file)];
  }
}

interface ChildRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  spawnError: string | null;
}

/** Runs a command in its own process group, so a timeout kills the whole chain (nsenter, sh, ip). */
function runChild(command: string, args: string[], timeoutMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    let spawnError: string | null = null;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) killGroup();
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 16) err.push(chunk);
    });
    child.on('error', (error) => {
      spawnError = (error as NodeJS.ErrnoException).code ?? error.message;
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        signal,
        timedOut,
        spawnError,
      });
    });
  });
}

/** A namespace has vanished when its file is gone or now names another namespace. */
async function vanished(ns: Namespace): Promise<boolean> {
  const info = await stat(ns.path).catch(() => null);
  return info === null || info.ino !== ns.inode;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
