import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allowedSanPresented, bcryptCost, parseWebConfig, type WebConfig } from '../../shared/config/webConfig.js';

/**
 * The exporter-toolkit's web config (`--web.config.file`), read as node_exporter, the Pushgateway
 * and Prometheus read it: the same keys, the same defaults, unknown keys refused.
 */
const test = suite('web config (exporter-toolkit format)');
const FILE = '/etc/netns-exporter/web.yml';
const HASH = '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG';

function parsed(text: string): WebConfig {
  const result = parseWebConfig(text, FILE);
  if (!result.ok) throw new Error(`refused: ${result.errors.join('; ')}`);
  return result.config;
}

function refused(text: string): string {
  const result = parseWebConfig(text, FILE);
  assert.not.ok(result.ok, `accepted: ${text}`);
  return result.ok ? '' : result.errors.join('\n');
}

test('an empty file secures nothing: no TLS, no users, no limit', () => {
  const config = parsed('');
  assert.is(config.tls, null);
  assert.equal(config.users, {});
  assert.is(config.rateLimit, null);
  assert.equal(config.headers, {});
});

test('TLS takes the toolkit defaults: TLS12 to TLS13, NoClientCert, server cipher order', () => {
  const config = parsed('tls_server_config:\n  cert_file: server.crt\n  key_file: /abs/server.key\n');
  assert.ok(config.tls !== null);
  assert.equal(config.tls.cert, { file: '/etc/netns-exporter/server.crt' }, 'relative to the web config file');
  assert.equal(config.tls.key, { file: '/abs/server.key' });
  assert.is(config.tls.minVersion, 'TLSv1.2');
  assert.is(config.tls.maxVersion, 'TLSv1.3');
  assert.is(config.tls.clientAuth, 'NoClientCert');
  assert.is(config.tls.preferServerCipherSuites, true);
  assert.is(config.tls.ciphers, null);
  assert.is(config.tls.curves, null);
});

test('every client_auth_type of the toolkit, RequireClientCert as its old name', () => {
  const types = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];
  for (const type of types) {
    const ca = type === 'NoClientCert' ? '' : ', client_ca_file: ca.crt';
    assert.is(parsed(`tls_server_config: {cert_file: a, key_file: b, client_auth_type: ${type}${ca}}`).tls?.clientAuth, type);
  }
  assert.is(parsed('tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireClientCert}').tls?.clientAuth, 'RequireAnyClientCert');
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, client_auth_type: requireandverifyclientcert}'), /client_auth_type/);
});

test('a client CA without a client_auth_type is refused, as the toolkit refuses it', () => {
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, client_ca_file: ca.crt}'), /client_ca_file.*client_auth_type/);
});

test('client_allowed_sans needs a client certificate that is required', () => {
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, client_auth_type: VerifyClientCertIfGiven, client_ca_file: c, client_allowed_sans: [x]}'), /client_allowed_sans/);
  const config = parsed('tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert, client_ca_file: c, client_allowed_sans: [prometheus.example, 10.0.0.1]}');
  assert.equal(config.tls?.clientAllowedSans, ['prometheus.example', '10.0.0.1']);
});

test('versions, ciphers and curves by the toolkit\'s (Go\'s) names', () => {
  const config = parsed([
    'tls_server_config:',
    '  cert_file: a',
    '  key_file: b',
    '  min_version: TLS13',
    '  max_version: TLS13',
    '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256]',
    '  curve_preferences: [X25519, CurveP256]',
    '  prefer_server_cipher_suites: false',
  ].join('\n'));
  assert.is(config.tls?.minVersion, 'TLSv1.3');
  assert.equal(config.tls?.ciphers, ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'], 'TLS 1.3 suites are not configurable in Go: ignored');
  assert.equal(config.tls?.curves, ['X25519', 'P-256']);
  assert.is(config.tls?.preferServerCipherSuites, false);
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}'), /min_version: unknown TLS version "TLS14"/);
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}'), /cipher_suites\[0\]: unknown cipher/);
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, curve_preferences: [CurveP999]}'), /curve_preferences\[0\]: unknown curve/);
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}'), /max_version/);
});

