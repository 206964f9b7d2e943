import { setTimeout as sleep } from 'node:timers/promises';
import { nextRetry, type AttemptFailure, type BackoffPolicy } from '../../shared/backoff.js';
import type { Logger } from '../log.js';
import { attemptRequest } from './attempt.js';
import type { HttpClient, HttpRequest } from './httpClient.js';

export interface RetryOptions {
  /** Names the target in the debug line of each retry. */
  target: string;
  policy: BackoffPolicy;
  /** Epoch ms: no attempt starts after it, and no wait would leave less than policy.minAttemptMs before it. */
  deadlineMs: number;
  /** Longest single attempt; bounded further by the time left. */
  timeoutMs: number;
  now: () => number;
  random: () => number;
  logger: Logger;
  /** Ends the attempt in flight and any wait; the last failure is returned. */
  signal?: AbortSignal;
  /** Failures the caller deals with itself instead of retrying (remote_write's drop and split). */
  handledByCaller?: (failure: AttemptFailure) => boolean;
}

/** Why retrying ended without a 2xx. */
/** `retry-after`: a receiver's earlier Retry-After ends too late for an attempt before the deadline. */
type GiveUpReason = 'not-retryable' | 'deadline' | 'aborted' | 'caller' | 'retry-after';

export type SendResult =
  | { ok: true; attempts: number }
  /** `failure` is null when no attempt was made (the deadline came first, or a pending Retry-After); `error` then says why, or is null. */
  | { ok: false; attempts: number; reason: GiveUpReason; failure: AttemptFailure | null; error: string | null };

/**
 * One request, sent until it succeeds, fails in a way not worth repeating (shared/backoff.ts
 * decides, a server's Retry-After first), or a retry would run past the deadline. Every push
 * target sends through here; what happens to the data after a failure is the target's business.
 */
export async function sendWithRetry(client: HttpClient, request: Omit<HttpRequest, 'timeoutMs' | 'signal'>, options: RetryOptions): Promise<SendResult> {
  const { signal } = options;
  let last: { failure: AttemptFailure; error: string } | null = null;
  for (let attempt = 1; ; attempt++) {
    const remaining = options.deadlineMs - options.now();
    // A timer that fired late can leave no time for the attempt nextRetry made room for.
    if (remaining <= 0) return { ok: false, attempts: attempt - 1, reason: 'deadline', failure: last?.failure ?? null, error: last?.error ?? null };
    const result = await attemptRequest(client, { ...request, timeoutMs: Math.min(options.timeoutMs, remaining), ...(signal ? { signal } : {}) });
    if (result.ok) return { ok: true, attempts: attempt };
    last = { failure: result.failure, error: result.error };
    const gaveUp = (reason: GiveUpReason): SendResult => ({ ok: false, attempts: attempt, reason, ...last! });
    if (signal?.aborted) return gaveUp('aborted');
    if (options.handledByCaller?.(result.failure)) return gaveUp('caller');
    const decision = nextRetry({ attempt, failure: result.failure, nowMs: options.now(), deadlineMs: options.deadlineMs, policy: options.policy, random: options.random });
    if (!decision.retry) return gaveUp(decision.reason);
    options.logger.debug({ target: options.target, attempt, delayMs: decision.delayMs, error: result.error }, `${options.target}: attempt failed, retrying`);
    try {
      await sleep(decision.delayMs, undefined, signal ? { signal } : {});
    } catch {
      return gaveUp('aborted');
    }
  }
}
