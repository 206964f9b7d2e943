import { Secret, SecretFileError, secretFromFileText } from './secret.js';
import {
  ConfigIssues, join, readBoolean, readDuration, readObject, readOptionalString, readString, readStringMap,
  type RawObject,
} from './fields.js';
import { redactUrl } from './redact.js';
import type { BasicAuth, ConfigEnvironment, HttpClientConfig, TlsConfig } from './configTypes.js';

/** Headers the push protocols set themselves; a user header may not replace them. */
const PROTECTED_HEADERS = ['authorization', 'content-encoding', 'content-type', 'content-length', 'host', 'x-prometheus-remote-write-version'];

/** The ceiling of a receiver's Retry-After (shared/backoff.ts applies it). */
const DEFAULT_MAX_RETRY_AFTER_MS = 300_000;

/** The http_config part shared by push.pushgateway and push.remote_write. */
export function readHttpClient(
  fields: RawObject,
  at: string,
  environment: ConfigEnvironment,
  issues: ConfigIssues,
): HttpClientConfig {
  const headers = readStringMap(fields.headers, join(at, 'headers'), issues);
  for (const name of Object.keys(headers)) {
    if (PROTECTED_HEADERS.includes(name.toLowerCase())) {
      issues.add(join(at, `headers.${name}`), 'is set by the exporter and cannot be overridden');
    }
  }
  const basicAuth = readBasicAuth(fields.basic_auth, join(at, 'basic_auth'), environment, issues);
  const bearerToken = readSecret(fields, 'bearer_token', at, environment, issues);
  if (basicAuth !== null && bearerToken !== null) issues.add(at, 'basic_auth and bearer_token are mutually exclusive');
  return {
    url: readHttpUrl(fields.url, join(at, 'url'), true, issues) ?? new URL('http://invalid.invalid/'),
    timeoutMs: readDuration(fields.timeout, join(at, 'timeout'), 10_000, issues),
    maxRetryAfterMs: readDuration(fields.max_retry_after, join(at, 'max_retry_after'), DEFAULT_MAX_RETRY_AFTER_MS, issues),
    basicAuth,
    bearerToken,
    tls: readTls(fields.tls_config, join(at, 'tls_config'), environment, issues),
    proxyUrl: readHttpUrl(fields.proxy_url, join(at, 'proxy_url'), false, issues),
    headers,
  };
}

function readHttpUrl(value: unknown, at: string, required: boolean, issues: ConfigIssues): URL | null {
  const text = readOptionalString(value, at, issues);
  if (text === null || text === '') {
    if (required) issues.add(at, 'required: an http:// or https:// URL');
    return null;
  }
  // "localhost:9091" parses as a URL of scheme "localhost"; say what is missing instead.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    issues.add(at, `${JSON.stringify(redactUrl(text))} has no scheme: add http:// or https://`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    issues.add(at, `not a valid URL: ${JSON.stringify(redactUrl(text))}`);
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.add(at, `only http and https are supported, got ${JSON.stringify(url.protocol.replace(/:$/, ''))}`);
    return null;
  }
  return url;
}

function readBasicAuth(value: unknown, at: string, environment: ConfigEnvironment, issues: ConfigIssues): BasicAuth | null {
  if (value === undefined || value === null) return null;
  const fields = readObject(value, at, ['username', 'password', 'password_file', 'password_env'], issues);
  const username = readString(fields.username, join(at, 'username'), '', issues);
  if (username === '') issues.add(join(at, 'username'), 'required');
  const password = readSecret(fields, 'password', at, environment, issues);
  const given = ['password', 'password_file', 'password_env'].some((key) => fields[key] !== undefined && fields[key] !== null);
  if (!given) issues.add(at, 'one of password, password_file or password_env is required');
  return { username, password: password ?? new Secret('') };
}

/** A secret given inline (`name`), in a file (`name_file`) or in an environment variable (`name_env`). */
function readSecret(
  fields: RawObject,
  name: string,
  at: string,
  environment: ConfigEnvironment,
  issues: ConfigIssues,
): Secret | null {
  const given = [name, `${name}_file`, `${name}_env`].filter((key) => fields[key] !== undefined && fields[key] !== null);
  if (given.length > 1) {
    issues.add(join(at, given[1]!), `only one of ${given.join(', ')} may be set`);
    return null;
  }
  const key = given[0];
  if (key === undefined) return null;
  const text = readString(fields[key], join(at, key), '', issues);
  if (key === name) {
    if (text === '') issues.add(join(at, key), 'is empty');
    return new Secret(text);
  }
  if (key.endsWith('_env')) {
    const fromEnv = environment.env[text];
    if (fromEnv === undefined || fromEnv === '') {
      issues.add(join(at, key), `environment variable ${JSON.stringify(text)} is not set`);
      return null;
    }
    return new Secret(fromEnv);
  }
  try {
    return new Secret(secretFromFileText(environment.readFile(text)), text);
  } catch (error) {
    if (error instanceof SecretFileError) {
      issues.add(join(at, key), `${JSON.stringify(text)} ${error.message}`);
      return null;
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    issues.add(join(at, key), `cannot read ${JSON.stringify(text)} (${code})`);
    return null;
  }
}

function readTls(value: unknown, at: string, environment: ConfigEnvironment, issues: ConfigIssues): TlsConfig {
  const fields = readObject(value, at, ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify'], issues);
  const file = (key: string) => readTlsFile(fields[key], join(at, key), environment, issues);
  const tls: TlsConfig = {
    caFile: file('ca_file'),
    certFile: file('cert_file'),
    keyFile: file('key_file'),
    serverName: readOptionalString(fields.server_name, join(at, 'server_name'), issues),
    insecureSkipVerify: readBoolean(fields.insecure_skip_verify, join(at, 'insecure_skip_verify'), false, issues),
  };
  if ((tls.certFile === null) !== (tls.keyFile === null)) issues.add(at, 'cert_file and key_file go together');
  return tls;
}

/**
 * A TLS file's path, checked for readability here so that every file that cannot be read is
 * reported with the other config errors at once; its content is parsed when the client is built.
 */
function readTlsFile(value: unknown, at: string, environment: ConfigEnvironment, issues: ConfigIssues): string | null {
  const file = readOptionalString(value, at, issues);
  if (file === null || environment.checkFile === undefined) return file;
  try {
    environment.checkFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    issues.add(at, `cannot read ${JSON.stringify(file)} (${code})`);
  }
  return file;
}
