import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigIssues, describe, isObject, join, readBoolean, readObject, type RawObject } from './fields.js';
import { parseConfigYaml } from './yaml.js';

/**
 * The exporter-toolkit's web config (`--web.config.file`), the file node_exporter, the Pushgateway
 * and Prometheus read to secure their listeners: the same keys, the same defaults, and unknown keys
 * refused (the toolkit unmarshals strictly), so an operator's existing file works here unchanged
 * and a typo never leaves a listener open. Pure: the agent reads the files it names.
 */
export interface WebConfig {
  tls: WebTlsConfig | null;
  /** Response headers from http_server_config.headers, set on every answer. */
  headers: Record<string, string>;
  /** Accepted for the toolkit's sake; the listeners speak HTTP/1.1 (see docs/troubleshooting.md). */
  http2: boolean;
  /** User name → bcrypt hash; empty: no basic auth. */
  users: Record<string, string>;
  rateLimit: { burst: number; intervalMs: number } | null;
}

/** PEM from a file (re-read when it changes) or given inline in the web config. */
export type PemSource = { file: string } | { inline: string };

/** The toolkit's names, which are Go's crypto/tls ClientAuthType names. */
const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface WebTlsConfig {
  cert: PemSource;
  key: PemSource;
  clientCa: PemSource | null;
  clientAuth: ClientAuthType;
  /** OpenSSL's names of the versions: what Node's TLS options take. */
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL names of the TLS 1.2 suites allowed; null: Node's defaults. */
  ciphers: string[] | null;
  /** OpenSSL names of the groups in order of preference; null: Node's defaults. */
  curves: string[] | null;
  preferServerCipherSuites: boolean;
  /** Names one of which the client certificate must carry, exactly; null: any. */
  clientAllowedSans: string[] | null;
}

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

const TLS_VERSIONS: Record<string, TlsVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * The suites Go's tls.CipherSuites() names (the ones the toolkit accepts), as OpenSSL calls them.
 * Go does not let TLS 1.3 suites be chosen; the toolkit accepts their names and they change
 * nothing, here too (null).
 */
const CIPHER_SUITES: Record<string, string | null> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
};

const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/**
 * The headers the toolkit lets a web config set, each with the values it allows (null: any).
 * The toolkit keeps the list closed so every Prometheus server answers alike.
 */
const HEADER_RULES: Record<string, readonly string[] | null> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

const TOP_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit'];
const TLS_KEYS = [
  'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'cipher_suites',
  'curve_preferences', 'min_version', 'max_version', 'prefer_server_cipher_suites', 'client_allowed_sans',
];

export type WebConfigResult = { ok: true; config: WebConfig } | { ok: false; errors: string[] };

/** Parses a web config's text; relative file names are taken from the file's own folder. */
export function parseWebConfig(text: string, file: string): WebConfigResult {
  const yaml = parseConfigYaml(text, file);
  if (!yaml.ok) return { ok: false, errors: [yaml.error] };
  const issues = new ConfigIssues();
  const root = readObject(yaml.value ?? {}, '', TOP_KEYS, issues);
  const http = readObject(root.http_server_config, 'http_server_config', ['http2', 'headers'], issues);
  const config: WebConfig = {
    tls: readTls(root.tls_server_config, path.dirname(file), issues),
    headers: readHeaders(http.headers, issues),
    http2: readBoolean(http.http2, 'http_server_config.http2', true, issues),
    users: readUsers(root.basic_auth_users, issues),
    rateLimit: readRateLimit(root.rate_limit, issues),
  };
  if (issues.list.length > 0) return { ok: false, errors: issues.list.map((line) => `${file}: ${line}`) };
  return { ok: true, config };
}

