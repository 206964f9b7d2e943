import { Worker } from 'node:worker_threads';
import type { ProcMetricConfig } from '../../shared/config/types.js';
import type { Namespace, NamespaceResult, NamespaceSample } from '../../shared/types.js';
import type { Logger } from '../log.js';
import type { NamespaceReader } from './reader.js';
import type { ReadReply, ReadRequest, WorkerReply, WorkerSetup } from './setnsWorker.js';

export interface SetnsReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** Reads whatever the workers cannot vouch for (the nsenter reader). */
  fallback: NamespaceReader;
  logger: Logger;
  /** Worker threads; each reads one namespace at a time. */
  workers: number;
  procRoot?: string;
  /** The worker script, injectable so a test can stand a hung or failing worker in for it. */
  workerUrl?: URL;
  /** How long a new worker may take to load koffi and report ready. */
  startTimeoutMs?: number;
}

interface Pending {
  id: number;
  ns: Namespace;
  started: number;
  timer: NodeJS.Timeout;
  settle: (result: NamespaceResult | 'doubt') => void;
}

interface Slot {
  worker: Worker;
  homeInode: number;
  pending: Pending | null;
}

/**
 * Reads namespaces from a small pool of worker threads that enter each one with setns(2): about
 * 40× cheaper than a process chain per namespace. Safety comes first: every reply says which
 * namespace the thread read and which it went back to; on any doubt (a wrong inode, a crash, a
 * timeout) the worker is terminated and replaced, the doubtful namespace is read again with the
 * fallback, and so is the rest of the cycle. A sample never carries another namespace's label.
 *
 * The reader has no notion of cycles, so "the rest of the cycle" is every read until the reader
 * goes idle: no read in flight across a turn of the event loop (collectSnapshot's p-limit starts
 * the next read within the same turn as the previous one ends).
 */
export class SetnsReader implements NamespaceReader {
  readonly kind = 'setns' as const;
  readonly #options: SetnsReaderOptions;
  readonly #slots: Slot[] = [];
  readonly #idle: Slot[] = [];
  #waiting: ((slot: Slot | null) => void)[] = [];
  #starting: Promise<void> | null = null;
  #disabled = false;
  #stopped = false;
  #inDoubt = false;
  #inFlight = 0;
  #nextId = 1;

  constructor(options: SetnsReaderOptions) {
    this.#options = options;
  }

  /** Whether reads currently go to the fallback: the workers could not start, or one was in doubt. */
  get usingFallback(): boolean {
    return this.#disabled || this.#inDoubt;
  }

  start(): Promise<void> {
    this.#starting ??= this.#startPool();
    return this.#starting;
  }

