import { Worker } from 'node:worker_threads';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ProcMetricConfig } from '../../shared/config/types.js';
import { unpackInterfaces } from '../../shared/packedInterfaces.js';
import type { Namespace, NamespaceResult, NamespaceSample } from '../../shared/types.js';
import type { Logger } from '../log.js';
import type { NamespaceReader } from './reader.js';
import { sharedNow, type BatchRequest, type ReadReply, type ReadRequest, type WorkerReply, type WorkerSetup } from './setnsWorker.js';

export interface SetnsReaderOptions {
  timeoutMs: number;
  procMetrics: readonly ProcMetricConfig[];
  /** Reads whatever the workers cannot vouch for (the nsenter reader). */
  fallback: NamespaceReader;
  logger: Logger;
  /** Worker threads; each reads one namespace at a time, with a batch or two queued behind it. */
  workers: number;
  /** Reads at once when they go to the fallback (the config's threads); 4 when not given. */
  fallbackThreads?: number;
  procRoot?: string;
  /** The worker script, injectable so a test can stand a hung or failing worker in for it. */
  workerUrl?: URL;
  /** How long a new worker may take to load koffi and report ready. */
  startTimeoutMs?: number;
}

interface Job {
  id: number;
  ns: Namespace;
  /** When it was posted to a worker, on the clock the threads share (sharedNow). */
  postedAt: number;
  settle: (result: NamespaceResult | 'doubt') => void;
}

interface Slot {
  worker: Worker;
  homeInode: number;
  /** Reads posted to the worker, oldest first; it answers them strictly in this order. */
  jobs: Job[];
  /** How many of `jobs` each posted batch holds, oldest first: one reply per batch. */
  batchSizes: number[];
  /** Written by the worker (setnsWorker.ts): the id of the read it started (negative: finished) and when. */
  progress: BigInt64Array;
  /** Watches the read the worker is on; runs only while the worker has reads. */
  watchdog: NodeJS.Timeout | null;
}

/** Reads per message at most: a message costs both threads tens of µs, whatever it holds. */
const MAX_BATCH = 32;
/** Batches queued on one worker: it reads the next while the main thread handles the last one's reply. */
const BATCHES_PER_WORKER = 2;

/**
 * Reads namespaces from a small pool of worker threads that enter each one with setns(2): about
 * 40× cheaper than a process chain per namespace. Reads go to the workers in batches, one message
 * per batch each way. Safety comes first: every reply says which namespace the thread read and
 * which it went back to; on any doubt (a wrong inode, a reply that does not match the request, a
 * crash, a read past its timeout) the worker is terminated and replaced, the doubtful namespace and
 * every other read queued on that worker are read again with the fallback, and so is the rest of
 * the cycle. A sample never carries another namespace's label.
 *
 * The reader has no notion of cycles, so "the rest of the cycle" is every read until the reader
 * goes idle: no read in flight across a turn of the event loop (collectSnapshot hands over all of a
 * cycle's reads at once).
 */
export class SetnsReader implements NamespaceReader {
  readonly kind = 'setns' as const;
  readonly queuesReads = true;
  readonly #options: SetnsReaderOptions;
  readonly #slots: Slot[] = [];
  /** Reads not yet posted to a worker. */
  #queue: Job[] = [];
  #pumpScheduled = false;
  readonly #fallbackLimit: LimitFunction;
  #starting: Promise<void> | null = null;
  #disabled = false;
  #stopped = false;
  #inDoubt = false;
  #inFlight = 0;
  #nextId = 1;

  constructor(options: SetnsReaderOptions) {
    this.#options = options;
    this.#fallbackLimit = pLimit(options.fallbackThreads ?? 4);
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
    this.#drainQueue();
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#abandon(slot);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
    await this.#options.fallback.stop();
  }

  async read(ns: Namespace): Promise<NamespaceResult> {
    this.#inFlight += 1;
    try {
      await this.start();
      if (this.usingFallback || this.#stopped) return await this.#readWithFallback(ns);
      const result = await this.#enqueue(ns);
      return result === 'doubt' ? await this.#readWithFallback(ns) : result;
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0 && this.#inDoubt) setImmediate(() => this.#endOfCycle());
    }
  }

  /** At most fallbackThreads reads at once go to the fallback, however many are queued here. */
  #readWithFallback(ns: Namespace): Promise<NamespaceResult> {
    return this.#fallbackLimit(() => this.#options.fallback.read(ns));
  }

