import { retryAfterDelay, type AttemptFailure, type BackoffPolicy } from '../../shared/backoff.js';
import { redactUrl } from '../../shared/config/redact.js';
import type { HttpClientConfig } from '../../shared/config/configTypes.js';
import { createHttpClient, describeError, type HttpClient, type HttpRequest, type HttpTargetDeps } from './httpClient.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendWithRetry, type SendResult } from './retry.js';
import { TargetStatus } from './status.js';

/**
 * What every HTTP push target holds alike: its client (built on first use, or injected by tests),
 * its clock, its health as /healthz shows it, and sending with retries by the target's policy. A
 * Retry-After that outlives a push holds back the next ones until it is over (capped by the
 * policy, see shared/backoff.ts); /healthz shows when that is.
 */
export class TargetConnection<C extends HttpClientConfig> {
  readonly now: () => number;
  readonly status: TargetStatus;
  #client: HttpClient | null = null;
  /** A Retry-After that outlived a send: no request before this time (epoch ms). */
  #notBeforeMs = 0;

  /** `at` names the config section in errors, e.g. "push.pushgateway". */
  constructor(readonly name: string, readonly at: string, readonly config: C, readonly deps: HttpTargetDeps<C>) {
    this.now = deps.now ?? Date.now;
    this.status = new TargetStatus(name, deps.logger, this.now, { url: redactUrl(config.url.href) });
  }

  /** The client, built on first use; throws HttpClientConfigError naming an unusable TLS or secret file. */
  client(): HttpClient {
    this.#client ??= this.deps.createClient?.(this.config)
      ?? createHttpClient(this.config, { version: this.deps.version, at: this.at, logger: this.deps.logger, ...(this.deps.env ? { env: this.deps.env } : {}) });
    return this.#client;
  }

  get isOpen(): boolean {
    return this.#client !== null;
  }

  /** Closes the keep-alive sockets; a later send builds a new client. */
  close(): void {
    this.#client?.close();
    this.#client = null;
  }

  /** Any failure as a line without secrets. */
  describe(cause: unknown): string {
    return describeError(cause, (text) => this.#client?.scrub(text) ?? redactUrl(text));
  }

  /**
   * Sends with retries. While a receiver's Retry-After is pending, waits for it when it ends in
   * time for an attempt before `deadlineMs`, else sends nothing and says until when.
   */
  async send(
    request: Omit<HttpRequest, 'timeoutMs' | 'signal'>,
    options: { policy: BackoffPolicy; deadlineMs: number; signal?: AbortSignal; handledByCaller?: (failure: AttemptFailure) => boolean },
  ): Promise<SendResult> {
    const random = this.deps.random ?? Math.random;
    const waitMs = this.#notBeforeMs - this.now();
    if (waitMs > 0) {
      if (this.#notBeforeMs + options.policy.minAttemptMs > options.deadlineMs) {
        return { ok: false, attempts: 0, reason: 'retry-after', failure: null, error: `receiver asked to wait (Retry-After) until ${new Date(this.#notBeforeMs).toISOString()}` };
      }
      try {
        await sleep(waitMs, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return { ok: false, attempts: 0, reason: 'aborted', failure: null, error: 'aborted' };
      }
    }
    const result = await sendWithRetry(this.client(), request, {
      ...options, target: this.name, timeoutMs: this.config.timeoutMs, now: this.now, random, logger: this.deps.logger,
    });
    const failure = result.ok ? null : result.failure;
    const asked = failure?.kind === 'status' ? retryAfterDelay(failure.retryAfter ?? null, this.now(), options.policy.maxRetryAfterMs, random) : null;
    this.#notBeforeMs = asked === null ? 0 : this.now() + asked;
    this.status.nextAttemptAt(asked === null ? null : this.#notBeforeMs);
    return result;
  }
}