  async #startPool(): Promise<void> {
    await this.#options.fallback.start();
    const count = Math.max(1, this.#options.workers);
    const started = await Promise.allSettled(Array.from({ length: count }, () => this.#spawn()));
    for (const outcome of started) if (outcome.status === 'fulfilled') this.#addSlot(outcome.value);
    const failure = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure !== undefined) this.#disable(String((failure.reason as Error)?.message ?? failure.reason));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#releaseWaiters();
    const workers = this.#slots.splice(0).map((slot) => slot.worker);
    this.#idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
    await this.#options.fallback.stop();
  }

  async read(ns: Namespace): Promise<NamespaceResult> {
    this.#inFlight += 1;
    try {
      await this.start();
      if (this.usingFallback || this.#stopped) return await this.#options.fallback.read(ns);
      const slot = await this.#acquire();
      if (slot === null) return await this.#options.fallback.read(ns);
      const result = await this.#readOn(slot, ns);
      return result === 'doubt' ? await this.#options.fallback.read(ns) : result;
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0 && this.#inDoubt) setImmediate(() => this.#endOfCycle());
    }
  }

  #endOfCycle(): void {
    if (this.#inFlight !== 0 || !this.#inDoubt) return;
    this.#inDoubt = false;
    this.#options.logger.info('setns reader: the next cycle reads with setns workers again');
  }

  #readOn(slot: Slot, ns: Namespace): Promise<NamespaceResult | 'doubt'> {
    const { timeoutMs, procMetrics } = this.#options;
    return new Promise((settle) => {
      const id = this.#nextId++;
      const started = performance.now();
      const timer = setTimeout(() => {
        slot.pending = null;
        this.#fault(slot, `read of ${JSON.stringify(ns.name)} timed out`);
        settle({ ns, ok: false, reason: 'timeout', message: `read did not finish within ${timeoutMs} ms; worker terminated`, durationMs: performance.now() - started });
      }, timeoutMs);
      slot.pending = { id, ns, started, timer, settle };
      const request: ReadRequest = { id, path: ns.path, inode: ns.inode, procFiles: procMetrics.map((metric) => metric.file) };
      slot.worker.postMessage(request);
    });
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const pending = slot.pending;
    if (reply.kind !== 'read' || pending === null || pending.id !== reply.id) {
      // Late (after a timeout) or unasked-for: the worker and this side disagree about what it did.
      if (pending !== null) this.#failPending(slot, 'doubt');
      this.#fault(slot, `unexpected ${reply.kind} message from worker`);
      return;
    }
    clearTimeout(pending.timer);
    slot.pending = null;
    const doubt = this.#doubtAbout(slot, pending.ns, reply);
    if (doubt !== null) {
      this.#fault(slot, `reading ${JSON.stringify(pending.ns.name)}: ${doubt}`);
      pending.settle('doubt');
      return;
    }
    this.#release(slot);
    pending.settle(this.#toResult(pending, reply));
  }

  /** What is wrong with a reply's namespace bookkeeping, or null when the worker can be trusted. */
  #doubtAbout(slot: Slot, ns: Namespace, reply: ReadReply): string | null {
    if (reply.poisoned) return 'worker reports its namespace in doubt';
    if (reply.afterInode !== slot.homeInode) return `worker is in namespace ${reply.afterInode}, not its own ${slot.homeInode}`;
    if (reply.outcome.ok && reply.insideInode !== ns.inode) return `worker read namespace ${reply.insideInode}, not ${ns.inode}`;
    return null;
  }

  #toResult(pending: Pending, reply: ReadReply): NamespaceResult {
    const { ns, started } = pending;
    const durationMs = performance.now() - started;
    const { outcome } = reply;
    if (!outcome.ok) return { ns, ok: false, reason: outcome.reason, message: outcome.message, durationMs };
    const sample: NamespaceSample = { interfaces: outcome.interfaces, proc: {}, procErrors: [] };
    this.#options.procMetrics.forEach((metric, index) => {
      const value = outcome.procValues[index];
      if (typeof value === 'number') sample.proc[metric.name] = value;
      else sample.procErrors.push(metric.name);
    });
    return { ns, ok: true, sample, durationMs };
  }

  /** Terminates a worker in doubt, sends the rest of the cycle to the fallback and starts a replacement. */
  #fault(slot: Slot, why: string): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    const idleIndex = this.#idle.indexOf(slot);
    if (idleIndex !== -1) this.#idle.splice(idleIndex, 1);
    this.#failPending(slot, 'doubt');
    this.#inDoubt = true;
    this.#releaseWaiters();
    this.#options.logger.warn({ reason: why }, 'setns reader: worker terminated and replaced; the rest of this cycle reads with nsenter');
    void slot.worker.terminate();
    if (this.#stopped || this.#disabled) return;
    this.#spawn().then(
      (replacement) => {
        if (this.#stopped || this.#disabled) void replacement.worker.terminate();
        else this.#addSlot(replacement);
      },
      (error: Error) => this.#disable(error.message),
    );
  }

  #failPending(slot: Slot, result: 'doubt'): void {
    const pending = slot.pending;
    if (pending === null) return;
    slot.pending = null;
    clearTimeout(pending.timer);
    pending.settle(result);
  }

  #disable(message: string): void {
    if (this.#disabled) return;
    this.#disabled = true;
    this.#releaseWaiters();
    for (const slot of this.#slots.splice(0)) void slot.worker.terminate();
    this.#idle.length = 0;
    this.#options.logger.warn({ error: message }, 'setns reader unavailable; reading with nsenter');
  }

  #acquire(): Promise<Slot | null> {
    const slot = this.#idle.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    if (this.usingFallback) {
      this.#idle.push(slot);
      this.#releaseWaiters();
      return;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) next(slot);
    else this.#idle.push(slot);
  }

  /** Waiting reads go to the fallback while the workers are in doubt, disabled or stopped. */
  #releaseWaiters(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(null);
  }

  #addSlot(slot: Slot): void {
    this.#slots.push(slot);
    this.#release(slot);
  }

  /** A worker that has loaded koffi and knows its own namespace, or a rejection saying why not. */
  #spawn(): Promise<Slot> {
    const setup: WorkerSetup = { procRoot: this.#options.procRoot ?? '/proc', timeoutMs: this.#options.timeoutMs };
    const url = this.#options.workerUrl ?? new URL('./setnsWorker.js', import.meta.url);
    const worker = new Worker(url, { workerData: setup });
    // Idle workers must not keep the process alive; a pending read holds its own timer.
    worker.unref();
    return new Promise((resolve, reject) => {
      const startTimeoutMs = this.#options.startTimeoutMs ?? 10_000;
      const onError = (error: Error) => fail(error.message);
      const onExit = (code: number) => fail(`exited with ${code}`);
      const settle = () => {
        clearTimeout(timer);
        // Only our own listeners: Worker keeps internal ones that route its messages.
        worker.off('error', onError).off('exit', onExit);
      };
      const fail = (message: string) => {
        settle();
        void worker.terminate();
        reject(new Error(`setns worker did not start: ${message}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${startTimeoutMs} ms`), startTimeoutMs);
      worker.on('error', onError).on('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        if (reply.kind !== 'ready') return fail(reply.kind === 'init-failed' ? reply.message : `sent ${reply.kind} first`);
        settle();
        const slot: Slot = { worker, homeInode: reply.homeInode, pending: null };
        worker.on('message', (message: WorkerReply) => this.#onReply(slot, message));
        worker.on('error', (error) => this.#fault(slot, `worker crashed: ${error.message}`));
        worker.on('exit', (code) => this.#fault(slot, `worker exited with ${code}`));
        resolve(slot);
      });
    });
  }
}