  #endOfCycle(): void {
    if (this.#inFlight !== 0 || !this.#inDoubt) return;
    this.#inDoubt = false;
    this.#options.logger.info('setns reader: the next cycle reads with setns workers again');
  }

  #enqueue(ns: Namespace): Promise<NamespaceResult | 'doubt'> {
    return new Promise((settle) => {
      this.#queue.push({ id: this.#nextId++, ns, postedAt: 0, settle });
      // Posted once every read handed over in this turn is queued, so that they share messages.
      if (!this.#pumpScheduled) {
        this.#pumpScheduled = true;
        setImmediate(() => {
          this.#pumpScheduled = false;
          this.#pump();
        });
      }
    });
  }

  /** Posts queued reads to every worker with room, in batches that shrink with the queue so the workers finish together. */
  #pump(): void {
    if (this.usingFallback || this.#stopped) return this.#drainQueue();
    while (this.#queue.length > 0) {
      let slot: Slot | undefined;
      for (const candidate of this.#slots) {
        if (candidate.batchSizes.length < BATCHES_PER_WORKER && (slot === undefined || candidate.jobs.length < slot.jobs.length)) slot = candidate;
      }
      if (slot === undefined) return;
      const size = Math.min(MAX_BATCH, Math.ceil(this.#queue.length / (BATCHES_PER_WORKER * this.#slots.length)));
      this.#post(slot, this.#queue.splice(0, size));
    }
  }

  #post(slot: Slot, jobs: Job[]): void {
    const postedAt = sharedNow();
    for (const job of jobs) job.postedAt = postedAt;
    slot.jobs.push(...jobs);
    slot.batchSizes.push(jobs.length);
    const request: BatchRequest = {
      reads: jobs.map((job): ReadRequest => ({ id: job.id, path: job.ns.path, inode: job.ns.inode })),
      procFiles: this.#options.procMetrics.map((metric) => metric.file),
    };
    slot.worker.postMessage(request);
    if (slot.watchdog === null) this.#watch(slot, this.#options.timeoutMs);
  }

  /** Queued reads go to the fallback while the workers are in doubt, disabled or stopped. */
  #drainQueue(): void {
    for (const job of this.#queue.splice(0)) job.settle('doubt');
  }

  #watch(slot: Slot, delayMs: number): void {
    slot.watchdog = setTimeout(() => this.#checkProgress(slot), Math.max(1, Math.ceil(delayMs)));
  }

  /**
   * Each read has timeoutMs from the moment the worker could start it: from when it did start it (the
   * worker says so), or, until it does, from the later of its posting and the worker's last finished
   * read. The read past that is reported as timed out, and the worker is terminated.
   */
  #checkProgress(slot: Slot): void {
    slot.watchdog = null;
    if (slot.jobs.length === 0) return;
    const { timeoutMs } = this.#options;
    const current = Number(Atomics.load(slot.progress, 0));
    const at = Number(Atomics.load(slot.progress, 1));
    const startedIndex = current > 0 ? slot.jobs.findIndex((job) => job.id === current) : -1;
    let culprit: Job;
    let since: number;
    if (startedIndex !== -1) {
      culprit = slot.jobs[startedIndex]!;
      since = at;
    } else {
      // Between reads: the one after the last finished (a negative id), or the oldest.
      const finishedIndex = current < 0 ? slot.jobs.findIndex((job) => job.id === -current) : -1;
      culprit = slot.jobs[finishedIndex + 1] ?? slot.jobs[0]!;
      since = Math.max(culprit.postedAt, current < 0 ? at : 0);
    }
    const left = since + timeoutMs - sharedNow();
    if (left > 0) return this.#watch(slot, left);
    slot.jobs.splice(slot.jobs.indexOf(culprit), 1);
    this.#fault(slot, `read of ${JSON.stringify(culprit.ns.name)} timed out`);
    culprit.settle({ ns: culprit.ns, ok: false, reason: 'timeout', message: `read did not finish within ${timeoutMs} ms; worker terminated`, durationMs: sharedNow() - since });
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const size = slot.batchSizes[0];
    // Late (after a timeout), out of order or unasked-for: the worker and this side disagree about what it did.
    if (reply.kind !== 'batch' || size === undefined || reply.replies.length !== size || reply.replies.some((r, i) => r.id !== slot.jobs[i]!.id)) {
      this.#fault(slot, `unexpected ${reply.kind} message from worker`);
      return;
    }
    slot.batchSizes.shift();
    const jobs = slot.jobs.splice(0, size);
    if (slot.jobs.length === 0) {
      clearTimeout(slot.watchdog ?? undefined);
      slot.watchdog = null;
    }
    for (const [index, job] of jobs.entries()) {
      const read = reply.replies[index]!;
      const doubt = this.#doubtAbout(slot, job.ns, read);
      if (doubt !== null) {
        // The reads before this one checked out on their own; this one and the later ones go to the fallback.
        for (const later of jobs.slice(index + 1)) later.settle('doubt');
        this.#fault(slot, `reading ${JSON.stringify(job.ns.name)}: ${doubt}`);
        job.settle('doubt');
        return;
      }
      job.settle(this.#toResult(job.ns, read));
    }
    this.#pump();
  }

  /** What is wrong with a reply's namespace bookkeeping, or null when the worker can be trusted. */
  #doubtAbout(slot: Slot, ns: Namespace, reply: ReadReply): string | null {
    if (reply.poisoned) return 'worker reports its namespace in doubt';
    if (reply.afterInode !== slot.homeInode) return `worker is in namespace ${reply.afterInode}, not its own ${slot.homeInode}`;
    if (reply.outcome.ok && reply.insideInode !== ns.inode) return `worker read namespace ${reply.insideInode}, not ${ns.inode}`;
    return null;
  }

  #toResult(ns: Namespace, reply: ReadReply): NamespaceResult {
    const { outcome, durationMs } = reply;
    if (!outcome.ok) return { ns, ok: false, reason: outcome.reason, message: outcome.message, durationMs };
    const sample: NamespaceSample = { interfaces: unpackInterfaces(outcome.interfaces), proc: {}, procErrors: [] };
    this.#options.procMetrics.forEach((metric, index) => {
      const value = outcome.procValues[index];
      if (typeof value === 'number') sample.proc[metric.name] = value;
      else sample.procErrors.push(metric.name);
    });
    return { ns, ok: true, sample, durationMs };
  }

  /**
   * Terminates a worker in doubt, sends its queued reads and the rest of the cycle to the fallback
   * and starts a replacement.
   */
  #fault(slot: Slot, why: string): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    this.#abandon(slot);
    this.#inDoubt = true;
    this.#drainQueue();
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

  #disable(message: string): void {
    if (this.#disabled) return;
    this.#disabled = true;
    this.#drainQueue();
    for (const slot of this.#slots.splice(0)) {
      this.#abandon(slot);
      void slot.worker.terminate();
    }
    this.#options.logger.warn({ error: message }, 'setns reader unavailable; reading with nsenter');
  }

  /** The reads queued on a worker that is going away go to the fallback. */
  #abandon(slot: Slot): void {
    clearTimeout(slot.watchdog ?? undefined);
    slot.watchdog = null;
    slot.batchSizes.length = 0;
    for (const job of slot.jobs.splice(0)) job.settle('doubt');
  }

  #addSlot(slot: Slot): void {
    this.#slots.push(slot);
    this.#pump();
  }

  /** A worker that has loaded koffi and knows its own namespace, or a rejection saying why not. */
  #spawn(): Promise<Slot> {
    const progress = new BigInt64Array(new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT));
    const setup: WorkerSetup = { procRoot: this.#options.procRoot ?? '/proc', timeoutMs: this.#options.timeoutMs, progress };
    const url = this.#options.workerUrl ?? new URL('./setnsWorker.js', import.meta.url);
    const worker = new Worker(url, { workerData: setup });
    // Idle workers must not keep the process alive; a worker with reads has its watchdog running.
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
        const slot: Slot = { worker, homeInode: reply.homeInode, jobs: [], batchSizes: [], progress, watchdog: null };
        worker.on('message', (message: WorkerReply) => this.#onReply(slot, message));
        worker.on('error', (error) => this.#fault(slot, `worker crashed: ${error.message}`));
        worker.on('exit', (code) => this.#fault(slot, `worker exited with ${code}`));
        resolve(slot);
      });
    });
  }
}
