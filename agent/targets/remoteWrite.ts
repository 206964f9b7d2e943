import { isRetryable, nextRetry, parseRetryAfter, type BackoffPolicy } from '../../shared/backoff.js';
import { redactUrl } from '../../shared/config/http.js';
import type { RemoteWriteConfig } from '../../shared/config/types.js';
import type { ExtraMetric } from '../../shared/metrics/registry.js';
import { compress, encodeWriteRequest, REMOTE_WRITE_HEADERS, uncompress } from '../../shared/remoteWrite/encode.js';
import { REMOTE_WRITE_METRICS } from '../../shared/remoteWrite/metrics.js';
import {
  chunkSeries, sampleCount, seriesFromMetrics, seriesIndex, staleSeries, type Label, type MetricFamilyJson,
} from '../../shared/remoteWrite/series.js';
import { attemptRequest } from './attempt.js';
import { createHttpClient, describeError, type HttpClient, type HttpTargetDeps } from './http.js';
import { RemoteWriteBuffer, type BufferBatch } from './remoteWriteBuffer.js';
import { TargetStatus } from './status.js';
import type { CycleOutput, PushOutcome, PushTarget, TargetState } from './target.js';

/** Prometheus sends metadata once a minute, not with every batch; so do we. */
export const METADATA_INTERVAL_MS = 60_000;

export type RemoteWriteDeps = HttpTargetDeps<RemoteWriteConfig>;

interface DrainResult {
  attempts: number;
  error: string | null;
}

/**
 * Sends each cycle's samples to a remote_write receiver (protocol 1.0). Every cycle is first put
 * in the buffer, then the buffer is sent oldest first until it is empty or the deadline comes, so
 * an outage only delays samples (within the buffer's bounds) and each series stays in time order.
 * 5xx, 429 and network errors are retried with backoff; any other 4xx means the receiver will never
 * take those samples (out of order, too old, invalid), so they are dropped, counted and logged.
 */
export class RemoteWriteTarget implements PushTarget {
  readonly name = 'remote_write';
  readonly #config: RemoteWriteConfig;
  readonly #deps: RemoteWriteDeps;
  readonly #now: () => number;
  readonly #buffer: RemoteWriteBuffer;
  readonly #policy: BackoffPolicy;
  #client: HttpClient | null = null;
  #opened: Promise<void> | null = null;
  /** push and stop run one at a time: both take entries from the head of the buffer. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The previous cycle's series, to send stale markers for those that disappear. */
  #previous = new Map<string, Label[]>();
  #lastMetadataMs: number | null = null;
  /** A Retry-After that outlived a push: no request before this time. */
  #notBeforeMs = 0;
  #sentSamples = 0;
  #rejectedSamples = 0;
  readonly #status: TargetStatus;

