import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import koffi from 'koffi';

/**
 * Files for the Prometheus exporter-toolkit `--web.config.file` (used by the Pushgateway and
 * Prometheus): a test CA, a server certificate for 127.0.0.1 and `pushgateway.test`, a client
 * certificate, and bcrypt hashes for basic_auth_users. All made fresh per test run.
 */
export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: trusting it must not make the server trusted. */
  otherCaCert: string;
}

export const SERVER_NAME = 'pushgateway.test';
/** The client certificate's one subject alternative name (for client_allowed_sans). */
export const CLIENT_NAME = 'scraper.test';

export function makeCertificates(dir: string): TestCertificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', ...key, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`), '-days', '2', '-subj', `/CN=netns-exporter test ${ca}`]);
  }
  const leaf = (name: string, extensions: string) => {
    openssl(['req', ...key, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.crt`), '-days', '2', '-extfile', file(`${name}.ext`)]);
  };
  leaf('server', `subjectAltName=IP:127.0.0.1,DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  leaf('client', `subjectAltName=DNS:${CLIENT_NAME}\nextendedKeyUsage=clientAuth\n`);
  return {
    caCert: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key'),
    clientCert: file('client.crt'), clientKey: file('client.key'), otherCaCert: file('other-ca.crt'),
  };
}

let crypt: ((phrase: string, setting: string) => string | null) | null = null;
let gensalt: ((prefix: string, count: number, rbytes: null, nrbytes: number) => string | null) | null = null;

/**
 * A bcrypt hash as basic_auth_users wants it. There is no htpasswd here and Node has no bcrypt, but
 * glibc's libcrypt (libxcrypt) does bcrypt, and koffi (a dependency already) can call it.
 */
export function bcryptHash(password: string, cost = 5): string {
  if (crypt === null || gensalt === null) {
    const lib = koffi.load('libcrypt.so.1');
    crypt = lib.func('const char *crypt(const char *phrase, const char *setting)');
    gensalt = lib.func('const char *crypt_gensalt(const char *prefix, unsigned long count, const char *rbytes, int nrbytes)');
  }
  const salt = gensalt!('$2b$', cost, null, 0);
  const hash = salt === null ? null : crypt!(password, salt);
  if (hash === null || !hash.startsWith('$2b$')) throw new Error('libcrypt cannot make bcrypt hashes');
  return hash;
}

/** Writes a web config; `users` maps user names to plain passwords (hashed here). */
export function writeWebConfig(
  file: string,
  options: { tls?: { cert: string; key: string; clientCa?: string }; users?: Record<string, string> },
): string {
  const lines: string[] = [];
  if (options.tls) {
    lines.push('tls_server_config:', `  cert_file: ${JSON.stringify(options.tls.cert)}`, `  key_file: ${JSON.stringify(options.tls.key)}`);
    if (options.tls.clientCa) lines.push('  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${JSON.stringify(options.tls.clientCa)}`);
  }
  if (options.users) {
    lines.push('basic_auth_users:');
    for (const [user, password] of Object.entries(options.users)) lines.push(`  ${user}: ${JSON.stringify(bcryptHash(password))}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
