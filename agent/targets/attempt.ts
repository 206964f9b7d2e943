import type { AttemptFailure } from '../../shared/backoff.js';
import { describeResponse, HttpTransportError, type HttpClient, type HttpRequest, type HttpResponse } from './httpClient.js';

/** One HTTP attempt as the retry policy sees it: a 2xx response, or how it failed with a secret-free text. */
export type AttemptResult =
  | { ok: true; response: HttpResponse }
  | { ok: false; failure: AttemptFailure; error: string };

/** Sends once; an HTTP error status or a transport failure becomes a value, anything else still throws. */
export async function attemptRequest(client: HttpClient, request: HttpRequest): Promise<AttemptResult> {
  try {
    const response = await client.request(request);
    if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, response };
    return {
      ok: false,
      failure: { kind: 'status', status: response.statusCode, retryAfter: headerValue(response, 'retry-after') },
      error: describeResponse(response, client.scrub),
    };
  } catch (cause) {
    if (!(cause instanceof HttpTransportError)) throw cause;
    // A proxy refusing the tunnel answered: its 403 or 407 will not change by retrying, its 502 may.
    const failure: AttemptFailure = cause.proxyStatus !== null
      ? { kind: 'status', status: cause.proxyStatus, retryAfter: null }
      : { kind: cause.tls ? 'tls' : 'network', code: cause.code };
    return { ok: false, failure, error: cause.message };
  }
}

function headerValue(response: HttpResponse, name: string): string | null {
  const value = response.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}
