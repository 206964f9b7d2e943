import type { BackoffPolicy, AttemptFailure } from '../../shared/backoff.js';
import { redactUrl } from '../../shared/config/redact.js';
import type { HttpClientConfig } from '../../shared/config/configTypes.js';
import { createHttpClient, describeError, type HttpClient, type HttpRequest, type HttpTargetDeps } from './httpClient.js';
import { sendWithRetry, type SendResult } from './retry.js';
import { TargetStatus } from './status.js';

/**
 * What every HTTP push target holds alike: its client (built on first use, or injected by tests),
 * its clock, its health as /healthz shows it, and sending with retries by the target's policy.
 */
export class TargetConnection<C extends HttpClientConfig> {
  readonly now: () => number;
  readonly status: TargetStatus;
  #client: HttpClient | null = null;

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

  send(
    request: Omit<HttpRequest, 'timeoutMs' | 'signal'>,
    options: { policy: BackoffPolicy; deadlineMs: number; signal?: AbortSignal; handledByCaller?: (failure: AttemptFailure) => boolean },
  ): Promise<SendResult> {
    return sendWithRetry(this.client(), request, {
      ...options, target: this.name, timeoutMs: this.config.timeoutMs, now: this.now, random: this.deps.random ?? Math.random, logger: this.deps.logger,
    });
  }
}
