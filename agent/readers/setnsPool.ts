import { Worker } from 'node:worker_threads';
import { closeSync } from 'node:fs';
import type { CollectorsConfig } from '../../shared/config/configTypes.js';
import { DeviceText, PackedSample, type PackedBatch } from '../../shared/packedSample.js';
import { namespaceFile, type Namespace, type NamespaceResult } from '../../shared/snapshot.js';
import type { Logger } from '../log.js';
import { settledBy } from '../deadline.js';
import { bindExit } from './netnsLibc.js';
import { batchReplies, keepsText, READ_FIELDS, SAME_TEXT, sharedNow, writeReadRequest, type ReadReply, type WorkerReply, type WorkerRequest, type WorkerSetup } from './setnsProtocol.js';

export interface SetnsWorkerPoolOptions {
  /** Worker threads (at most, with namespacesPerWorker); each reads one namespace at a time, with a batch or two queued behind it. */
  workers: number;
  /**
   * Start one worker and add one for each this many namespaces read (or held), up to `workers`.
   * Unset: all `workers` start at once.
   */
  namespacesPerWorker?: number;
  timeoutMs: number;
  /** proc_metrics files relative to /proc, in config order, and the names their values go by. */
  procFiles: readonly string[];
  procNames: readonly string[];
  collectors: CollectorsConfig;
  /**
   * Namespaces whose handles may stay open at once (the descriptor budget); the others are entered
   * at each read.
   */
  heldLimit: number;
  procRoot: string;
  logger: Logger;
  /** The worker script, injectable so a test can stand a hung or failing worker in for it. */
  workerUrl?: URL;
  /** How long a new worker may take to load koffi and report ready. */
  startTimeoutMs?: number;
  /** A worker was in doubt and terminated; `timedOut` is the namespace whose read it did not finish. */
  onFault: (timedOut: Namespace | null) => void;
}

/**
 * Terminated workers whose thread has not ended (it is stuck in the kernel, where terminate() cannot
 * reach it) at most: past this the pool stops replacing workers until one of them ends.
 */
export const MAX_ABANDONED_WORKERS = 4;
/** How long stop() waits for the threads to end before it gives up on them. */
const STOP_GRACE_MS = 1_000;
/** Reads per message at most: a message has a fixed cost on both threads, whatever it holds. */
const MAX_BATCH = 32;
/** Batches queued on one worker: it reads the next while the main thread handles the last one's reply. */
const BATCHES_PER_WORKER = 2;

/** A read's end: its result, or handed back in doubt, with why. */
export type PoolResult = NamespaceResult | { doubt: string };

/**
 * The reads handed over together (a cycle's, or one namespace opened ahead): each settles into its
 * place, and the group resolves once all have. One promise per cycle, not one per namespace: what
 * a thousand reads in flight hold lives as long as the cycle's reading, long enough to be promoted.
 */
interface JobGroup {
  results: PoolResult[];
  pending: number;
  resolve: (results: PoolResult[]) => void;
}

interface Job {
  id: number;
  ns: Namespace;
  /** Keep the namespace's handles open (it has none yet, and the budget has room). */
  hold: boolean;
  /** When it was posted to a worker, on the clock the threads share (sharedNow). */
  postedAt: number;
  group: JobGroup;
  /** Its place in the group's results. */
  index: number;
}

/** The group of a spare job: it no longer holds the results of the cycle it was settled in. */
const SETTLED: JobGroup = { results: [], pending: 0, resolve: () => undefined };

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
  /** Reads meant for this worker, not yet posted: a held namespace is read where its handles are. */
  queue: Job[];
  /** Inodes of the namespaces whose handles this worker holds. */
  held: Set<number>;
  /** Descriptors of handles it was told to close and has not said it closed: whoever outlives it closes them. */
  closing: Map<number, number[]>;
  /** The last reading's text of each namespace it holds, which it does not send again unchanged (setnsProtocol.ts). */
  texts: Map<number, DeviceText>;
}

