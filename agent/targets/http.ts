import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import got, { RequestError, type Got } from 'got';
import { HttpsProxyAgent } from 'hpagent';
import { redactUrl } from '../../shared/config/http.js';
import type { HttpClientConfig } from '../../shared/config/types.js';
import { proxyFromEnvironment } from '../../shared/proxy.js';
import type { Logger } from '../log.js';
import { ForwardProxyAgent } from './forwardProxy.js';

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
  body: Buffer;
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
}

/** What an HTTP push target (Pushgateway, remote_write) is built with; all but logger and version injectable for tests. */
export interface HttpTargetDeps<C extends HttpClientConfig> {
  logger: Logger;
  version: string;
  now?: () => number;
  random?: () => number;
  /** By default createHttpClient, at start(). */
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

/** The configuration cannot become a client (a TLS file missing or not PEM). */
export class HttpClientConfigError extends Error {
  override readonly name = 'HttpClientConfigError';
  readonly code = 'EHTTPCONFIG';
}

/** How much of a server's error body goes into a message: enough to act on, never a whole page. */
export const MAX_ERROR_BODY_CHARS = 512;

export function createHttpClient(config: HttpClientConfig, options: HttpClientOptions): HttpClient {
  const readFile = options.readFile ?? ((file: string) => readFileSync(file));
  const tls = readTlsFiles(config, options.at, readFile);
  const proxy = config.proxyUrl ?? proxyFromEnvironment(config.url, options.env ?? process.env);
  const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 1, timeout: 60_000 };
  const agents = proxy === null
    ? { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) }
    : {
        // Plain http as absolute-URI requests (what proxies allow by default), https in a CONNECT tunnel.
        http: new ForwardProxyAgent(proxy, agentOptions),
        https: new HttpsProxyAgent({ ...agentOptions, proxy }),
      };
  const secrets = secretTexts(config, proxy);
  const scrub = (text: string) => scrubSecrets(text, secrets);
  const instance: Got = got.extend({
    headers: { ...config.headers, 'user-agent': `netns-exporter/${options.version}`, ...authHeader(config) },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: 'buffer',
    agent: agents,
    https: {
      certificateAuthority: tls.ca,
      certificate: tls.cert,
      key: tls.key,
      rejectUnauthorized: !config.tls.insecureSkipVerify,
      ...(config.tls.serverName !== null ? { serverName: config.tls.serverName } : {}),
    },
  });

  return {
    url: config.url,
    proxy,
    scrub,
    async request(request) {
      try {
        const response = await instance(request.url ?? config.url, {
          method: request.method,
          body: request.body,
          headers: request.headers ?? {},
          timeout: { request: Math.max(1, Math.floor(request.timeoutMs)) },
          signal: request.signal,
        });
        return { statusCode: response.statusCode, headers: response.headers, body: response.rawBody };
      } catch (error) {
        throw toTransportError(error, request.timeoutMs, proxy, scrub);
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

interface TlsFiles {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

/** Read once at construction: a wrong path is a start-up error naming the file, not a failing push per cycle. */
function readTlsFiles(config: HttpClientConfig, at: string, readFile: (file: string) => Buffer): TlsFiles {
  const read = (file: string | null, key: string): Buffer | undefined => {
    if (file === null) return undefined;
    try {
      return readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new HttpClientConfigError(`${at}.tls_config.${key}: cannot read ${JSON.stringify(file)} (${code})`);
    }
  };
  const files = { ca: read(config.tls.caFile, 'ca_file'), cert: read(config.tls.certFile, 'cert_file'), key: read(config.tls.keyFile, 'key_file') };
  try {
    // Parses the PEM now so a bad file or a key that does not match its certificate fails at start.
    createSecureContext({ ca: files.ca, cert: files.cert, key: files.key });
  } catch (error) {
    const names = [config.tls.caFile, config.tls.certFile, config.tls.keyFile].filter((file) => file !== null).map((file) => JSON.stringify(file));
    throw new HttpClientConfigError(`${at}.tls_config: ${names.join(', ')} not usable: ${(error as Error).message}`);
  }
  return files;
}

function authHeader(config: HttpClientConfig): Record<string, string> {
  if (config.basicAuth !== null) {
    const pair = `${config.basicAuth.username}:${config.basicAuth.password.reveal()}`;
    return { authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
  }
  if (config.bearerToken !== null) return { authorization: `Bearer ${config.bearerToken.reveal()}` };
  return {};
}

/** Every form in which a secret of this config could come back in a server's error text. */
function secretTexts(config: HttpClientConfig, proxy: URL | null): string[] {
  const texts: string[] = [];
  if (config.basicAuth !== null) {
    const password = config.basicAuth.password.reveal();
    texts.push(Buffer.from(`${config.basicAuth.username}:${password}`).toString('base64'), password);
  }
  if (config.bearerToken !== null) texts.push(config.bearerToken.reveal());
  const proxyPassword = proxy?.password;
  if (proxyPassword) texts.push(proxyPassword, decodeURIComponent(proxyPassword));
  // Longest first, so a secret holding another is removed whole; very short ones would scrub noise.
  return [...new Set(texts.filter((text) => text.length >= 4))].sort((a, b) => b.length - a.length);
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
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
  const text = errorText(response);
  const shown = text.length > MAX_ERROR_BODY_CHARS ? `${text.slice(0, MAX_ERROR_BODY_CHARS)}…` : text;
  const hint = response.statusCode === 407 ? ' (from the proxy, which wants credentials: user:password@ in proxy_url or HTTP_PROXY)' : '';
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
