import path from 'node:path';
import { collectorFiles, splitHostWide } from '../../shared/collectors/collectorList.js';
import { sameItems } from '../../shared/compare.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import { readFileLimit } from '../system/fileLimit.js';
import { FolderWatch } from './folderWatch.js';
import type { ReaderOptions } from './options.js';
import type { CycleReading, HeldFigures, Reader, Unvouched } from './reader.js';
import { SetnsWorkerPool, type PoolResult } from './setnsPool.js';

/**
 * Descriptors kept back from the budget for everything else: the targets' connections, the
 * remote_write buffer's files, the reader shells' pipes, the listeners, the threads' own.
 */
const DESCRIPTOR_HEADROOM = 512;

/**
 * How long after a folder changes the namespaces that appeared are looked for: `ip netns add`
 * creates the file, then bind-mounts the namespace onto it; a file not mounted yet is left to the
 * next cycle.
 */
const ARRIVALS_DELAY_MS = 100;
/**
 * At most one such look a second: each is a discovery of every folder (about 8 ms at 1,000
 * namespaces), and a host where namespaces come and go all the time must not pay it per event.
 */
const ARRIVALS_GAP_MS = 1_000;

/** How many namespaces' handles fit in `softLimit` descriptors, at `perNamespace` each. */
function heldLimitFor(softLimit: number, perNamespace: number): number {
  return Math.max(0, Math.floor((softLimit - DESCRIPTOR_HEADROOM) / Math.max(1, perNamespace)));
}

/**
 * Reads namespaces from a small pool of worker threads that enter each one with setns(2), far
 * cheaper than a process chain per namespace (the README's benchmark section has the figures), and
 * keep its socket and files open for the next cycles. Safety comes first: on any doubt about a
 * worker (setnsPool.ts) the doubtful namespace, every other read queued on that worker and the rest
 * of the cycle are handed back unvouched, for the collection to read with nsenter. A sample never
 * carries another namespace's label. A namespace whose read timed out in a worker (a proc file or a
 * device that blocks in the kernel) is handed back from then on: a process can be killed, a thread
 * stuck in the kernel cannot. With no workers (they could not start) every namespace is handed back.
 */
export class SetnsReader implements Reader {
  readonly #options: ReaderOptions;
  readonly #pool: SetnsWorkerPool;
  readonly #watch: FolderWatch;
  /** Inodes of the namespaces whose read timed out in a worker thread. */
  readonly #timedOut = new Set<number>();
  #starting: Promise<void> | null = null;
  #stopped = false;
  /** The namespaces whose folders were watched last, and those folders (the same namespaces, the same folders). */
  #watched: { namespaces: readonly Namespace[]; folders: Set<string> } | null = null;
  #arrivalsTimer: NodeJS.Timeout | null = null;
  /** Opening ahead runs (one at a time); a change meanwhile makes it look again when done. */
  #arrivalsRunning = false;
  #arrivalsAgain = false;
  #arrivalsLastStarted = -Infinity;
  /** A worker was in doubt in the last cycle: the next one says the workers read again. */
  #faulted = false;