/** A namespace whose handles a worker holds. */
interface HeldNamespace {
  slot: Slot;
  fds: number[];
  /** Its path as the label shows it, and what opens it (bytes for a name that is not UTF-8). */
  path: string;
  file: string | Buffer;
  /** The last call of heldOutside that found it among its namespaces. */
  listedIn: number;
  /** The two results its reads of held handles alternate between (#toResult), and which is next. */
  results: [HeldResult | null, HeldResult | null];
  nextResult: 0 | 1;
}

type HeldResult = { ns: Namespace; ok: true; sample: PackedSample; durationMs: number };

/**
 * The setns reader's worker threads: starts them, posts reads to them in batches (one message per
 * batch each way), watches every read's timeout, and checks every reply's namespace bookkeeping. A
 * worker in doubt (a wrong inode, a reply that does not match the request, a crash, a read past its
 * timeout) is terminated and replaced; its reads and every queued read settle as 'doubt', for the
 * reader to read elsewhere.
 */
export class SetnsWorkerPool {
  readonly #options: SetnsWorkerPoolOptions;
  readonly #slots: Slot[] = [];
  /** Every worker whose thread has not ended yet, in a slot or not, with its end. */
  readonly #live = new Map<Worker, Promise<void>>();
  /** Terminated workers whose thread has not ended yet. */
  readonly #abandoned = new Set<Worker>();
  /** Namespaces whose handles a worker holds, by inode. */
  readonly #held = new Map<number, HeldNamespace>();
  #heldOutsideCalls = 0;
  /** Inodes with a read in flight that opens handles: one set per namespace, never two. */
  readonly #opening = new Set<number>();
  /** Inodes forgotten while a read that opens handles was in flight: those handles close on arrival. */
  readonly #forgotten = new Set<number>();
  #budgetLogged = false;
  #pumpScheduled = false;
  #replacing = 0;
  #retired = false;
  #stopped = false;
  #capLogged = false;
  /** Set once start() has its workers: from then on a worker that ends makes room for a replacement. */
  #running = false;
  #nextId = 1;
  /**
   * Settled jobs, for the next reads to reuse: a thousand fresh ones a cycle lived through the
   * cycle's reading, long enough for V8 to allocate them straight in the old generation, where they
   * were garbage for a full collection (30–40 KB/s less old-generation growth at 1,000 namespaces
   * and a 2 s interval). As many as were ever in flight at once: at most a cycle's reads.
   */
  readonly #spareJobs: Job[] = [];
  #lastProblem: string | null = null;
  /** Workers the pool keeps running (and replaces): all of them, or as many as the namespaces need so far. */
  #wanted: number;
  /** Workers being added for more namespaces: reads wait for them, so that they share the new ones. */
  #growing: Promise<void> | null = null;

  constructor(options: SetnsWorkerPoolOptions) {
    this.#options = options;
    this.#wanted = options.namespacesPerWorker === undefined ? Math.max(1, options.workers) : 1;
  }

  /** The namespaces each running worker thread holds, one figure per thread. */
  heldByWorker(): number[] {
    return this.#slots.map((slot) => slot.held.size);
  }

  /** Whether reads can go to the workers: they started, and some are running or on their way. */
  get hasWorkers(): boolean {
    return !this.#retired && !this.#stopped && this.#slots.length + this.#replacing > 0;
  }

  /** Why a worker was last in doubt or the workers could not be had; null while nothing went wrong. */
  get lastProblem(): string | null {
    return this.#lastProblem;
  }

