import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { allowedSanPresented, bcryptCost } from '../shared/config/webConfig.js';
import type { ExtraMetric } from '../shared/metrics/families.js';
import { SELF } from '../shared/metrics/catalogue.js';
import type { Logger } from './log.js';
import { BcryptBusyError, BcryptPool } from './system/bcrypt.js';
import type { TlsSettings, WebConfigSource } from './webConfigFile.js';

/** What the listener does with a request before routing it. */
export interface Verdict {
  /** http_server_config.headers: set on every answer, refusals included. */
  headers: Record<string, string>;
  refusal: { status: number; body: string; headers: Record<string, string> } | null;
}

type AuthFailure = 'no_credentials' | 'unknown_user' | 'wrong_password';
type Refusal = 'rate_limit' | 'auth_busy' | 'tls_handshake' | 'client_certificate';

/** Compares at once: the machine's other work (readers, pushes) keeps the rest of the CPU. */
const BCRYPT_THREADS = 2;
/** Waiting compares beyond which a new one is answered 429 at once instead of queueing. */
const BCRYPT_MAX_WAITING = 16;
/** Outcomes remembered per (user, password): a scraper's every request after the first costs no bcrypt. */
const AUTH_CACHE_SIZE = 256;
/** Source addresses whose first failure (of each kind) was logged; beyond this, one line says logging stopped. */
const LOGGED_ADDRESSES_MAX = 1024;
/** bcrypt reads at most 72 bytes; Go's bcrypt refuses a longer password rather than cut it. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;
const SALT_AND_HASH = 'ZmFrZXNhbHRmb3JhYnNlbnR1c2Vyc29mdGhlYWdlbnRvbmx5LjEyMzQ1Njc4OQ';

/**
 * The security layer in front of the listeners' routes, as the exporter-toolkit puts it in front
 * of an exporter's: the rate limit, the configured headers, basic auth (bcrypt off the main
 * thread, outcomes cached by a keyed hash of the password, never the password), and the checks on
 * a TLS client that OpenSSL alone does not make (a certificate required but not verified, the
 * allowed subject alternative names). Shared by both listeners, so one file secures both.
 */
export class WebSecurity {
  readonly #source: WebConfigSource;
  readonly #logger: Logger;
  readonly #pool = new BcryptPool({ size: BCRYPT_THREADS, maxWaiting: BCRYPT_MAX_WAITING });
  /** Per process: the cache's keys are worthless outside it. */
  readonly #cacheKey = randomBytes(32);
  readonly #outcomes = new Map<string, Promise<boolean>>();
  readonly #buckets = new Map<string, { burst: number; intervalMs: number; tokens: number; lastMs: number }>();
  readonly #authFailures: Record<AuthFailure, number> = { no_credentials: 0, unknown_user: 0, wrong_password: 0 };
  readonly #refused: Record<Refusal, number> = { rate_limit: 0, auth_busy: 0, tls_handshake: 0, client_certificate: 0 };
  readonly #loggedAddresses = new Set<string>();
  #loggingStopped = false;
  /** Plain listeners already warned that the web config now asks for TLS. */
  readonly #plainWarned = new Set<string>();
  #allowUnauthenticatedHealth: boolean;

  constructor(source: WebConfigSource, options: { allowUnauthenticatedHealth: boolean; logger: Logger }) {
    this.#source = source;
    this.#allowUnauthenticatedHealth = options.allowUnauthenticatedHealth;
    this.#logger = options.logger;
  }

  /** health.allow_unauthenticated, applied again on SIGHUP. */
  set allowUnauthenticatedHealth(allow: boolean) {
    this.#allowUnauthenticatedHealth = allow;
  }

  /** The TLS a listener starts with, and the settings' generation; null: plain HTTP for as long as it runs. */
  tlsAtStart(): { tls: TlsSettings; generation: number } | null {
    const { tls, generation } = this.#source.current();
    return tls === null ? null : { tls, generation };
  }