function readTls(value: unknown, dir: string, issues: ConfigIssues): WebTlsConfig | null {
  const at = 'tls_server_config';
  const fields = readObject(value, at, TLS_KEYS, issues);
  const present = (key: string) => fields[key] !== undefined && fields[key] !== null && fields[key] !== '';
  // As the toolkit: TLS is on when any certificate, key or client-auth setting is given.
  if (!['cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_ca_file', 'client_auth_type'].some(present)) return null;
  const pem = (inlineKey: string, fileKey: string, required: boolean): PemSource | null => {
    const inline = readText(fields[inlineKey], join(at, inlineKey), issues);
    const file = readText(fields[fileKey], join(at, fileKey), issues);
    if (inline !== null && file !== null) issues.add(join(at, fileKey), `give ${fileKey} or ${inlineKey}, not both`);
    if (file !== null) return { file: path.resolve(dir, file) };
    if (inline !== null) return { inline };
    if (required) issues.add(join(at, fileKey), `required with TLS (or ${inlineKey} inline)`);
    return null;
  };
  const cert = pem('cert', 'cert_file', true);
  const key = pem('key', 'key_file', true);
  const clientCa = pem('client_ca', 'client_ca_file', false);
  const clientAuth = readClientAuth(fields.client_auth_type, issues);
  if (clientCa !== null && clientAuth === 'NoClientCert') {
    issues.add(join(at, 'client_ca_file'), 'a client CA is given but client_auth_type is NoClientCert: set client_auth_type (RequireAndVerifyClientCert)');
  }
  const minVersion = readVersion(fields.min_version, join(at, 'min_version'), 'TLSv1.2', issues);
  const maxVersion = readVersion(fields.max_version, join(at, 'max_version'), 'TLSv1.3', issues);
  if (VERSION_ORDER.indexOf(maxVersion) < VERSION_ORDER.indexOf(minVersion)) issues.add(join(at, 'max_version'), 'is below min_version');
  const allowedSans = readNameList(fields.client_allowed_sans, join(at, 'client_allowed_sans'), issues);
  if (allowedSans !== null && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    issues.add(join(at, 'client_allowed_sans'), 'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }
  const ciphers = readNameList(fields.cipher_suites, join(at, 'cipher_suites'), issues);
  const curves = readNameList(fields.curve_preferences, join(at, 'curve_preferences'), issues);
  if (cert === null || key === null) return null;
  return {
    cert,
    key,
    clientCa,
    clientAuth,
    minVersion,
    maxVersion,
    ciphers: ciphers === null || ciphers.length === 0 ? null : mapNames(ciphers, CIPHER_SUITES, join(at, 'cipher_suites'), 'cipher', issues),
    curves: curves === null || curves.length === 0 ? null : mapNames(curves, CURVES, join(at, 'curve_preferences'), 'curve', issues),
    preferServerCipherSuites: readBoolean(fields.prefer_server_cipher_suites, join(at, 'prefer_server_cipher_suites'), true, issues),
    clientAllowedSans: allowedSans,
  };
}

function readClientAuth(value: unknown, issues: ConfigIssues): ClientAuthType {
  const at = 'tls_server_config.client_auth_type';
  const text = readText(value, at, issues);
  if (text === null) return 'NoClientCert';
  // The toolkit's old name, kept by it for files written before the rename.
  if (text === 'RequireClientCert') return 'RequireAnyClientCert';
  if ((CLIENT_AUTH_TYPES as readonly string[]).includes(text)) return text as ClientAuthType;
  issues.add(at, `unknown client_auth_type ${describe(value)} (known: ${CLIENT_AUTH_TYPES.join(', ')})`);
  return 'NoClientCert';
}

function readVersion(value: unknown, at: string, fallback: TlsVersion, issues: ConfigIssues): TlsVersion {
  const text = readText(value, at, issues);
  if (text === null) return fallback;
  const version = TLS_VERSIONS[text];
  if (version === undefined) issues.add(at, `unknown TLS version ${JSON.stringify(text)} (known: ${Object.keys(TLS_VERSIONS).join(', ')})`);
  return version ?? fallback;
}

/** Maps the toolkit's names to OpenSSL's, dropping those that map to nothing. */
function mapNames(names: string[], table: Record<string, string | null>, at: string, what: string, issues: ConfigIssues): string[] {
  const mapped: string[] = [];
  names.forEach((name, index) => {
    if (!Object.hasOwn(table, name)) issues.add(`${at}[${index}]`, `unknown ${what} ${JSON.stringify(name)} (known: ${Object.keys(table).join(', ')})`);
    else if (table[name] !== null) mapped.push(table[name]!);
  });
  return mapped;
}

function readHeaders(value: unknown, issues: ConfigIssues): Record<string, string> {
  const at = 'http_server_config.headers';
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    issues.add(at, `expected a mapping of header names to values, got ${describe(value)}`);
    return {};
  }
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    const text = readText(raw, join(at, name), issues) ?? '';
    const allowed = HEADER_RULES[name];
    if (allowed === undefined) {
      issues.add(join(at, name), `HTTP header ${JSON.stringify(name)} can not be configured (allowed: ${Object.keys(HEADER_RULES).join(', ')})`);
    } else if (allowed !== null && !allowed.includes(text)) {
      issues.add(join(at, name), `expected one of ${allowed.join(', ')}, got ${describe(raw)}`);
    } else if (text !== '' && !/[\r\n\0]/.test(text)) {
      headers[name] = text;
    } else if (text !== '') {
      issues.add(join(at, name), 'a header value must be one line');
    }
  }
  return headers;
}