test('cert and key are needed together; inline PEM is taken, not both forms at once', () => {
  assert.match(refused('tls_server_config: {cert_file: a}'), /key_file/);
  assert.match(refused('tls_server_config: {key_file: a}'), /cert_file/);
  const inline = parsed('tls_server_config: {cert: "-----BEGIN CERTIFICATE-----", key: "k"}');
  assert.equal(inline.tls?.cert, { inline: '-----BEGIN CERTIFICATE-----' });
  assert.match(refused('tls_server_config: {cert: x, cert_file: a, key_file: b}'), /cert/);
});

test('unknown keys are refused at every level, as strict unmarshalling does', () => {
  assert.match(refused('tls_server_config: {cert_file: a, key_file: b, client_auth: x}'), /tls_server_config\.client_auth: unknown key/);
  assert.match(refused('basic_auth: {a: b}'), /basic_auth: unknown key/);
  assert.match(refused('http_server_config: {header: {}}'), /http_server_config\.header: unknown key/);
  assert.match(refused('rate_limit: {burst: 1, interval: 1s, per: ip}'), /rate_limit\.per: unknown key/);
  assert.match(refused('tls_server_config: [a]'), /tls_server_config: expected a mapping/);
  assert.match(refused('a: [unclosed'), /invalid YAML/);
});

test('basic_auth_users holds bcrypt hashes; anything else is refused without showing it', () => {
  assert.equal(parsed(`basic_auth_users:\n  prometheus: ${HASH}\n`).users, { prometheus: HASH });
  const error = refused('basic_auth_users:\n  prometheus: plain-text-password\n');
  assert.match(error, /basic_auth_users\.prometheus: not a bcrypt hash/);
  assert.not.match(error, /plain-text-password/);
  assert.is(bcryptCost(HASH), 10);
  assert.is(bcryptCost('$2b$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG'), null, 'cost below 4');
  assert.is(bcryptCost('$2y$10$short'), null);
});

test('headers: only the five the toolkit allows, the enumerated ones with their values', () => {
  const config = parsed('http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n    Content-Security-Policy: "default-src \'self\'"\n    X-XSS-Protection: "1; mode=block"\n');
  assert.is(config.headers['X-Frame-Options'], 'deny');
  assert.is(Object.keys(config.headers).length, 5);
  assert.match(refused('http_server_config: {headers: {Set-Cookie: a}}'), /Set-Cookie.*can not be configured/);
  assert.match(refused('http_server_config: {headers: {X-Frame-Options: allow}}'), /X-Frame-Options.*deny, sameorigin/);
  assert.match(refused('http_server_config: {headers: {X-Content-Type-Options: sniff}}'), /nosniff/);
  assert.is(parsed('http_server_config: {http2: false}').http2, false);
});

test('rate_limit: a token bucket of burst requests, one more each interval', () => {
  assert.equal(parsed('rate_limit: {burst: 10, interval: 1s}').rateLimit, { burst: 10, intervalMs: 1000 });
  assert.equal(parsed('rate_limit: {burst: 2, interval: 1m30s}').rateLimit, { burst: 2, intervalMs: 90_000 });
  assert.is(parsed('rate_limit: {burst: 10}').rateLimit, null, 'no interval: no limit, as in the toolkit');
  assert.match(refused('rate_limit: {burst: 0, interval: 1s}'), /rate_limit\.burst/);
  assert.match(refused('rate_limit: {burst: 1, interval: soon}'), /rate_limit\.interval/);
});

test('client_allowed_sans: an exact match of a DNS, IP, e-mail or URI name of the certificate', () => {
  const san = 'DNS:prometheus.example, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:ops@example.org, URI:spiffe://cluster/prometheus';
  assert.ok(allowedSanPresented(san, ['prometheus.example']));
  assert.ok(allowedSanPresented(san, ['10.0.0.1']));
  assert.ok(allowedSanPresented(san, ['::1']), 'IPv6 compared in one form');
  assert.ok(allowedSanPresented(san, ['ops@example.org']));
  assert.ok(allowedSanPresented(san, ['spiffe://cluster/prometheus']));
  assert.not.ok(allowedSanPresented(san, ['other.example', 'prometheus']));
  assert.not.ok(allowedSanPresented(san, ['*.example']), 'no wildcards: exact names only');
  assert.not.ok(allowedSanPresented(undefined, ['prometheus.example']));
  assert.ok(allowedSanPresented('DNS:"a, b", DNS:c.example', ['c.example']), 'a quoted name with a comma');
});

test.run();