  /** How many namespaces have their handles held now, and how many may be. */
  get heldFigures(): { held: number; limit: number } {
    return { held: this.#held.size, limit: this.#options.heldLimit };
  }

  /**
   * The inodes of held namespaces that are not among `namespaces`. Each held namespace is marked
   * with the call it was found in: no set of a cycle's thousand inodes made to look them up in.
   */
  heldOutside(namespaces: readonly Namespace[]): number[] {
    const call = ++this.#heldOutsideCalls;
    for (let index = 0; index < namespaces.length; index++) {
      const held = this.#held.get(namespaces[index]!.inode);
      if (held !== undefined) held.listedIn = call;
    }
    const outside: number[] = [];
    this.#held.forEach((held, inode) => {
      if (held.listedIn !== call) outside.push(inode);
    });
    return outside;
  }

  /** The held namespaces (inode → file), for whoever watches their files. */
  heldNamespaces(): ReadonlyMap<number, { path: string; file: string | Buffer }> {
    return this.#held;
  }

  /**
   * Closes the handles held for these namespaces (their files are gone, or they are no longer
   * selected): the worker that holds them closes them after the batch it is reading, at once when
   * idle. A read in flight that opens handles for one of them closes them when it answers.
   */
  forget(inodes: Iterable<number>): void {
    const bySlot = new Map<Slot, number[]>();
    for (const inode of inodes) {
      const held = this.#held.get(inode);
      if (held === undefined) {
        if (this.#opening.has(inode)) this.#forgotten.add(inode);
        continue;
      }
      this.#held.delete(inode);
      held.slot.held.delete(inode);
      held.slot.closing.set(inode, held.fds);
      bySlot.set(held.slot, [...(bySlot.get(held.slot) ?? []), inode]);
    }
    for (const [slot, list] of bySlot) slot.worker.postMessage({ kind: 'forget', inodes: list } satisfies WorkerRequest);
  }

  /** Starts the workers; when one cannot start, the pool retires (hasWorkers is false) and says why. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(Array.from({ length: this.#wanted }, () => this.#spawn()));
    for (const outcome of started) if (outcome.status === 'fulfilled') this.#addSlot(outcome.value);
    const failure = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    // A worker ended by stop() while starting is no reason to call the reader unavailable.
    if (failure !== undefined && !this.#stopped) this.#retire(String((failure.reason as Error)?.message ?? failure.reason));
    this.#running = true;
  }

  /**
   * Terminates every worker and returns within STOP_GRACE_MS whatever the threads do. A thread stuck
   * in the kernel would hold the process at exit (Node waits for every thread), so then the process
   * ends with _exit(2) when it exits.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#drainQueue();
    for (const slot of this.#slots.splice(0)) {
      this.#abandon(slot);
      this.#terminate(slot.worker);
    }
    // Workers still starting are terminated too; each worker is terminated once.
    for (const worker of this.#live.keys()) this.#terminate(worker);
    const ended = await settledBy(Promise.all(this.#live.values()), Date.now() + STOP_GRACE_MS);
    if (!ended && this.#live.size > 0) this.#exitHardAtExit();
  }

  /**
   * Opens `ns` ahead of the next cycle (it appeared between cycles): read with its handles kept,
   * the reading dropped. Nothing when it is held or being opened already, or the budget is spent.
   */
  async openAhead(ns: Namespace): Promise<void> {
    if (!this.hasWorkers || this.#held.has(ns.inode) || this.#opening.has(ns.inode) || !this.#hasRoom()) return;
    await this.readAll([ns]);
  }

  /** Reads these namespaces; each result in its namespace's place, `{doubt}` for one handed back. */
  readAll(namespaces: readonly Namespace[]): Promise<PoolResult[]> {
    if (namespaces.length === 0) return Promise.resolve([]);
    this.#growFor(namespaces.length);
    // Queued once the added workers are there: a namespace stays held by the worker that opened it.
    if (this.#growing !== null) return this.#growing.then(() => this.#queueAll(namespaces));
    return this.#queueAll(namespaces);
  }

  /**
   * Adds workers when the namespaces read (or held) outgrow those running: one thread reads
   * namespacesPerWorker held namespaces well within the C floor for entering them, and each thread
   * is a V8 heap of its own (about 10 MB), so a small host keeps one.
   */
  #growFor(reading: number): void {
    const perWorker = this.#options.namespacesPerWorker;
    if (perWorker === undefined || !this.#running || !this.hasWorkers) return;
    const namespaces = Math.max(reading, this.#held.size + this.#opening.size);
    const needed = Math.min(this.#options.workers, Math.ceil(namespaces / perWorker));
    if (needed <= this.#wanted) return;
    const adding = needed - this.#wanted;
    this.#wanted = needed;
    this.#options.logger.info({ workers: needed, namespaces }, 'setns reader: more namespaces, more worker threads');
    const added = Array.from({ length: adding }, () => this.#replace());
    const growing: Promise<void> = Promise.all([this.#growing, ...added]).then(() => {
      if (this.#growing === growing) this.#growing = null;
    });
    this.#growing = growing;
  }

  #queueAll(namespaces: readonly Namespace[]): Promise<PoolResult[]> {
    if (!this.hasWorkers || this.#slots.length === 0) {
      const doubt = this.#doubt();
      return Promise.resolve(namespaces.map(() => doubt));
    }
    return new Promise((resolve) => {
      const group: JobGroup = { results: new Array<PoolResult>(namespaces.length), pending: namespaces.length, resolve };
      for (let index = 0; index < namespaces.length; index++) this.#queue(namespaces[index]!, group, index);
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

  #queue(ns: Namespace, group: JobGroup, index: number): void {
    const owner = this.#held.get(ns.inode)?.slot;
    const slot = owner ?? this.#leastLoaded();
    const hold = owner === undefined && !this.#opening.has(ns.inode) && this.#roomToHold(ns);
    if (hold) this.#opening.add(ns.inode);
    const id = this.#nextId++;
    const spare = this.#spareJobs.pop();
    if (spare === undefined) return void slot.queue.push({ id, ns, hold, postedAt: 0, group, index });
    spare.id = id;
    spare.ns = ns;
    spare.hold = hold;
    spare.postedAt = 0;
    spare.group = group;
    spare.index = index;
    slot.queue.push(spare);
  }

  /** Settles a read into its group. The job is spare from then on: every caller has let go of it (see #spareJobs). */
  #settle(job: Job, result: NamespaceResult | 'doubt'): void {
    if (job.hold) this.#opening.delete(job.ns.inode);
    const { group, index } = job;
    job.group = SETTLED;
    this.#spareJobs.push(job);
    group.results[index] = result === 'doubt' ? this.#doubt() : result;
    group.pending -= 1;
    if (group.pending === 0) group.resolve(group.results);
  }

  /** A read handed back, with the last problem as why. */
  #doubt(): { doubt: string } {
    return { doubt: this.#lastProblem ?? 'the setns workers are not running' };
  }

  /** The worker with the fewest namespaces: those it holds plus those it has to read. */
  #leastLoaded(): Slot {
    let best = this.#slots[0]!;
    const load = (slot: Slot) => slot.held.size + slot.queue.length + slot.jobs.length;
    for (const slot of this.#slots) if (load(slot) < load(best)) best = slot;
    return best;
  }

  /** Whether one more namespace's handles fit the descriptor budget; the first refusal is said once. */
  #roomToHold(ns: Namespace): boolean {
    if (this.#hasRoom()) return true;
    if (!this.#budgetLogged) {
      this.#budgetLogged = true;
      this.#options.logger.warn(
        { held_limit: this.#options.heldLimit, namespace: ns.name },
        'setns reader: the descriptor budget is spent; namespaces past it are entered at each read (raise LimitNOFILE / --ulimit nofile to hold them all)',
      );
    }
    return false;
  }

  /** Whether one more namespace's handles fit the descriptor budget. */
  #hasRoom(): boolean {
    return this.#held.size + this.#opening.size < this.#options.heldLimit;
  }

  #exitHardAtExit(): void {
    let exit: (code: number) => never;
    try {
      exit = bindExit();
    } catch {
      return;
    }
    this.#options.logger.warn({ threads: this.#live.size }, 'setns reader: worker threads are stuck in the kernel; the process ends without waiting for them');
    process.once('exit', (code) => exit(code));
  }

  /** Posts queued reads to every worker with room, in batches that shrink with the queue so the workers finish together. */
  #pump(): void {
    if (!this.hasWorkers) return this.#drainQueue();
    for (const slot of this.#slots) {
      while (slot.queue.length > 0 && slot.batchSizes.length < BATCHES_PER_WORKER) {
        const size = Math.min(MAX_BATCH, Math.ceil(slot.queue.length / BATCHES_PER_WORKER));
        this.#post(slot, slot.queue.splice(0, size));
      }
    }
  }

  #post(slot: Slot, jobs: Job[]): void {
    const postedAt = sharedNow();
    for (const job of jobs) job.postedAt = postedAt;
    slot.jobs.push(...jobs);
    slot.batchSizes.push(jobs.length);
    const request: WorkerRequest = { kind: 'batch', reads: new Float64Array(jobs.length * READ_FIELDS), paths: [] };
    for (let index = 0; index < jobs.length; index++) {
      const job = jobs[index]!;
      writeReadRequest(request.reads, request.paths, index, job.id, job.ns.inode, job.hold, namespaceFile(job.ns));
    }
    slot.worker.postMessage(request);
    if (slot.watchdog === null) this.#watch(slot, this.#options.timeoutMs);
  }

  #drainQueue(): void {
    for (const slot of this.#slots) for (const job of slot.queue.splice(0)) this.#settle(job, 'doubt');
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
    this.#fault(slot, `read of ${JSON.stringify(culprit.ns.name)} timed out`, culprit.ns);
    this.#settle(culprit, { ns: culprit.ns, ok: false, reason: 'timeout', message: `read did not finish within ${timeoutMs} ms; worker terminated`, durationMs: sharedNow() - since });
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    if (reply.kind === 'forgotten') {
      for (const inode of reply.inodes) {
        slot.closing.delete(inode);
        slot.texts.delete(inode);
      }
      return;
    }
    const size = slot.batchSizes[0];
    const replies = reply.kind === 'batch' && size !== undefined ? batchReplies(reply, slot.jobs.slice(0, size).map((job) => job.id)) : null;
    // Late (after a timeout), out of order or unasked-for: the worker and this side disagree about what it did.
    if (reply.kind !== 'batch' || replies === null) {
      this.#fault(slot, `unexpected ${reply.kind} message from worker`);
      return;
    }
    slot.batchSizes.shift();
    const jobs = slot.jobs.splice(0, size);
    if (slot.jobs.length === 0) {
      clearTimeout(slot.watchdog ?? undefined);
      slot.watchdog = null;
    }
    // Handles the worker opened are recorded first, doubt or not: whoever outlives it closes them.
    for (let index = 0; index < jobs.length; index++) {
      const { heldFds } = replies.at(index);
      if (Array.isArray(heldFds)) this.#recordHeld(slot, jobs[index]!.ns, heldFds);
    }
    for (let index = 0; index < jobs.length; index++) {
      const job = jobs[index]!;
      // Read through before the next at(): a plain reply is shown in one object (BatchReplies).
      const read = replies.at(index);
      const text = textOf(slot, job.ns, read, reply);
      const doubt = doubtAbout(slot, job.ns, read) ?? outsideBatch(reply, read) ?? (text === null ? 'its reading names a text the worker never sent' : null);
      if (doubt !== null) {
        // The reads before this one checked out on their own; this one and the later ones are read elsewhere.
        // The fault first: it says why, and the reads settle with that.
        this.#fault(slot, `reading ${JSON.stringify(job.ns.name)}: ${doubt}`);
        for (const later of jobs.slice(index)) this.#settle(later, 'doubt');
        return;
      }
      if (read.outcome.ok && keepsText(read)) slot.texts.set(job.ns.inode, text!);
      this.#settle(job, this.#toResult(slot, job.ns, read, reply, text!));
    }
    this.#pump();
  }

  #recordHeld(slot: Slot, ns: Namespace, fds: number[]): void {
    this.#held.set(ns.inode, { slot, fds, path: ns.path, file: namespaceFile(ns), listedIn: 0, results: [null, null], nextResult: 0 });
    slot.held.add(ns.inode);
    if (this.#forgotten.delete(ns.inode)) this.forget([ns.inode]);
  }

  /**
   * A read's result. Kept packed until the families ask (shared/packedSample.ts). A read of held
   * handles fills one of its namespace's two results, in turn: a result lives from its read to the
   * cycle's end, and made afresh, a thousand a cycle outlived the young generation's collections
   * and were a third of what the old generation took in. In turn, a result stays as it was until
   * its namespace has been read twice more, a cycle after the one it belongs to is over.
   */
  #toResult(slot: Slot, ns: Namespace, reply: ReadReply, batch: PackedBatch, text: DeviceText): NamespaceResult {
    const { outcome, durationMs } = reply;
    if (!outcome.ok) return { ns, ok: false, reason: outcome.reason, message: outcome.message, durationMs };
    const held = reply.entered ? undefined : this.#held.get(ns.inode);
    if (held === undefined || held.slot !== slot) return { ns, ok: true, sample: new PackedSample(batch, outcome, text, this.#options.procNames), durationMs };
    const index = held.nextResult;
    held.nextResult = index === 0 ? 1 : 0;
    const reused = held.results[index];
    if (reused === null) {
      const result: HeldResult = { ns, ok: true, sample: new PackedSample(batch, outcome, text, this.#options.procNames), durationMs };
      held.results[index] = result;
      return result;
    }
    reused.ns = ns;
    reused.durationMs = durationMs;
    reused.sample.refill(batch, outcome, text, this.#options.procNames);
    return reused;
  }

  /**
   * Terminates a worker in doubt, settles its reads and the queued ones as 'doubt', tells the reader,
   * and starts a replacement unless too many terminated threads have not ended yet.
   */
  #fault(slot: Slot, why: string, timedOut: Namespace | null = null): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#lastProblem = why;
    this.#slots.splice(index, 1);
    this.#abandon(slot);
    this.#drainQueue();
    this.#terminate(slot.worker);
    const replace = this.#abandoned.size < MAX_ABANDONED_WORKERS;
    this.#options.logger.warn({ reason: why }, `setns reader: worker terminated${replace ? ' and replaced' : ''}; the rest of this cycle reads with nsenter`);
    this.#options.onFault(timedOut);
    if (replace) void this.#replace();
    else if (!this.#capLogged) {
      this.#capLogged = true;
      this.#options.logger.warn(
        { threads: this.#abandoned.size },
        'setns reader: terminated worker threads are stuck in the kernel; no more replacements until one ends, reading with nsenter',
      );
    }
  }

  /** Terminates a worker; until its thread really ends it counts as abandoned, and its end may make room for a replacement. */
  #terminate(worker: Worker): void {
    if (!this.#live.has(worker) || this.#abandoned.has(worker)) return;
    this.#abandoned.add(worker);
    worker.once('exit', () => {
      this.#abandoned.delete(worker);
      if (this.#running && this.#slots.length + this.#replacing < this.#wanted) void this.#replace();
    });
    void worker.terminate();
  }

  /** Starts a worker in a slot of its own; settles once it is running or could not start (then the pool retires). */
  #replace(): Promise<void> {
    if (this.#stopped || this.#retired) return Promise.resolve();
    this.#replacing += 1;
    return this.#spawn().then(
      (replacement) => {
        this.#replacing -= 1;
        if (this.#stopped || this.#retired) this.#terminate(replacement.worker);
        else this.#addSlot(replacement);
      },
      (error: Error) => {
        this.#replacing -= 1;
        if (!this.#stopped) this.#retire(error.message);
      },
    );
  }

  /** The workers cannot be had: every read settles as 'doubt' from now on. */
  #retire(message: string): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#lastProblem = message;
    this.#drainQueue();
    for (const slot of this.#slots.splice(0)) {
      this.#abandon(slot);
      this.#terminate(slot.worker);
    }
    this.#options.logger.warn({ error: message }, 'setns reader unavailable; reading with nsenter');
  }

  /**
   * The reads queued on a worker that is going away settle as 'doubt'; the handles it holds are
   * closed here once its thread has ended (or the grace for a stuck one has passed).
   */
  #abandon(slot: Slot): void {
    clearTimeout(slot.watchdog ?? undefined);
    slot.watchdog = null;
    slot.batchSizes.length = 0;
    for (const job of [...slot.jobs.splice(0), ...slot.queue.splice(0)]) this.#settle(job, 'doubt');
    const fds = [...slot.closing.values()].flat();
    slot.closing.clear();
    for (const inode of slot.held) {
      fds.push(...this.#held.get(inode)!.fds);
      this.#held.delete(inode);
    }
    slot.held.clear();
    if (fds.length > 0) closeWhenEnded(this.#live.get(slot.worker), fds);
  }

  #addSlot(slot: Slot): void {
    this.#slots.push(slot);
    this.#pump();
  }

  /** A worker that has loaded koffi and knows its own namespace, or a rejection saying why not. */
  #spawn(): Promise<Slot> {
    const progress = new BigInt64Array(new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT));
    const setup: WorkerSetup = { procRoot: this.#options.procRoot, timeoutMs: this.#options.timeoutMs, collectors: this.#options.collectors, procFiles: this.#options.procFiles, progress };
    const url = this.#options.workerUrl ?? new URL('./setnsWorker.js', import.meta.url);
    const worker = new Worker(url, { workerData: setup });
    this.#live.set(worker, new Promise((resolve) => worker.once('exit', () => {
      this.#live.delete(worker);
      resolve();
    })));
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
        this.#terminate(worker);
        reject(new Error(`setns worker did not start: ${message}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${startTimeoutMs} ms`), startTimeoutMs);
      worker.on('error', onError).on('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        if (reply.kind !== 'ready') return fail(reply.kind === 'init-failed' ? reply.message : `sent ${reply.kind} first`);
        settle();
        const slot: Slot = { worker, homeInode: reply.homeInode, jobs: [], batchSizes: [], progress, watchdog: null, queue: [], held: new Set(), closing: new Map(), texts: new Map() };
        worker.on('message', (message: WorkerReply) => this.#onReply(slot, message));
        worker.on('error', (error) => this.#fault(slot, `worker crashed: ${error.message}`));
        worker.on('exit', (code) => this.#fault(slot, `worker exited with ${code}`));
        resolve(slot);
      });
    });
  }
}

/**
 * What is wrong with a reply's namespace bookkeeping, or null when the worker can be trusted. A read
 * of held handles entered nothing: its socket and files were bound to the namespace when opened.
 */
function doubtAbout(slot: Slot, ns: Namespace, reply: ReadReply): string | null {
  if (reply.poisoned) return 'worker reports its namespace in doubt';
  if (!reply.entered) return !reply.outcome.ok || slot.held.has(ns.inode) ? null : 'worker claims handles of a namespace it does not hold';
  if (reply.afterInode !== slot.homeInode) return `worker is in namespace ${reply.afterInode}, not its own ${slot.homeInode}`;
  if (reply.outcome.ok && reply.insideInode !== ns.inode) return `worker read namespace ${reply.insideInode}, not ${ns.inode}`;
  return null;
}

/** A reading said to lie outside its batch's numbers: the worker and this side disagree. */
function outsideBatch(batch: PackedBatch, read: ReadReply): string | null {
  const { outcome } = read;
  if (!outcome.ok) return null;
  const inside = Number.isInteger(outcome.at) && outcome.at >= 0 && outcome.at < batch.numbers.length;
  return inside ? null : `reading at ${outcome.at} lies outside its batch`;
}

/** A failed read's: it has none. */
const NO_TEXT = new DeviceText('');

/**
 * A reading's text: sent with its batch, or the one its namespace's last reading on this worker had
 * (kept on both sides while the worker holds the namespace); null when it is neither (NO_TEXT for a
 * failed read, which has none).
 */
function textOf(slot: Slot, ns: Namespace, read: ReadReply, batch: { texts: readonly string[] }): DeviceText | null {
  const { outcome } = read;
  if (!outcome.ok) return NO_TEXT;
  if (outcome.text === SAME_TEXT) return keepsText(read) ? slot.texts.get(ns.inode) ?? null : null;
  const text = Number.isInteger(outcome.text) ? batch.texts[outcome.text] : undefined;
  return text === undefined ? null : new DeviceText(text);
}

/**
 * Closes the descriptors a terminated worker held once its thread has ended, or after the grace
 * when it is stuck in the kernel: a held socket would keep its namespace alive for good.
 */
function closeWhenEnded(ended: Promise<void> | undefined, fds: readonly number[]): void {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    for (const fd of fds) {
      try {
        closeSync(fd);
      } catch {
        // already closed with its thread
      }
    }
  };
  const timer = setTimeout(close, STOP_GRACE_MS);
  timer.unref();
  if (ended === undefined) close();
  else void ended.then(close);
}
