import { rm } from 'node:fs/promises';
import { failureClass, rejectionVerdict, type BackoffPolicy } from '../../shared/backoff.js';
import type { RemoteWriteConfig } from '../../shared/config/configTypes.js';
import type { ExtraMetric } from '../../shared/metrics/families.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS } from '../../shared/remoteWrite/encode.js';
import { REMOTE_WRITE_METRICS } from '../../shared/remoteWrite/metrics.js';
import { SeriesCache } from '../../shared/remoteWrite/seriesCache.js';
import { sampleCount, type TimeSeries } from '../../shared/remoteWrite/series.js';
import { TargetConnection } from './connection.js';
import type { HttpTargetDeps } from './httpClient.js';
import type { SendResult } from './retry.js';
import { RemoteWriteBuffer, type BufferBatch, type BufferEntry, type HandedEntry } from './remoteWriteBuffer.js';
import { loadSnappy, type SnappyBlock } from './snappy.js';
import { STOP_LOCAL_WORK_MS, type CycleOutput, type PushOutcome, type PushTarget, type TargetState } from './target.js';

/** Prometheus sends metadata once a minute, not with every batch; so do we. */
const METADATA_INTERVAL_MS = 60_000;

export interface RemoteWriteDeps extends HttpTargetDeps<RemoteWriteConfig> {
  /** The target this one replaces (SIGHUP): start() takes over its buffer instead of opening the folder anew. */
  predecessor?: RemoteWriteTarget;
}

interface DrainResult {
  attempts: number;
  error: string | null;
  /** The error's class (status or error code), for "warn once per distinct error". */
  errorClass: string | null;
}

/**
 * Sends each cycle's samples to a remote_write receiver (protocol 1.0). Every cycle is first put
 * in the buffer (in memory), then the buffer is sent oldest first until it is empty or the deadline
 * comes, and only what is left is written to buffer.dir: sending first frees the disk before the
 * write, and a receiver that is up never costs a write. An outage only delays samples (within the
 * buffer's bounds) and each series stays in time order. 5xx, 429 and network errors are retried
 * with backoff; only 400, 409 and 415 (the receiver calls the data malformed) drop a batch, a 413
 * splits it; every other answer (401, 403, 404, 407…) keeps it for the next cycle.
 */
export class RemoteWriteTarget implements PushTarget {
  readonly name = 'remote_write';
  readonly #config: RemoteWriteConfig;
  readonly #deps: RemoteWriteDeps;
  readonly #buffer: RemoteWriteBuffer;
  readonly #policy: BackoffPolicy;
  readonly #link: TargetConnection<RemoteWriteConfig>;
  #opened: Promise<void> | null = null;
  /** push and stop run one at a time: both take entries from the head of the buffer. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Each series' encoded labels from cycle to cycle, and the stale markers of those that go. */
  #series: SeriesCache;
  /** Snappy block compression, loaded on first use: the native binding where it loads, else snappyjs. */
  #snappy: SnappyBlock | null = null;
  /** The push in flight: stop() aborts it, so shutdown is not held up by retries. */
  #inFlight: AbortController | null = null;
  #lastMetadataMs: number | null = null;
  #sentSamples = 0;
  /** Samples refused as already delivered: files from before a restart in a read-only buffer.dir. */
  #resentSamples = 0;
  readonly #dropped = { rejected: 0, too_large: 0 };
  /** Set once this target handed its buffer to the one that replaced it (SIGHUP): it pushes there. */
  #successor: RemoteWriteTarget | null = null;