  /**
   * Before each TLS handshake: a changed certificate, key, CA or TLS setting applies from this
   * connection on; open connections keep what they agreed. A file without TLS cannot turn a TLS
   * listener into a plain one (that needs a restart): the TLS in force stays, warned once.
   */
  refreshTls(server: TlsServer, applied: { generation: number }): void {
    const settings = this.#source.current();
    if (settings.generation === applied.generation) return;
    applied.generation = settings.generation;
    if (settings.tls === null) {
      this.#logger.warn({ file: this.#source.file }, 'web config: TLS cannot be turned off on a running listener; restart the agent to serve plain HTTP. TLS stays on');
      return;
    }
    server.setSecureContext(settings.tls.context);
    // The TLS server reads these two per connection (not part of the secure context).
    Object.assign(server, { requestCert: settings.tls.requestCert, rejectUnauthorized: settings.tls.rejectUnauthorized });
  }

  /** After the handshake: the client-certificate rules OpenSSL did not apply. Returns false to drop. */
  admitTlsClient(socket: TLSSocket): boolean {
    const tls = this.#source.current().tls;
    if (tls === null) return true;
    const { clientAuth, clientAllowedSans } = tls.config;
    const certificate = socket.getPeerCertificate();
    const presented = certificate !== null && Object.keys(certificate).length > 0;
    let problem: string | null = null;
    if (!presented && (clientAuth === 'RequireAnyClientCert' || clientAuth === 'RequireAndVerifyClientCert')) problem = 'no client certificate';
    else if (presented && clientAuth === 'VerifyClientCertIfGiven' && !socket.authorized) problem = `client certificate not verified: ${String(socket.authorizationError)}`;
    else if (clientAllowedSans !== null && !allowedSanPresented(certificate.subjectaltname, clientAllowedSans)) problem = 'client certificate names none of client_allowed_sans';
    if (problem === null) return true;
    this.#refused.client_certificate += 1;
    this.#logOnce(socket.remoteAddress, { reason: problem }, 'client certificate refused');
    return false;
  }

  /** A handshake that failed (wrong version, no or a bad certificate where one is required). */
  countHandshakeFailure(address: string | undefined, error: Error & { reason?: string; code?: string }): void {
    this.#refused.tls_handshake += 1;
    // OpenSSL's reason ("unsupported protocol", "peer did not return a certificate") without its source location.
    this.#logOnce(address, { reason: error.reason ?? error.code ?? error.message.split('\n')[0]! }, 'TLS handshake failed');
  }

