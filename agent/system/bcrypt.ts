import bcrypt from 'bcryptjs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/**
 * bcrypt compares off the main thread. One compare is tens to hundreds of milliseconds of CPU by
 * design; on the main thread a handful of wrong passwords at once would stall the event loop, and
 * with it the pushes and /healthz. This file is both sides: imported, it is the pool; started as a
 * worker (with the role below as workerData), it answers compares. It is the one module outside
 * agent/readers/ allowed to start threads (eslint.config.js).
 */
const WORKER_ROLE = 'netns-exporter-bcrypt';

interface CompareRequest { id: number; password: string; hash: string }
interface CompareReply { id: number; match: boolean }

if (!isMainThread && workerData === WORKER_ROLE) {
  parentPort!.on('message', ({ id, password, hash }: CompareRequest) => {
    let match = false;
    try {
      match = bcrypt.compareSync(password, hash);
    } catch {
      // A hash the library cannot read matches nothing.
    }
    parentPort!.postMessage({ id, match } satisfies CompareReply);
  });
}

/** The pool is full: the caller answers "busy" instead of queueing without bound. */
export class BcryptBusyError extends Error {
  readonly code = 'EBCRYPTBUSY';
}

interface Job { request: CompareRequest; resolve: (match: boolean) => void; reject: (error: Error) => void }

/**
 * At most `size` compares at once, each in its own worker thread; up to `maxWaiting` more wait
 * their turn, and beyond that `compare` fails at once with BcryptBusyError. Workers start on the
 * first compare and never keep the process alive.
 */
export class BcryptPool {
  readonly #size: number;
  readonly #maxWaiting: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #waiting: Job[] = [];
  #nextId = 0;
  #stopped = false;

  constructor(options: { size: number; maxWaiting: number }) {
    this.#size = options.size;
    this.#maxWaiting = options.maxWaiting;
  }

  /** True when `password` hashes to `hash`; resolves false for a hash bcrypt cannot read. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.#stopped) return Promise.reject(new Error('bcrypt pool stopped'));
    if (this.#waiting.length >= this.#maxWaiting && this.#idle.length === 0 && this.#busy.size >= this.#size) {
      return Promise.reject(new BcryptBusyError('too many password checks in progress'));
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ request: { id: this.#nextId++, password, hash }, resolve, reject });
      this.#dispatch();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const job of this.#waiting.splice(0)) job.reject(new Error('bcrypt pool stopped'));
    const workers = [...this.#idle.splice(0), ...this.#busy.keys()];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#idle.pop() ?? (this.#busy.size < this.#size ? this.#spawn() : null);
      if (worker === null) return;
      const job = this.#waiting.shift()!;
      this.#busy.set(worker, job);
      worker.postMessage(job.request);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(new URL(import.meta.url), { workerData: WORKER_ROLE });
    worker.unref();
    worker.on('message', (reply: CompareReply) => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      if (!this.#stopped) this.#idle.push(worker);
      if (job !== undefined && job.request.id === reply.id) job.resolve(reply.match);
      this.#dispatch();
    });
    // A worker that dies takes only its own compare with it; the next compare starts a new one.
    const lost = (error: Error) => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      const index = this.#idle.indexOf(worker);
      if (index >= 0) this.#idle.splice(index, 1);
      job?.reject(error);
      if (!this.#stopped) this.#dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited (${code})`)));
    return worker;
  }
}
