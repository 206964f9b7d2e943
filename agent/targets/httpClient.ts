import http from 'node:http';
import https from 'node:https';
// Before got: see the module's comment (6 MB of ICU data otherwise).
import { restoreListFormat } from './deferListFormat.js';
import got, { RequestError, type Got } from 'got';
import { HttpsProxyAgent } from 'hpagent';
import { redactUrl } from '../../shared/config/redact.js';
import type { HttpClientConfig } from '../../shared/config/configTypes.js';
import { proxyFromEnvironment } from '../../shared/proxy.js';
import type { Logger } from '../log.js';
import { CredentialFiles, HttpClientConfigError, REAL_FILES, type FileAccess } from './credentials.js';
import { ForwardProxyAgent } from './forwardProxy.js';
import { decodeResponseBody, MAX_RESPONSE_BODY_BYTES } from './responseBody.js';

restoreListFormat();

/**
 * The HTTP client every push target shares (Pushgateway, remote_write): Prometheus' http_config
 * (auth, TLS, proxy, headers) on top of got, with the defaults a pusher needs instead of got's:
 * a timeout on every request (got has none), no retries in got (the targets retry themselves,
 * bounded by the cycle's deadline, see shared/backoff.ts), no redirects (a redirect would carry the
 * body and the credentials to a host nobody configured), and HTTP statuses returned, not thrown.
 */
export interface HttpClient {
  /** The configured endpoint, for building request URLs. */
  readonly url: URL;
  /** The proxy in use (configured or from the environment), or null; its password is not shown by `describe`. */
  readonly proxy: URL | null;
  /**
   * One attempt. Resolves with any HTTP status (2xx to 5xx); rejects with HttpTransportError when
   * no response came (refused, timeout, TLS, proxy, aborted).
   */
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Removes every secret this client knows from `text` (for error bodies that echo a request). */
  scrub(text: string): string;
  /** Closes the keep-alive sockets. */
  close(): void;
}

export interface HttpRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Defaults to the configured URL. */
  url?: URL;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** This attempt's timeout; the caller bounds it by its deadline. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** Decoded, at most MAX_RESPONSE_BODY_BYTES; empty when `bodyTooLarge`. */
  body: Buffer;
  /** The body went past MAX_RESPONSE_BODY_BYTES on the wire or decompressed, and was not read further. */
  bodyTooLarge?: boolean;
}

export interface HttpClientOptions {
  /** Shown in the User-Agent: `netns-exporter/<version>`. */
  version: string;
  /** Names the config section in errors, e.g. "push.pushgateway". */
  at: string;
  /** Environment for HTTPS_PROXY / HTTP_PROXY / NO_PROXY; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Reads the TLS files; injectable for tests. */
  readFile?: (file: string) => Buffer;
  /** Told when a changed secret or TLS file cannot be used (the previous credentials stay in use). */
  logger?: Logger;
}

/** What an HTTP push target (Pushgateway, remote_write) is built with; all but logger and version injectable for tests. */
export interface HttpTargetDeps<C extends HttpClientConfig> {
  logger: Logger;
  version: string;
  now?: () => number;
  random?: () => number;
  /** By default createHttpClient, called on the first push (connection.ts), not at start(). */
  createClient?: (config: C) => HttpClient;
  /** Environment for the proxy variables; process.env by default. */
  env?: Record<string, string | undefined>;
}

/** A push attempt that got no HTTP response. `code` is Node's (ECONNREFUSED, ETIMEDOUT, CERT_HAS_EXPIRED…). */
export class HttpTransportError extends Error {
  override readonly name = 'HttpTransportError';
  /**
   * @param tls true when TLS itself refused (an untrusted or misnamed certificate on either side):
   *   the same on every attempt until someone changes a certificate or the config, so not retried.
   * @param proxyStatus the proxy's answer when it refused the CONNECT tunnel (403, 407, 502…): the
   *   retry policy judges it as it judges the receiver's own statuses.
   */
  constructor(message: string, readonly code: string, readonly tls = false, readonly proxyStatus: number | null = null) {
    super(message);
  }
}

/** How much of a server's error body goes into a message: enough to act on, never a whole page. */
const MAX_ERROR_BODY_CHARS = 512;