  constructor(config: RemoteWriteConfig, deps: RemoteWriteDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#buffer = new RemoteWriteBuffer({
      maxSamples: config.buffer.maxSamples, maxBytes: config.buffer.maxBytes, dir: config.buffer.dir, logger: deps.logger,
    });
    this.#policy = { minDelayMs: config.minBackoffMs, maxDelayMs: config.maxBackoffMs, jitter: 0.5, minAttemptMs: 100, maxRetryAfterMs: config.maxRetryAfterMs };
    this.#link = new TargetConnection(this.name, 'push.remote_write', config, deps);
    this.#series = new SeriesCache(config.externalLabels);
  }

  /**
   * Builds the HTTP client (reading its TLS and secret files); throws, naming the setting, when it
   * cannot. The buffer folder is opened by start(), which takes its lock.
   */
  validate(): void {
    this.#link.client();
  }

  async start(): Promise<void> {
    this.#link.client();
    const predecessor = this.#deps.predecessor;
    if (predecessor !== undefined && predecessor !== this) await predecessor.handOver(this);
    else await this.#open();
  }

  push(cycle: Pick<CycleOutput, 'snapshot' | 'families'>, deadlineMs: number): Promise<PushOutcome> {
    return this.#exclusive(async () => {
      if (this.#successor !== null) return this.#successor.push(cycle, deadlineMs);
      const started = performance.now();
      this.#link.status.attempted();
      const controller = new AbortController();
      this.#inFlight = controller;
      let result: DrainResult;
      try {
        await this.#open();
        await this.#enqueue(cycle);
        result = await this.#drain(deadlineMs, controller.signal);
      } catch (cause) {
        result = { attempts: 0, error: this.#link.describe(cause), errorClass: null };
      } finally {
        if (this.#inFlight === controller) this.#inFlight = null;
      }
      // What the send left goes to disk now; a write that fails keeps it in memory (never throws).
      await this.#buffer.persist();
      if (result.error === null) this.#link.status.succeeded();
      else this.#link.status.failed(result.error, result.errorClass ?? undefined);
      return { ok: result.error === null, durationMs: performance.now() - started, attempts: result.attempts, error: result.error };
    });
  }

  /**
   * Hands this target's buffer to `successor` (a target built from a reloaded config): what is on
   * disk stays for it (same folder) and the entries held in memory move over; the folder's lock is
   * released for it to take. Afterwards this target forwards any push to the successor and its
   * stop() only closes its connections. Waits for a push in flight.
   */
  handOver(successor: RemoteWriteTarget): Promise<void> {
    return this.#exclusive(async () => {
      // Reloaded twice before the loop switched: the newest holder hands over.
      if (this.#successor !== null) return this.#successor.handOver(successor);
      const sameFolder = this.#config.buffer.dir !== null && this.#config.buffer.dir === successor.#config.buffer.dir;
      const { entries, files } = await this.#buffer.handOut(!sameFolder);
      await this.#buffer.close();
      try {
        await successor.#adopt(entries, this.#series, this.#lastMetadataMs);
      } catch (error) {
        // The successor cannot take them (its folder is unusable): this target keeps its buffer and runs on.
        await this.#buffer.relock();
        await this.#buffer.adopt(entries);
        throw error;
      }
      this.#successor = successor;
      // A read-only folder keeps them: the successor holds the samples, a resend is only a duplicate.
      for (const file of files) await rm(file, { force: true }).catch(() => undefined);
      if (entries.length > 0) this.#deps.logger.info({ target: this.name, entries: entries.length }, 'remote_write: buffered samples handed to the reloaded target');
    });
  }

  state(): TargetState {
    return this.#link.status.state();
  }

  selfMetrics(): ExtraMetric[] {
    const stats = this.#buffer.stats();
    const M = REMOTE_WRITE_METRICS;
    return [
      { spec: M.samplesSent, values: [{ labels: {}, value: this.#sentSamples }] },
      {
        spec: M.samplesDropped,
        values: [
          { labels: { reason: 'buffer_full' }, value: stats.droppedSamples },
          { labels: { reason: 'rejected' }, value: this.#dropped.rejected },
          { labels: { reason: 'too_large' }, value: this.#dropped.too_large },
          { labels: { reason: 'disk_full' }, value: stats.diskFullSamples },
          { labels: { reason: 'corrupt' }, value: stats.corruptSamples },
          { labels: { reason: 'deleted' }, value: stats.deletedSamples },
        ],
      },
      { spec: M.bufferedSamples, values: [{ labels: {}, value: stats.samples }] },
      { spec: M.resentSamples, values: [{ labels: {}, value: this.#resentSamples }] },
      { spec: M.bufferedBytes, values: [{ labels: {}, value: stats.bytes }] },
      { spec: M.corruptFiles, values: [{ labels: {}, value: stats.corruptFiles }] },
    ];
  }

  /**
   * Ends the push in flight (its retries and waits), then tries to deliver what is buffered before
   * `deadlineMs`; with a buffer folder the rest waits on disk for the next start.
   */
  stop(deadlineMs: number): Promise<void> {
    this.#inFlight?.abort();
    return this.#exclusive(async () => {
      try {
        if (!this.#link.isOpen || this.#successor !== null) return;
        if (this.#buffer.stats().samples > 0) await this.#drain(deadlineMs - STOP_LOCAL_WORK_MS);
        await this.#buffer.persist();
        const { samples, memoryEntries } = this.#buffer.stats();
        if (samples > 0) {
          const where = this.#config.buffer.dir === null ? 'lost (no buffer.dir configured)'
            : memoryEntries > 0 ? `partly lost: ${memoryEntries} entries could not be written to ${this.#config.buffer.dir}` : `kept in ${this.#config.buffer.dir} for the next start`;
          this.#deps.logger.warn({ target: this.name, samples }, `remote_write: undelivered samples at shutdown are ${where}`);
        }
      } finally {
        await this.#buffer.close();
        this.#link.close();
      }
    });
  }

  /**
   * Takes over a predecessor's memory entries and its series (for stale markers): kept as they
   * are under the same external labels, else sent anew under the new ones, the old ones marked stale.
   */
  async #adopt(entries: HandedEntry[], series: SeriesCache, lastMetadataMs: number | null): Promise<void> {
    await this.#open();
    await this.#buffer.adopt(entries);
    this.#series = series.successor(this.#config.externalLabels);
    this.#lastMetadataMs = lastMetadataMs;
    await this.#buffer.persist();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #open(): Promise<void> {
    this.#opened ??= this.#buffer.open().catch((error: Error) => {
      this.#opened = null;
      throw new Error(`push.remote_write.buffer.dir: cannot use ${JSON.stringify(this.#config.buffer.dir)}: ${error.message}`);
    });
    return this.#opened;
  }

  /** The cycle's series (plus stale markers), cut into request-sized chunks, each compressed once. */
  async #enqueue(cycle: Pick<CycleOutput, 'snapshot' | 'families'>): Promise<void> {
    const timestampMs = cycle.snapshot.timestampMs;
    const sendMetadata = this.#config.sendMetadata && (this.#lastMetadataMs === null || timestampMs - this.#lastMetadataMs >= METADATA_INTERVAL_MS);
    if (sendMetadata) this.#lastMetadataMs = timestampMs;
    const maxSamples = Math.min(this.#config.maxSamplesPerSend, this.#config.buffer.maxSamples);
    const { compress } = await this.#compressor();
    const { chunks, duplicates } = this.#series.encode(cycle.families, timestampMs, { maxSamples, metadata: sendMetadata, compress });
    if (duplicates > 0) this.#deps.logger.debug({ target: this.name, duplicates }, 'remote_write: series with identical labels sent once');
    for (const chunk of chunks) await this.#buffer.append(chunk.body, chunk.samples, timestampMs);
  }

  /**
   * Sends the buffer oldest first until it is empty, a retry would pass the deadline, or the
   * receiver refuses in a way that is not about the data (401, 403, 404, 407, a TLS refusal): then
   * nothing is dropped, draining stops, and the next cycle tries again.
   */
  async #drain(deadlineMs: number, signal?: AbortSignal): Promise<DrainResult> {
    let attempts = 0;
    let rejection: string | null = null;
    for (;;) {
      if (signal?.aborted === true) return { attempts, error: 'stopped before it finished; samples stay buffered', errorClass: 'stopped' };
      const batch = await this.#buffer.peek(this.#config.maxSamplesPerSend);
      if (batch === null) return { attempts, error: rejection, errorClass: rejection === null ? null : 'rejected' };
      const result = await this.#send(await this.#requestBody(batch), deadlineMs, signal);
      attempts += result.attempts;
      if (result.ok) {
        await this.#delivered(batch.entries, batch.samples);
        continue;
      }
      const { failure, error } = result;
      if (result.reason === 'aborted') return { attempts, error: 'stopped before it finished; samples stay buffered', errorClass: 'stopped' };
      if (result.reason === 'retry-after') return { attempts, error: `${error}; samples stay buffered`, errorClass: 'retry-after' };
      if (failure === null || error === null) {
        return { attempts, error: rejection ?? 'deadline reached before the first attempt; samples stay buffered', errorClass: rejection === null ? 'deadline' : 'rejected' };
      }
      const verdict = rejectionVerdict(failure);
      if (verdict === 'drop' && batch.maybeDelivered) {
        await this.#resent(batch.entries, batch.samples, error);
        continue;
      }
      if (verdict === 'drop') {
        await this.#reject(batch.entries, batch.samples, 'rejected', error);
        rejection = `${batch.samples} samples rejected: ${error}`;
        continue;
      }
      if (verdict === 'split') {
        const split = await this.#sendSplit(batch, deadlineMs, signal);
        attempts += split.attempts;
        if (split.error === null) continue;
        return { attempts, error: `${split.error}; samples stay buffered`, errorClass: split.errorClass };
      }
      // A 401, 404 or TLS refusal lands here too: not worth retrying now, but the samples stay
      // for when it is fixed (a rotated password file is read again on the next attempt).
      return { attempts, error: `${error}; samples stay buffered`, errorClass: failureClass(failure) };
    }
  }

  /**
   * A 413: the batch is split in halves (by entries, then by series) and each half sent on its own,
   * through the same retrying send as a whole batch, down to one series; only a single series the
   * receiver still finds too large is dropped. A half that fails otherwise stops the split and the
   * whole batch stays buffered (halves already delivered are sent again later: a receiver takes an
   * identical sample twice without complaint).
   */
  async #sendSplit(batch: BufferBatch, deadlineMs: number, signal: AbortSignal | undefined): Promise<DrainResult> {
    // Loaded on the first 413: an agent whose receiver never answers one never loads protobufjs.
    const { decodeWriteRequest } = await import('../../shared/remoteWrite/decode.js');
    const { uncompress } = await portableSnappy();
    const series = batch.bodies.flatMap((body) => decodeWriteRequest(uncompress(body)).timeseries);
    let attempts = 0;
    let delivered = 0;
    const send = async (part: TimeSeries[]): Promise<{ error: string | null; errorClass: string | null }> => {
      const result = await this.#send(toBuffer((await this.#compressor()).compress(encodeWriteRequest({ timeseries: part, metadata: [] }))), deadlineMs, signal);
      attempts += result.attempts;
      if (result.ok) {
        delivered += sampleCount(part);
        return { error: null, errorClass: null };
      }
      if (result.reason === 'aborted') return { error: 'stopped while splitting a batch the receiver found too large (413)', errorClass: 'stopped' };
      if (result.reason === 'retry-after') return { error: result.error, errorClass: 'retry-after' };
      if (result.failure === null) return { error: 'deadline reached while splitting a batch the receiver found too large (413)', errorClass: 'deadline' };
      const verdict = rejectionVerdict(result.failure);
      if (verdict === 'split' && part.length > 1) {
        const half = Math.ceil(part.length / 2);
        const first = await send(part.slice(0, half));
        return first.error !== null ? first : send(part.slice(half));
      }
      if (verdict !== 'keep') {
        const samples = sampleCount(part);
        const reason = verdict === 'split' ? 'too_large' : 'rejected';
        this.#dropped[reason] += samples;
        this.#deps.logger.warn({ target: this.name, samples, reason, error: result.error }, 'remote_write: receiver rejected samples; dropped, not retried');
        return { error: null, errorClass: null };
      }
      return { error: result.error, errorClass: failureClass(result.failure) };
    };
    const outcome = await send(series);
    if (outcome.error === null) {
      // What was dropped along the way is counted already.
      this.#sentSamples += delivered;
      await this.#buffer.remove(batch.entries);
    }
    return { attempts, ...outcome };
  }

  /** One request body, retried by the target's policy; the drop and the split are the caller's. */
  #send(body: Buffer, deadlineMs: number, signal: AbortSignal | undefined): Promise<SendResult> {
    return this.#link.send({ method: 'POST', body, headers: { ...REMOTE_WRITE_HEADERS } }, {
      policy: this.#policy, deadlineMs, ...(signal ? { signal } : {}), handledByCaller: (failure) => rejectionVerdict(failure) !== 'keep',
    });
  }

  /**
   * One entry is sent as stored. Several are merged: concatenated protobuf messages are one message
   * whose repeated fields are concatenated, so the series stay in the buffer's (time) order.
   */
  async #requestBody(batch: BufferBatch): Promise<Buffer> {
    if (batch.bodies.length === 1) return toBuffer(batch.bodies[0]!);
    const { uncompress } = await portableSnappy();
    return toBuffer((await this.#compressor()).compress(Buffer.concat(batch.bodies.map((body) => uncompress(body)))));
  }

  async #compressor(): Promise<SnappyBlock> {
    if (this.#snappy === null) {
      this.#snappy = await loadSnappy();
      this.#deps.logger.debug({ target: this.name, snappy: this.#snappy.kind }, 'remote_write: snappy compression loaded');
    }
    return this.#snappy;
  }

  async #delivered(entries: BufferEntry[], samples: number): Promise<void> {
    await this.#buffer.remove(entries);
    this.#sentSamples += samples;
  }

  /**
   * A file from before a restart, found in a read-only folder, that the receiver refused: most
   * likely delivered then (its file could not be removed), so a duplicate, not malformed data.
   * Counted apart; it drops nothing else, since such a file is always sent alone.
   */
  async #resent(entries: BufferEntry[], samples: number, error: string): Promise<void> {
    await this.#buffer.remove(entries);
    if (this.#resentSamples === 0) {
      this.#deps.logger.warn({ target: this.name, samples, error }, 'remote_write: the receiver refused samples buffered before the restart, most likely delivered then (buffer.dir is read-only, their files could not be removed); counted as resent, nothing else dropped');
    }
    this.#resentSamples += samples;
  }

  async #reject(entries: BufferEntry[], samples: number, reason: 'rejected', error: string): Promise<void> {
    // The receiver will refuse these samples however often they come (an out-of-order 400 included).
    await this.#buffer.remove(entries);
    this.#dropped[reason] += samples;
    this.#deps.logger.warn({ target: this.name, samples, error }, 'remote_write: receiver rejected samples as malformed; dropped, not retried');
  }
}

/**
 * snappyjs, to read buffered requests back (several merged into one request, the 413 split):
 * loaded the first time that happens, after an outage, not by every agent.
 */
function portableSnappy(): Promise<typeof import('../../shared/remoteWrite/snappyBlock.js')> {
  return import('../../shared/remoteWrite/snappyBlock.js');
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