function readUsers(value: unknown, issues: ConfigIssues): Record<string, string> {
  const at = 'basic_auth_users';
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    issues.add(at, `expected a mapping of user names to bcrypt hashes, got ${describe(value)}`);
    return {};
  }
  const users: Record<string, string> = {};
  for (const [name, hash] of Object.entries(value as RawObject)) {
    // The value is never shown: a plain password written here by mistake must not reach a log.
    if (typeof hash !== 'string' || bcryptCost(hash) === null) {
      issues.add(join(at, name), 'not a bcrypt hash ($2y$, $2b$ or $2a$, cost 4 to 31): make one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`');
    } else if (name.includes(':')) {
      issues.add(join(at, name), 'a user name cannot hold ":" (basic auth splits there)');
    } else {
      users[name] = hash;
    }
  }
  return users;
}

function readRateLimit(value: unknown, issues: ConfigIssues): WebConfig['rateLimit'] {
  const at = 'rate_limit';
  const fields = readObject(value, at, ['burst', 'interval'], issues);
  const intervalMs = fields.interval === undefined || fields.interval === null ? 0 : parseGoDuration(fields.interval);
  if (intervalMs === null) {
    issues.add(join(at, 'interval'), `expected a duration such as "1s" or "100ms", got ${describe(fields.interval)}`);
    return null;
  }
  const burst = fields.burst ?? 0;
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) {
    issues.add(join(at, 'burst'), `expected a whole number, got ${describe(fields.burst)}`);
    return null;
  }
  // No interval: no limiter, as in the toolkit.
  if (intervalMs === 0) return null;
  if (burst === 0) {
    issues.add(join(at, 'burst'), 'must be at least 1 with an interval: 0 would refuse every request');
    return null;
  }
  return { burst, intervalMs };
}

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1s", "1m30s", "250ms"), as the toolkit's YAML reads time.Duration; milliseconds or null. */
function parseGoDuration(value: unknown): number | null {
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string' || !/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value)) return null;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * GO_DURATION_UNITS[unit!]!;
  return total;
}

/** A bcrypt hash's cost, or null when the text is not a bcrypt hash (what Go's bcrypt.Cost accepts). */
export function bcryptCost(hash: string): number | null {
  const match = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  const cost = match === null ? NaN : Number(match[1]);
  return cost >= 4 && cost <= 31 ? cost : null;
}

/**
 * True when the certificate's subject alternative names (Node's `subjectaltname` text, such as
 * `DNS:a.example, IP Address:10.0.0.1`) hold one of `allowed` exactly, as the toolkit checks
 * client_allowed_sans: DNS names, IP addresses, e-mail addresses and URIs, no wildcards.
 */
export function allowedSanPresented(subjectAltName: string | undefined, allowed: readonly string[]): boolean {
  if (subjectAltName === undefined || subjectAltName === '') return false;
  const wanted = new Set(allowed.map(canonicalName));
  return splitSubjectAltName(subjectAltName).some((name) => wanted.has(canonicalName(name)));
}

/** Node quotes a name holding a comma or a quote as a JSON string: split outside quotes only. */
function splitSubjectAltName(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/(DNS|IP Address|email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = match[2]!;
    try {
      names.push(raw.startsWith('"') ? JSON.parse(raw) as string : raw);
    } catch {
      names.push(raw);
    }
  }
  return names;
}

/** IPv6 addresses in one written form (OpenSSL prints 0:0:0:0:0:0:0:1, Go and operators ::1). */
function canonicalName(name: string): string {
  if (isIP(name) !== 6) return name;
  try {
    return new URL(`http://[${name}]/`).hostname;
  } catch {
    return name;
  }
}

function readText(value: unknown, at: string, issues: ConfigIssues): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') return value;
  issues.add(at, `expected a string, got ${describe(value)}`);
  return null;
}

function readNameList(value: unknown, at: string, issues: ConfigIssues): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) {
    issues.add(at, `expected a list, got ${describe(value)}`);
    return null;
  }
  return value.flatMap((item, index) => {
    const text = readText(item, `${at}[${index}]`, issues);
    return text === null ? [] : [text];
  });
}