  constructor(options: ReaderOptions) {
    this.#options = options;
    // A socket, each per-namespace collector file and each proc_metrics file.
    const perNamespace = 1 + splitHostWide(collectorFiles(options.collectors)).perNamespace.length + options.procMetrics.length;
    this.#pool = new SetnsWorkerPool({
      workers: options.workers,
      namespacesPerWorker: options.namespacesPerWorker,
      timeoutMs: options.timeoutMs,
      procFiles: options.procMetrics.map((metric) => metric.file),
      procNames: options.procMetrics.map((metric) => metric.name),
      heldLimit: options.heldLimit ?? heldLimitFor(readFileLimit()?.soft ?? 1024, perNamespace),
      collectors: options.collectors,
      procRoot: options.procRoot,
      logger: options.logger,
      workerUrl: options.workerUrl,
      startTimeoutMs: options.startTimeoutMs,
      onFault: (timedOut) => this.#onFault(timedOut),
    });
    this.#watch = new FolderWatch(() => this.#pool.heldNamespaces(), (inodes) => this.#pool.forget(inodes), () => this.#foldersChanged());
  }

  get held(): HeldFigures {
    return this.#pool.heldFigures;
  }

  /** The namespaces each running worker thread holds, one figure per thread. */
  heldByWorker(): number[] {
    return this.#pool.heldByWorker();
  }

  get inUse(): 'nsenter' | 'setns' {
    return this.#pool.hasWorkers ? 'setns' : 'nsenter';
  }

  start(): Promise<void> {
    this.#starting ??= this.#pool.start();
    return this.#starting;
  }

  /** Ends every worker; returns within a bound whatever a thread does. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch.close();
    clearTimeout(this.#arrivalsTimer ?? undefined);
    await this.#pool.stop();
  }

  async collect(namespaces: readonly Namespace[], cycle: { complete: boolean }): Promise<CycleReading> {
    await this.start();
    this.#beginCycle(namespaces, cycle.complete);
    const unvouched: Unvouched[] = [];
    // Nearly always every namespace, and then the list itself (no copy of a thousand a cycle).
    let asked = namespaces;
    if (this.#timedOut.size > 0) {
      const some: Namespace[] = [];
      for (const ns of namespaces) {
        if (this.#timedOut.has(ns.inode)) unvouched.push({ ns, why: 'its read timed out in a worker thread before' });
        else some.push(ns);
      }
      asked = some;
    }
    // Every read is handed to the pool at once: they share messages, and a worker in doubt hands
    // back whatever is still queued, the rest of the cycle.
    const read = await this.#pool.readAll(asked);
    if (unvouched.length === 0 && read.every(isResult)) return { results: read, unvouched };
    const results: NamespaceResult[] = [];
    for (let index = 0; index < asked.length; index++) {
      const result = read[index]!;
      if (isResult(result)) results.push(result);
      else unvouched.push({ ns: asked[index]!, why: result.doubt });
    }
    return { results, unvouched };
  }

  /**
   * The handles of every namespace not in a complete list are closed (its file went without an
   * event reaching the watch, or a reload narrowed the selection), and the folders of the listed
   * ones are watched for the next deletions.
   */
  #beginCycle(namespaces: readonly Namespace[], complete: boolean): void {
    // A worker in doubt during the last cycle was replaced: its replacement reads again.
    if (this.#faulted) {
      this.#faulted = false;
      if (this.#pool.hasWorkers) this.#options.logger.info('setns reader: this cycle reads with setns workers again');
    }
    if (!complete) return;
    const gone = this.#pool.heldOutside(namespaces);
    if (gone.length > 0) this.#pool.forget(gone);
    if (!this.#stopped) this.#watch.watchFolders(this.#foldersOf(namespaces));
  }

  /** foldersOf, once for a selection: a steady cycle's is the cycle before's (1 ms a cycle at 1,000, run as rarely as it is). */
  #foldersOf(namespaces: readonly Namespace[]): Set<string> {
    if (this.#watched !== null && sameItems(this.#watched.namespaces, namespaces)) return this.#watched.folders;
    this.#watched = { namespaces: namespaces.slice(), folders: foldersOf(namespaces) };
    return this.#watched.folders;
  }

  /**
   * A watched folder changed between cycles: soon after, the namespaces a cycle would read are
   * asked for and those not held are opened, so the first cycle that reads them does not pay for
   * entering and opening them (the kernel's first reading of a namespace is the costly part).
   */
  #foldersChanged(): void {
    if (this.#options.arrivals === undefined || this.#stopped) return;
    if (this.#arrivalsRunning) {
      this.#arrivalsAgain = true;
      return;
    }
    const delay = Math.max(ARRIVALS_DELAY_MS, this.#arrivalsLastStarted + ARRIVALS_GAP_MS - performance.now());
    this.#arrivalsTimer ??= setTimeout(() => void this.#openArrivals(this.#options.arrivals!), delay).unref();
  }

  async #openArrivals(arrivals: () => Promise<readonly Namespace[]>): Promise<void> {
    this.#arrivalsTimer = null;
    this.#arrivalsRunning = true;
    this.#arrivalsLastStarted = performance.now();
    try {
      const namespaces = await arrivals();
      if (!this.#stopped) await Promise.all(namespaces.filter((ns) => !this.#timedOut.has(ns.inode)).map((ns) => this.#pool.openAhead(ns)));
    } catch (error) {
      // The next cycle's own discovery reports whatever is wrong; until then nothing is opened ahead.
      this.#options.logger.debug({ err: (error as Error).message }, 'setns reader: looking for namespaces to open ahead failed');
    } finally {
      this.#arrivalsRunning = false;
      if (this.#arrivalsAgain) {
        this.#arrivalsAgain = false;
        this.#foldersChanged();
      }
    }
  }

  #onFault(timedOut: Namespace | null): void {
    this.#faulted = true;
    if (timedOut === null || this.#timedOut.has(timedOut.inode)) return;
    this.#timedOut.add(timedOut.inode);
    this.#options.logger.warn({ namespace: timedOut.name }, 'setns reader: a read timed out in a worker thread; this namespace is read with nsenter from now on');
  }
}

function isResult(result: PoolResult): result is NamespaceResult {
  return !('doubt' in result);
}

/** The folders the namespaces lie in: discovery lists them folder by folder, so a folder is worked out once per run of its files. */
function foldersOf(namespaces: readonly Namespace[]): Set<string> {
  const folders = new Set<string>();
  let last: string | null = null;
  for (const ns of namespaces) {
    // The same folder as the last one: its last slash where that folder ends.
    if (last !== null && ns.path.lastIndexOf('/') === last.length && ns.path.startsWith(last)) continue;
    last = path.dirname(ns.path);
    folders.add(last);
  }
  return folders;
}