  /**
   * Decides before routing; `path` is the request's path (null when malformed), `tls` whether the
   * listener speaks TLS (a plain listener cannot start to: that is warned once).
   */
  async check(request: IncomingMessage, path: string | null, listener: { name: string; tls: boolean }): Promise<Verdict> {
    const { config, tls } = this.#source.current();
    if (tls !== null && !listener.tls && !this.#plainWarned.has(listener.name)) {
      this.#plainWarned.add(listener.name);
      this.#logger.warn({ file: this.#source.file, listener: listener.name }, 'web config: TLS cannot be turned on on a running listener; restart the agent (or move the listener) to serve TLS. Plain HTTP stays');
    }
    const headers = config.headers;
    if (config.rateLimit !== null && !this.#take(listener.name, config.rateLimit)) {
      this.#refused.rate_limit += 1;
      return { headers, refusal: { status: 429, body: 'too many requests\n', headers: {} } };
    }
    const users = Object.keys(config.users);
    if (users.length === 0 || (path === '/healthz' && this.#allowUnauthenticatedHealth)) return { headers, refusal: null };
    const unauthorized = { status: 401, body: 'unauthorized\n', headers: { 'WWW-Authenticate': 'Basic' } };
    const credentials = basicCredentials(request.headers.authorization);
    if (credentials === null) {
      this.#authFailures.no_credentials += 1;
      return { headers, refusal: unauthorized };
    }
    const hash = config.users[credentials.user];
    let match: boolean;
    try {
      match = await this.#compare(credentials.password, hash ?? dummyHash(Object.values(config.users)), credentials.user);
    } catch (error) {
      if (!(error instanceof BcryptBusyError)) throw error;
      this.#refused.auth_busy += 1;
      return { headers, refusal: { status: 429, body: 'too many password checks in progress\n', headers: { 'Retry-After': '1' } } };
    }
    if (hash !== undefined && match) return { headers, refusal: null };
    const reason: AuthFailure = hash === undefined ? 'unknown_user' : 'wrong_password';
    this.#authFailures[reason] += 1;
    // The user name only when it is a configured one: a password typed into the user field must not be logged.
    this.#logOnce(request.socket.remoteAddress, { reason, ...(hash === undefined ? {} : { user: credentials.user }) }, 'authentication failed');
    return { headers, refusal: unauthorized };
  }

  selfMetrics(): ExtraMetric[] {
    return [
      { spec: SELF.httpAuthFailures, values: Object.entries(this.#authFailures).map(([reason, value]) => ({ labels: { reason }, value })) },
      { spec: SELF.httpRefused, values: Object.entries(this.#refused).map(([reason, value]) => ({ labels: { reason }, value })) },
    ];
  }

  async stop(): Promise<void> {
    await this.#pool.stop();
  }

  /** One bcrypt compare per distinct (user, hash, password), shared by the requests that ask at once. */
  #compare(password: string, hash: string, user: string): Promise<boolean> {
    if (Buffer.byteLength(password) > BCRYPT_MAX_PASSWORD_BYTES) return Promise.resolve(false);
    const key = `${user}\0${hash}\0${createHmac('sha256', this.#cacheKey).update(password).digest('base64')}`;
    const known = this.#outcomes.get(key);
    if (known !== undefined) return known;
    const outcome = this.#pool.compare(password, hash);
    this.#outcomes.set(key, outcome);
    // A compare that could not run (pool busy) is not an outcome: the next request tries again.
    outcome.catch(() => this.#outcomes.delete(key));
    if (this.#outcomes.size > AUTH_CACHE_SIZE) this.#outcomes.delete(this.#outcomes.keys().next().value!);
    return outcome;
  }

  /** A token bucket per listener: `burst` requests at once, one more every `intervalMs`. */
  #take(listener: string, limit: { burst: number; intervalMs: number }): boolean {
    const now = Date.now();
    let bucket = this.#buckets.get(listener);
    if (bucket === undefined || bucket.burst !== limit.burst || bucket.intervalMs !== limit.intervalMs) {
      bucket = { ...limit, tokens: limit.burst, lastMs: now };
      this.#buckets.set(listener, bucket);
    }
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + (now - bucket.lastMs) / bucket.intervalMs);
    bucket.lastMs = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #logOnce(address: string | undefined, fields: Record<string, string>, message: string): void {
    const source = address ?? 'unknown';
    const key = `${message}|${source}`;
    if (this.#loggedAddresses.has(key)) return;
    if (this.#loggedAddresses.size >= LOGGED_ADDRESSES_MAX) {
      if (!this.#loggingStopped) this.#logger.warn({ addresses: LOGGED_ADDRESSES_MAX }, 'refusals from further addresses are counted, not logged');
      this.#loggingStopped = true;
      return;
    }
    this.#loggedAddresses.add(key);
    this.#logger.warn({ address: source, ...fields }, `${message} (logged once per address; counted in self-metrics)`);
  }
}

/** The user and password of an `Authorization: Basic` header, or null. */
function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (match === null) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * For an unknown user: a hash of the dearest cost configured, so the answer takes as long as for a
 * known user with a wrong password and the timing does not tell which user names exist.
 */
function dummyHash(hashes: readonly string[]): string {
  const cost = Math.max(...hashes.map((hash) => bcryptCost(hash) ?? 4));
  return `$2y$${String(cost).padStart(2, '0')}$${SALT_AND_HASH.slice(0, 53)}`;
}
