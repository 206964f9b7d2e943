import { stat } from 'node:fs/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { collectorFiles, collectorSample, splitHostWide } from '../../shared/collectors/collectorList.js';
import { IP_ADDR_ARGUMENTS } from '../../shared/collectors/interfaces.js';
import { collectorShellFragments, splitCollectorRecords } from '../../shared/parse/collectorRecords.js';
import { ParseError } from '../../shared/parse/error.js';
import { PROC_RECORD_MARK, PROC_UNREADABLE, parseNsenterOutput, splitAtIpJson } from '../../shared/parse/nsenterOutput.js';
import { shellQuote } from '../../shared/shellQuote.js';
import { namespaceFile, type Namespace, type NamespaceResult, type ReadFailureReason } from '../../shared/snapshot.js';
import { settledBy } from '../deadline.js';
import { HostWideFiles } from './procFile.js';
import type { ReaderOptions } from './options.js';
import type { CycleReading, Reader } from './reader.js';
import { BASH_WITHOUT_STARTUP_FILES, NAMESPACE_FD_PATH, ShellWorker, type ShellRun } from './shellWorker.js';

/**
 * Reads a namespace with one process chain: `nsenter --net=/proc/self/fd/3 -- ip -j -s -s addr show`
 * (the worker shell opens the namespace file as descriptor 3: a name that is not valid UTF-8 reaches
 * it as bytes, which no command line built from a JavaScript string can carry), which
 * lists the namespace's own devices, addresses and full rtnl_link_stats64 over netlink. With
 * proc_metrics, bash reads each /proc file with its `read` builtin (no process per file) and then
 * execs ip, which takes its place: nsenter → bash → ip is one fork per namespace. `nsenter --net` enters only the network namespace: unlike `ip netns exec`, it
 * copies no mount table, so the cost per namespace stays flat.
 *
 * The chains are started by long-lived shell workers, not by Node: spawn() blocks Node's main thread
 * while it forks a copy of the (large) Node process, which serialised the reads. A small shell forks
 * far faster, and several workers fork in parallel (the README's benchmark section has the figures).
 */
export class NsenterReader implements Reader {
  readonly inUse = 'nsenter' as const;
  readonly held = null;
  readonly #options: ReaderOptions;
  readonly #nsenter: string;
  readonly #ip: string;
  readonly #idle: ShellWorker[] = [];
  readonly #all = new Set<ShellWorker>();
  readonly #limit: LimitFunction;
  /** Read in this process's namespace, not by each shell: the same in every namespace. */
  readonly #hostWideFiles: HostWideFiles;
  #stopped = false;

  constructor(options: ReaderOptions) {
    this.#options = options;
    this.#nsenter = options.commands?.nsenter ?? 'nsenter';
    this.#ip = options.commands?.ip ?? 'ip';
    this.#limit = pLimit(options.threads);
    const { procRoot } = this.#options;
    this.#hostWideFiles = new HostWideFiles(splitHostWide(collectorFiles(this.#options.collectors)).hostWide.map((file) => file.procPath), (file) => `${procRoot}/${file}`);
  }

  async start(): Promise<void> {}

