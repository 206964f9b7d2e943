/**
 * The retry policy of every push target, pure so it is tested on literals (as got's
 * calculateRetryDelay is): which failures are worth another attempt, how long to wait (exponential
 * with jitter, or what the server asked for in Retry-After), and never past the deadline, so a
 * push gives up before the next cycle instead of running into it.
 */
export interface BackoffPolicy {
  /** Wait before the first retry. */
  minDelayMs: number;
  /** Longest computed wait (a server's Retry-After may ask for more, up to maxRetryAfterMs). */
  maxDelayMs: number;
  /** Share of the wait drawn at random, 0 to 1, so a fleet that failed together does not retry together. */
  jitter: number;
  /** A retry is only worth it with at least this long left for the attempt itself. */
  minAttemptMs: number;
  /**
   * Ceiling of a server's Retry-After (push.*.max_retry_after): one reply asking for a day must not
   * stop sending for a day when the receiver is back in seconds. Not maxDelayMs: that would
   * multiply the requests a rate limiter asked to slow.
   */
  maxRetryAfterMs: number;
}

/**
 * Share by which a Retry-After wait is spread: up to this much later than asked, and below the
 * ceiling by up to as much, so a fleet told "60" (or capped together) does not return in one second.
 */
const RETRY_AFTER_SPREAD = 0.2;

/** How one attempt failed. */
export type AttemptFailure =
  /** `code` is Node's (ECONNREFUSED, ETIMEDOUT…), for telling failures apart without their text. */
  | { kind: 'network'; code?: string }
  /** TLS refused a certificate (either side's): the next attempt would meet the same certificate. */
  | { kind: 'tls'; code?: string }
  | { kind: 'status'; status: number; retryAfter?: string | null };

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'not-retryable' | 'deadline' };

export interface RetryInput {
  /** Attempts made so far, ≥ 1. */
  attempt: number;
  failure: AttemptFailure;
  nowMs: number;
  deadlineMs: number;
  policy: BackoffPolicy;
  /** A number in [0, 1); Math.random in production, fixed in tests. */
  random: () => number;
}

/** Network errors (no response), 5xx and 429 are worth another attempt; other 4xx and TLS refusals will fail again. */
export function isRetryable(failure: AttemptFailure): boolean {
  if (failure.kind === 'network') return true;
  if (failure.kind === 'tls') return false;
  return failure.status >= 500 || failure.status === 429;
}

export function nextRetry(input: RetryInput): RetryDecision {
  const { attempt, failure, nowMs, deadlineMs, policy } = input;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a whole number ≥ 1, got ${attempt}`);
  if (!isRetryable(failure)) return { retry: false, reason: 'not-retryable' };
  const asked = failure.kind === 'status' ? retryAfterDelay(failure.retryAfter ?? null, nowMs, policy.maxRetryAfterMs, input.random) : null;
  const delayMs = asked ?? backoffDelay(attempt, policy, input.random);
  // Waiting past the deadline would only end in a shorter, likelier-to-fail attempt or an overrun.
  if (nowMs + delayMs + policy.minAttemptMs > deadlineMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}

/** Exponential: min · 2^(attempt−1), capped at max, of which the `jitter` share is random. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.min(attempt - 1, 52));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds ("120") or an HTTP date. Null when
 * absent or unreadable (then the computed backoff applies); a date in the past means "now".
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names a day and a month; Date.parse would also accept "-1" and other non-dates.
  if (!/[a-z]{3}/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/**
 * The wait a Retry-After earns: never earlier than the server asked, spread up to
 * RETRY_AFTER_SPREAD later, and never past `ceilingMs` (itself spread downwards by as much). Null
 * when absent or unreadable.
 */
export function retryAfterDelay(value: string | null, nowMs: number, ceilingMs: number, random: () => number): number | null {
  const asked = parseRetryAfter(value, nowMs);
  if (asked === null) return null;
  const share = RETRY_AFTER_SPREAD * random();
  return Math.round(Math.min(asked * (1 + share), ceilingMs * (1 - share)));
}

/**
 * A failure's class, for "warn once per distinct error": the status or error code, never the text,
 * which may carry a figure that changes every cycle ("no response within 287 ms").
 */
export function failureClass(failure: AttemptFailure): string {
  if (failure.kind === 'status') return `HTTP ${failure.status}`;
  return `${failure.kind} ${failure.code ?? 'unknown'}`;
}

/**
 * What remote_write does with a batch a receiver refused: drop it only when the receiver says the
 * data itself is malformed (400, 409, 415: it will refuse these samples however often they come),
 * split it when it is too large (413), and keep it for everything else: an expired credential
 * (401, 403), a receiver being moved (404), a proxy (407), overload (429, 5xx), no answer at all.
 */
export type RejectionVerdict = 'drop' | 'split' | 'keep';

const MALFORMED_STATUSES = new Set([400, 409, 415]);

export function rejectionVerdict(failure: AttemptFailure): RejectionVerdict {
  if (failure.kind !== 'status') return 'keep';
  if (MALFORMED_STATUSES.has(failure.status)) return 'drop';
  if (failure.status === 413) return 'split';
  return 'keep';
}
