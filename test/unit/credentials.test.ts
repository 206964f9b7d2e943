import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CredentialFiles, REAL_FILES, type FileAccess } from '../../agent/targets/credentials.js';
import { createHttpClient } from '../../agent/targets/httpClient.js';
import { memoryLogger } from '../helpers/remoteWrite.js';
import { freePort } from '../helpers/servers.js';
import { configFrom } from '../helpers/config.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';
import { makeCertificates } from '../helpers/webConfig.js';

/** Secret and TLS files are read again when they change, and only then (real files, a counting reader). */
const test = suite('push credentials from files');
const dirs: string[] = [];
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const REAL = { readFile: (file: string) => readFileSync(file, 'utf8') };

function counting(): FileAccess & { reads: () => number } {
  let reads = 0;
  return { ...REAL_FILES, readFile: (file) => (reads += 1, REAL_FILES.readFile(file)), reads: () => reads };
}

test('bearer_token_file: the new token after a rewrite; no read while nothing changed', () => {
  const dir = tempDir('creds');
  dirs.push(dir);
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, 'token-one\n');
  const config = configFrom({ push: { pushgateway: { url: 'http://127.0.0.1:9', bearer_token_file: tokenFile } } }, REAL).push.pushgateway!;
  const files = counting();
  const credentials = new CredentialFiles(config, 'push.pushgateway', files);
  assert.equal(credentials.current().authHeader, { authorization: 'Bearer token-one' });
  const reads = files.reads();
  for (let index = 0; index < 5; index++) credentials.current();
  assert.is(files.reads(), reads, 'only stat while unchanged');
  writeFileSync(tokenFile, 'token-two-longer\n');
  assert.equal(credentials.current().authHeader, { authorization: 'Bearer token-two-longer' });
  assert.ok(credentials.current().secrets.includes('token-two-longer'), 'the new token is scrubbed from error texts');
});

test('TLS files: a half-written certificate keeps the previous one in use and says why; the fixed file is taken', () => {
  const dir = tempDir('creds-tls');
  dirs.push(dir);
  const certs = makeCertificates(dir);
  const caFile = path.join(dir, 'ca-in-use.crt');
  writeFileSync(caFile, readFileSync(certs.caCert));
  const config = configFrom({ push: { remote_write: { url: 'https://127.0.0.1:9/api/v1/write', tls_config: { ca_file: caFile } } } }, REAL).push.remoteWrite!;
  const credentials = new CredentialFiles(config, 'push.remote_write', REAL_FILES);
  const first = credentials.current().tls.ca;
  writeFileSync(caFile, readFileSync(certs.otherCaCert).subarray(0, 100));
  assert.is(credentials.current().tls.ca, first, 'the previous CA stays');
  assert.match(String(credentials.rotationError), /push\.remote_write\.tls_config\.ca_file: ".*ca-in-use\.crt" not usable/);
  writeFileSync(caFile, readFileSync(certs.otherCaCert));
  assert.equal(credentials.current().tls.ca, readFileSync(certs.otherCaCert));
  assert.is(credentials.rotationError, null);
});

test('TLS files: a second file going bad while the first still is gets its own warning, naming it', async () => {
  const dir = tempDir('creds-tls-two');
  dirs.push(dir);
  const certs = makeCertificates(dir);
  const files = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') };
  writeFileSync(files.ca, readFileSync(certs.caCert));
  writeFileSync(files.cert, readFileSync(certs.clientCert));
  writeFileSync(files.key, readFileSync(certs.clientKey));
  const url = `https://127.0.0.1:${await freePort()}/api/v1/write`;
  const config = configFrom({ push: { remote_write: { url, tls_config: { ca_file: files.ca, cert_file: files.cert, key_file: files.key } } } }, REAL).push.remoteWrite!;
  const { logger, lines } = memoryLogger();
  const client = createHttpClient(config, { version: 'test', at: 'push.remote_write', logger });
  // Nothing listens: each request fails after the credentials were checked.
  const attempt = () => client.request({ method: 'POST', body: 'x', timeoutMs: 500 }).catch(() => undefined);
  const warnings = () => lines().filter((line) => line.level === 40).map((line) => String(line.error));
  await attempt();
  writeFileSync(files.ca, readFileSync(certs.otherCaCert).subarray(0, 100));
  await attempt();
  await attempt();
  assert.is(warnings().length, 1, warnings().join('\n'));
  assert.match(warnings()[0]!, /ca_file/, warnings()[0]);
  writeFileSync(files.key, 'not a key\n');
  await attempt();
  await attempt();
  assert.is(warnings().length, 2, `the second bad file is warned about too:\n${warnings().join('\n')}`);
  assert.match(warnings()[1]!, /key_file/, warnings()[1]);
  assert.match(warnings()[1]!, /ca_file/, `the first is still named while it is bad: ${warnings()[1]}`);
  client.close();
});

runWhen(test, ['openssl'], 'credential file tests');