  constructor(config: RemoteWriteConfig, deps: RemoteWriteDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#buffer = new RemoteWriteBuffer({
      maxSamples: config.buffer.maxSamples, maxBytes: config.buffer.maxBytes, dir: config.buffer.dir, logger: deps.logger,
    });
    this.#policy = { minDelayMs: config.minBackoffMs, maxDelayMs: config.maxBackoffMs, jitter: 0.5, minAttemptMs: 100 };
    this.#status = new TargetStatus(this.name, deps.logger, this.#now, { url: redactUrl(config.url.href) });
  }

  /** Builds the HTTP client and loads the on-disk buffer; throws (with the setting named) when either cannot be used. */
  validate(): void {
    this.#ensureClient();
  }

  async start(): Promise<void> {
    this.#ensureClient();
    await this.#open();
  }

  push(cycle: CycleOutput, deadlineMs: number): Promise<PushOutcome> {
    return this.#exclusive(async () => {
      const started = performance.now();
      this.#status.attempted();
      let result: DrainResult;
      try {
        await this.#open();
        await this.#enqueue(cycle);
        result = await this.#drain(this.#ensureClient(), deadlineMs);
      } catch (cause) {
        result = { attempts: 0, error: describeError(cause, (text) => this.#client?.scrub(text) ?? redactUrl(text)) };
      }
      if (result.error === null) this.#status.succeeded();
      else this.#status.failed(result.error);
      return { ok: result.error === null, durationMs: performance.now() - started, attempts: result.attempts, error: result.error };
    });
  }

  state(): TargetState {
    return this.#status.state();
  }

  selfMetrics(): ExtraMetric[] {
    const stats = this.#buffer.stats();
    const M = REMOTE_WRITE_METRICS;
    return [
      { spec: M.samplesSent, values: [{ labels: {}, value: this.#sentSamples }] },
      {
        spec: M.samplesDropped,
        values: [{ labels: { reason: 'buffer_full' }, value: stats.droppedSamples }, { labels: { reason: 'rejected' }, value: this.#rejectedSamples }],
      },
      { spec: M.bufferedSamples, values: [{ labels: {}, value: stats.samples }] },
      { spec: M.bufferedBytes, values: [{ labels: {}, value: stats.bytes }] },
      { spec: M.corruptFiles, values: [{ labels: {}, value: stats.corruptFiles }] },
    ];
  }

  /** Tries to deliver what is buffered before `deadlineMs`; with a buffer folder the rest waits on disk for the next start. */
  stop(deadlineMs: number): Promise<void> {
    return this.#exclusive(async () => {
      const client = this.#client;
      if (client === null) return;
      try {
        if (this.#buffer.stats().samples > 0) await this.#drain(client, deadlineMs);
        const left = this.#buffer.stats().samples;
        if (left > 0) {
          const where = this.#config.buffer.dir === null ? 'lost (no buffer.dir configured)' : `kept in ${this.#config.buffer.dir} for the next start`;
          this.#deps.logger.warn({ target: this.name, samples: left }, `remote_write: undelivered samples at shutdown are ${where}`);
        }
      } finally {
        client.close();
        this.#client = null;
      }
    });
  }

  /** Figures of the buffer, for tests and benchmarks. */
  bufferStats() {
    return { ...this.#buffer.stats(), sentSamples: this.#sentSamples, rejectedSamples: this.#rejectedSamples };
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

  #ensureClient(): HttpClient {
    if (this.#client === null) {
      this.#client = this.#deps.createClient?.(this.#config)
        ?? createHttpClient(this.#config, { version: this.#deps.version, at: 'push.remote_write', ...(this.#deps.env ? { env: this.#deps.env } : {}) });
    }
    return this.#client;
  }

  /** The cycle's series (plus stale markers), cut into request-sized chunks, each compressed once. */
  async #enqueue(cycle: CycleOutput): Promise<void> {
    const timestampMs = cycle.snapshot.timestampMs;
    const families = (await cycle.registry.getMetricsAsJSON()) as unknown as MetricFamilyJson[];
    const { series, metadata, duplicates } = seriesFromMetrics(families, timestampMs, this.#config.externalLabels);
    if (duplicates > 0) this.#deps.logger.debug({ target: this.name, duplicates }, 'remote_write: series with identical labels sent once');
    const stale = staleSeries(this.#previous, series, timestampMs);
    this.#previous = seriesIndex(series);
    const sendMetadata = this.#config.sendMetadata && (this.#lastMetadataMs === null || timestampMs - this.#lastMetadataMs >= METADATA_INTERVAL_MS);
    if (sendMetadata) this.#lastMetadataMs = timestampMs;
    const chunkSize = Math.min(this.#config.maxSamplesPerSend, this.#config.buffer.maxSamples);
    const chunks = chunkSeries([...series, ...stale], chunkSize);
    for (const [index, chunk] of chunks.entries()) {
      const body = compress(encodeWriteRequest({ timeseries: chunk, metadata: sendMetadata && index === 0 ? metadata : [] }));
      await this.#buffer.append(body, sampleCount(chunk), timestampMs);
    }
  }

  /** Sends the buffer oldest first until it is empty, a retry would pass the deadline, or the receiver asks to wait. */
  async #drain(client: HttpClient, deadlineMs: number): Promise<DrainResult> {
    let attempts = 0;
    let rejection: string | null = null;
    let lastError: string | null = null;
    let attempt = 0;
    for (;;) {
      const batch = await this.#buffer.peek(this.#config.maxSamplesPerSend);
      if (batch === null) return { attempts, error: rejection };
      const now = this.#now();
      if (this.#notBeforeMs > now) {
        if (this.#notBeforeMs + this.#policy.minAttemptMs > deadlineMs) {
          return { attempts, error: `receiver asked to wait (Retry-After) until ${new Date(this.#notBeforeMs).toISOString()}; samples stay buffered` };
        }
        await delay(this.#notBeforeMs - now);
        continue;
      }
      const remaining = deadlineMs - now;
      if (remaining <= 0) return { attempts, error: rejection ?? lastError ?? 'deadline reached before the first attempt; samples stay buffered' };
      attempts += 1;
      attempt += 1;
      const result = await attemptRequest(client, {
        method: 'POST', body: requestBody(batch), headers: { ...REMOTE_WRITE_HEADERS }, timeoutMs: Math.min(this.#config.timeoutMs, remaining),
      });
      if (result.ok) {
        await this.#buffer.remove(batch.entries);
        this.#sentSamples += batch.samples;
        attempt = 0;
        continue;
      }
      const { failure, error } = result;
      if (failure.kind === 'status' && !isRetryable(failure)) {
        // The receiver will refuse these samples however often they come (an out-of-order 400 included).
        await this.#buffer.remove(batch.entries);
        this.#rejectedSamples += batch.samples;
        rejection = `${batch.samples} samples rejected: ${error}`;
        this.#deps.logger.warn({ target: this.name, samples: batch.samples, error }, 'remote_write: receiver rejected samples; dropped, not retried');
        attempt = 0;
        continue;
      }
      const decision = nextRetry({ attempt, failure, nowMs: this.#now(), deadlineMs, policy: this.#policy, random: this.#deps.random ?? Math.random });
      if (!decision.retry) {
        const asked = failure.kind === 'status' ? parseRetryAfter(failure.retryAfter ?? null, this.#now()) : null;
        if (asked !== null) this.#notBeforeMs = this.#now() + asked;
        // A TLS refusal lands here too: not worth retrying now, but the samples stay for when it is fixed.
        // No counts in the text: an outage then reads the same every cycle and is logged once.
        return { attempts, error: `${error}; samples stay buffered` };
      }
      lastError = `${error}; samples stay buffered`;
      this.#deps.logger.debug({ target: this.name, attempt, delayMs: decision.delayMs, error }, 'remote_write: attempt failed, retrying');
      await delay(decision.delayMs);
    }
  }
}

/**
 * One entry is sent as stored. Several are merged: concatenated protobuf messages are one message
 * whose repeated fields are concatenated, so the series stay in the buffer's (time) order.
 */
function requestBody(batch: BufferBatch): Buffer {
  if (batch.bodies.length === 1) return toBuffer(batch.bodies[0]!);
  return toBuffer(compress(Buffer.concat(batch.bodies.map((body) => uncompress(body)))));
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