export function createHttpClient(config: HttpClientConfig, options: HttpClientOptions): HttpClient {
  const files: FileAccess = options.readFile ? { ...REAL_FILES, readFile: options.readFile } : REAL_FILES;
  const credentials = new CredentialFiles(config, options.at, files);
  const proxy = config.proxyUrl ?? proxyFromEnvironment(config.url, options.env ?? process.env);
  const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 1, timeout: 60_000 };
  const agents = proxy === null
    ? { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) }
    : {
        // Plain http as absolute-URI requests (what proxies allow by default), https in a CONNECT tunnel.
        http: new ForwardProxyAgent(proxy, agentOptions),
        https: new HttpsProxyAgent({ ...agentOptions, proxy }),
      };
  // The secrets of every credential used so far: an error text may echo an older one.
  const known = new Set<string>();
  const scrub = (text: string) => scrubSecrets(text, [...known].sort((a, b) => b.length - a.length));
  const instance: Got = got.extend({
    headers: { ...config.headers, 'user-agent': `netns-exporter/${options.version}` },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: 'buffer',
    // Decoded here, within the body limit: got would inflate a gzip body whole.
    decompress: false,
    agent: agents,
  });

  return {
    url: config.url,
    proxy,
    scrub,
    async request(request) {
      // Re-read when a secret or TLS file changed; the https agent keys its sockets by these
      // files, so a rotated certificate is used on the next new connection.
      const before = credentials.rotationError;
      const { authHeader, tls, secrets } = credentials.current();
      const after = credentials.rotationError;
      if (after !== null && after !== before) options.logger?.warn({ error: after }, `${options.at}: a changed secret or TLS file is not usable; the previous one stays in use`);
      else if (after === null && before !== null) options.logger?.info(`${options.at}: changed secret or TLS files are in use`);
      for (const secret of secrets) known.add(secret);
      let head: { statusCode: number; headers: http.IncomingHttpHeaders } | null = null;
      let tooLarge = false;
      try {
        const url = request.url ?? config.url;
        const sending = instance(url, {
          method: request.method,
          body: request.body,
          headers: { ...(request.headers ?? {}), ...authHeader },
          timeout: { request: Math.max(1, Math.floor(request.timeoutMs)) },
          signal: request.signal,
          // Only a TLS connection reads these; got checks every field of them on each request, so
          // a plain-http push (28,000 series, several requests a cycle) leaves them out.
          ...(url.protocol === 'https:' ? {
            https: {
              certificateAuthority: tls.ca,
              certificate: tls.cert,
              key: tls.key,
              rejectUnauthorized: !config.tls.insecureSkipVerify,
              ...(config.tls.serverName !== null ? { serverName: config.tls.serverName } : {}),
            },
          } : {}),
        });
        // The status line as soon as it arrives (got's own 'response' event may come after the body started).
        sending.on('request', (outgoing: http.ClientRequest) => outgoing.once('response', (incoming) => (head = { statusCode: incoming.statusCode ?? 0, headers: incoming.headers })));
        sending.on('downloadProgress', (progress: { transferred: number }) => {
          if (progress.transferred <= MAX_RESPONSE_BODY_BYTES || tooLarge) return;
          tooLarge = true;
          sending.cancel();
        });
        const response = await sending;
        const { body, tooLarge: inflatedTooLarge } = decodeResponseBody(response.rawBody, response.headers['content-encoding']);
        return { statusCode: response.statusCode, headers: response.headers, body, ...(inflatedTooLarge ? { bodyTooLarge: true } : {}) };
      } catch (error) {
        // Cut off at the limit: the status and headers came, which is what the targets judge by.
        // (Set in the event handlers above, which TypeScript's narrowing does not see.)
        const cut = head as { statusCode: number; headers: http.IncomingHttpHeaders } | null;
        if (tooLarge && cut !== null) return { ...cut, body: Buffer.alloc(0), bodyTooLarge: true };
        throw toTransportError(error, request.timeoutMs, proxy, scrub);
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('<secret>');
  return redactUrl(result);
}

function toTransportError(error: unknown, timeoutMs: number, proxy: URL | null, scrub: (text: string) => string): HttpTransportError {
  const cause = error as RequestError & { code?: string };
  const code = typeof cause?.code === 'string' ? cause.code : 'EUNKNOWN';
  const via = proxy === null ? '' : ` via proxy ${redactUrl(proxy.origin)}`;
  // hpagent's words for a CONNECT the proxy answered with anything but 200.
  const tunnel = /^Bad response: (\d+)$/.exec(cause?.message ?? '');
  const tunnelStatus = tunnel ? Number(tunnel[1]) : null;
  let text: string;
  if (code === 'ETIMEDOUT') text = `no response within ${Math.round(timeoutMs)} ms`;
  else if (code === 'ERR_ABORTED' || cause?.name === 'AbortError') text = 'aborted';
  else if (tunnelStatus !== null) text = `proxy refused the tunnel (${tunnelStatus}${TUNNEL_HINTS[tunnelStatus] ?? ''})`;
  else text = cause instanceof Error ? opensslReason(cause.message) : String(error);
  const hint = TLS_HINTS[code];
  return new HttpTransportError(scrub(`${text}${via}${hint ? ` (${hint})` : ''}`), code, isTlsRefusal(code), tunnelStatus);
}

/** OpenSSL's "8070…:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:file:line:…" → its reason. */
function opensslReason(message: string): string {
  const match = /^[0-9A-F]+:error:[0-9A-F]+:[^:]+:[^:]+:([^:]+):/.exec(message.trim());
  return match ? `TLS: ${match[1]}` : message.trim();
}

function isTlsRefusal(code: string): boolean {
  return code in TLS_HINTS || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_CERT') || /^(?:CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code);
}

/** Why a proxy usually refuses a tunnel, for the operator who reads the log. */
const TUNNEL_HINTS: Record<number, string> = {
  403: ': its rules forbid this tunnel; squid\'s default allows CONNECT only to port 443',
  407: ': it wants credentials: user:password@ in proxy_url or HTTPS_PROXY',
};

/** What an operator should check for the usual TLS failures; Node's own texts are terse. */
const TLS_HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted certificate: set tls_config.ca_file to its CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted certificate: set tls_config.ca_file to its CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted certificate: set tls_config.ca_file to its CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted certificate: set tls_config.ca_file to its CA',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host: check the URL or tls_config.server_name',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the server refused our client certificate: check tls_config.cert_file and key_file',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server wants a client certificate: set tls_config.cert_file and key_file',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the server does not trust our client certificate\'s CA',
};

/**
 * A failed response as one line for logs and /healthz: status, reason and the start of the server's
 * own error text (the Pushgateway explains a rejected push there), with every secret removed.
 */
export function describeResponse(response: HttpResponse, scrub: (text: string) => string): string {
  const reason = http.STATUS_CODES[response.statusCode] ?? 'unknown status';
  const text = response.bodyTooLarge ? `response body too large (over ${MAX_RESPONSE_BODY_BYTES / 1024} KiB; not read further)` : errorText(response);
  const shown = text.length > MAX_ERROR_BODY_CHARS ? `${text.slice(0, MAX_ERROR_BODY_CHARS)}…` : text;
  const location = response.statusCode >= 300 && response.statusCode < 400 ? response.headers.location : undefined;
  const hint = response.statusCode === 407 ? ' (from the proxy, which wants credentials: user:password@ in proxy_url or HTTP_PROXY)'
    // Not followed (it would carry the body and credentials to a host nobody configured): say where it points.
    : location !== undefined ? ` to ${redactUrl(location)} (redirects are not followed: set the URL to where it points)` : '';
  return scrub(`HTTP ${response.statusCode} ${reason}${hint}${shown === '' ? '' : `: ${shown}`}`);
}

/**
 * The part of an error body worth a log line. An HTML page (a proxy's or a load balancer's error
 * page) is reduced to its title and squid's error code, not pasted as markup.
 */
function errorText(response: HttpResponse): string {
  const body = response.body.toString('utf8');
  const squidError = response.headers['x-squid-error'];
  if (!/html/i.test(String(response.headers['content-type'] ?? '')) && !/^\s*<(?:!doctype|html)/i.test(body)) {
    return body.replace(/\s+/g, ' ').trim();
  }
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  return [title, squidError === undefined ? '' : `(proxy error ${String(squidError)})`].filter(Boolean).join(' ');
}

/** Any failure (transport error, unexpected throw) as a secret-free line. */
export function describeError(error: unknown, scrub: (text: string) => string): string {
  if (error instanceof HttpTransportError || error instanceof HttpClientConfigError) return scrub(error.message);
  return scrub(error instanceof Error ? error.message : String(error));
}
