import type { Logger } from '../log.js';
import { problemKey } from '../problemLog.js';
import type { TargetState } from './target.js';

/**
 * A push target's health as /healthz shows it, and its log lines about failing: a target whose
 * every cycle fails the same way (a gateway rejecting the body, a wrong password) warns once per
 * distinct error, then again only when the error changes or after it recovered, not every cycle.
 * "Distinct" is the error's class (HTTP status, error code), not its text: a text may carry a
 * figure that changes every cycle ("no response within 287 ms"). Without a class, the text with
 * its numbers blanked out stands in. Errors handed in must already be free of secrets.
 */
export class TargetStatus {
  #lastSuccessMs: number | null = null;
  #lastAttemptMs: number | null = null;
  #lastError: string | null = null;
  #consecutiveFailures = 0;
  #loggedError: string | null = null;
  #nextAttemptMs: number | null = null;

  constructor(
    readonly name: string,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Extra fields of every warning (the endpoint, without credentials). */
    private readonly context: Record<string, unknown> = {},
  ) {}

  attempted(): void {
    this.#lastAttemptMs = this.now();
  }

  succeeded(): void {
    if (this.#consecutiveFailures > 0) this.logger.info({ target: this.name, after: this.#consecutiveFailures }, `${this.name} push succeeds again`);
    this.#lastSuccessMs = this.now();
    this.#lastError = null;
    this.#consecutiveFailures = 0;
    this.#loggedError = null;
  }

  failed(error: string, errorClass: string = problemKey(error)): void {
    this.#lastError = error;
    this.#consecutiveFailures += 1;
    if (errorClass === this.#loggedError) return;
    this.logger.warn({ target: this.name, ...this.context, error }, `${this.name} push failed`);
    this.#loggedError = errorClass;
  }

  /** When a receiver's Retry-After lets the next request go (null: no wait pending). */
  nextAttemptAt(ms: number | null): void {
    this.#nextAttemptMs = ms;
  }

  state(): TargetState {
    return {
      name: this.name,
      lastSuccessMs: this.#lastSuccessMs,
      lastAttemptMs: this.#lastAttemptMs,
      lastError: this.#lastError,
      consecutiveFailures: this.#consecutiveFailures,
      nextAttemptMs: this.#nextAttemptMs,
    };
  }
}