  /**
   * Kills the reads in flight (their whole process groups), ends the idle shells, and returns within
   * STOP_GRACE_MS even if a process does not go (one stuck in the kernel cannot be reaped).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    const workers = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    for (const worker of workers) if (!worker.usable) worker.kill();
    await settledBy(Promise.all(workers.map((worker) => worker.close(STOP_GRACE_MS / 2))), Date.now() + STOP_GRACE_MS);
  }

  /** Every namespace vouched for: a process chain that entered the wrong namespace could not read it. */
  async collect(namespaces: readonly Namespace[]): Promise<CycleReading> {
    const settled = await Promise.allSettled(namespaces.map((ns) => this.#limit(() => this.#readNow(ns))));
    const results = settled.map((outcome, index): NamespaceResult => (outcome.status === 'fulfilled'
      ? outcome.value
      : { ns: namespaces[index]!, ok: false, reason: 'internal', message: String((outcome.reason as Error)?.message ?? outcome.reason), durationMs: 0 }));
    return { results, unvouched: [] };
  }

  async #readNow(ns: Namespace): Promise<NamespaceResult> {
    const started = performance.now();
    if (this.#stopped) return { ns, ok: false, reason: 'timeout', message: 'the reader was stopped before the read began', durationMs: 0 };
    const worker = this.#idle.pop() ?? this.#newWorker();
    let run: ShellRun;
    try {
      run = await worker.run(namespaceFile(ns), this.#options.timeoutMs);
    } finally {
      if (worker.usable) this.#idle.push(worker);
      else this.#all.delete(worker);
    }
    const durationMs = performance.now() - started;
    const fail = (reason: ReadFailureReason, message: string): NamespaceResult => ({ ns, ok: false, reason, message, durationMs });
    if (run.kind === 'spawn-error') return fail('spawn', `cannot run the reader shell: ${run.message}`);
    if (run.kind === 'timeout') return fail('timeout', `read did not finish within ${this.#options.timeoutMs} ms; killed`);
    if (run.kind === 'worker-died' && this.#stopped) return fail('timeout', 'read killed: the reader was stopped');
    if (run.kind === 'worker-died') return fail('spawn', `reader shell died: ${run.message}`);
    if (run.exitCode !== 0) {
      if (await vanished(ns)) return fail('vanished', 'namespace disappeared during the read');
      if (run.exitCode === 127) return fail('spawn', `cannot run ${this.#nsenter} or ${this.#ip}: ${firstLine(run.stderr)}`);
      const reason = /permission denied|operation not permitted/i.test(run.stderr) ? 'permission' : 'exit';
      return fail(reason, `exit ${run.exitCode}: ${firstLine(run.stderr)}`);
    }
    try {
      const { records, ipJson } = splitAtIpJson(run.stdout);
      const { before, files } = splitCollectorRecords(records);
      const sample = { ...parseNsenterOutput(before + ipJson, this.#options.procMetrics), collectors: collectorSample({ ...this.#hostWideFiles.current(), ...files }, this.#options.collectors) };
      return { ns, ok: true, sample, durationMs };
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      return fail('parse', error.message);
    }
  }

  #newWorker(): ShellWorker {
    const worker = new ShellWorker(this.#commandScript());
    this.#all.add(worker);
    return worker;
  }

  /** The command the worker runs per namespace, with the namespace file open as descriptor 3. */
  #commandScript(): string {
    const { procMetrics, procRoot, collectors } = this.#options;
    const nsenter = this.#nsenter;
    const ip = this.#ip;
    const ipCommand = `${shellQuote(ip)} ${IP_ADDR_ARGUMENTS.join(' ')}`;
    const files = splitHostWide(collectorFiles(collectors)).perNamespace.map((file) => file.procPath);
    if (procMetrics.length === 0 && files.length === 0) return `${shellQuote(nsenter)} --net=${NAMESPACE_FD_PATH} -- ${ipCommand}`;
    const collectorsShell = collectorShellFragments(procRoot, files);
    const inner = [
      // The collector files first: nothing of this read's own (ip's netlink socket) may count in the
      // namespace's socket figures.
      collectorsShell.read,
      'i=0',
      'for p do',
      `  printf '${PROC_RECORD_MARK}%s\\t' "$i"`,
      // sysctl files answer any read at offset > 0 with EOF; bash's `read` takes a block at once
      // (dash would see "4" of 4096). Without a newline `read` returns 1 with the value set, so a
      // value counts whenever one was read.
      // Only a regular file that is not a link (bash cannot open with O_NOFOLLOW): a FIFO would
      // block the read, and a link could lead out of /proc.
      '  v=',
      `  g=${shellQuote(procRoot)}/"$p"`,
      `  if [ -f "$g" ] && [ ! -L "$g" ] && { read -r v 2>/dev/null < "$g" || [ -n "$v" ]; }; then printf '%s\\n' "$v"; else printf '${PROC_UNREADABLE}\\n'; fi`,
      '  i=$((i+1))',
      'done',
      collectorsShell.write,
      // ip last, in place of this shell: one process fewer per namespace; its exit status is the chain's.
      `printf '${PROC_RECORD_MARK}'`,
      `exec ${ipCommand}`,
    ].join('\n');
    const procFiles = procMetrics.map((metric) => shellQuote(metric.file)).join(' ');
    return `${shellQuote(nsenter)} --net=${NAMESPACE_FD_PATH} -- ${BASH_WITHOUT_STARTUP_FILES.join(' ')} -c ${shellQuote(inner)} bash ${procFiles}`;
  }
}

/** How long stop() waits for the shells to go. */
const STOP_GRACE_MS = 2_000;

/** A namespace has vanished when its file is gone or now names another namespace. */
async function vanished(ns: Namespace): Promise<boolean> {
  const info = await stat(namespaceFile(ns)).catch(() => null);
  return info === null || info.ino !== ns.inode;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}
