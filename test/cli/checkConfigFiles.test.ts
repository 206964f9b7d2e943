import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { tempDir } from '../helpers/servers.js';

/**
 * `--check-config` vouches for the files a config names: a secret file that is empty (the README's
 * install step creates it empty, "then write the password into it") is refused, and every file that
 * cannot be read is named in one run, not the first one alone.
 */
const test = suite('--check-config: secret and TLS files');

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

function check(config: unknown) {
  return runAgent(['--check-config', '--config', writeConfig(config, 'check-files')], { env: { NETNS_EXPORTER_PUSHGATEWAY_URL: '', NETNS_EXPORTER_REMOTE_WRITE_URL: '' } });
}

test('an empty password file is refused, naming the key and the file', () => {
  const dir = tempDir('empty-secret');
  for (const [name, text] of [['empty.password', ''], ['newline.password', '\n']] as const) {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    const run = check({ push: { pushgateway: { url: 'http://127.0.0.1:9091', basic_auth: { username: 'netns', password_file: file } } } });
    assert.is(run.status, 2, `${name}: ${run.stdout}${run.stderr}`);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`config error: push\\.pushgateway\\.basic_auth\\.password_file: "${file}" is empty`));
  }
});

test('an empty token file is refused too', () => {
  const file = path.join(tempDir('empty-token'), 'remote-write.token');
  writeFileSync(file, '', { mode: 0o600 });
  const run = check({ push: { remote_write: { url: 'http://127.0.0.1:9090/api/v1/write', bearer_token_file: file } } });
  assert.is(run.status, 2, run.stderr);
  assert.match(run.stderr, /config error: push\.remote_write\.bearer_token_file: ".*remote-write\.token" is empty/);
});

test('every unreadable secret and TLS file is reported in one run', () => {
  const missing = (name: string) => `/nonexistent/netns-exporter-check/${name}`;
  const run = check({
    push: {
      pushgateway: {
        url: 'https://127.0.0.1:9091',
        basic_auth: { username: 'netns', password_file: missing('pushgateway.password') },
        tls_config: { ca_file: missing('pushgateway-ca.pem') },
      },
      remote_write: {
        url: 'https://127.0.0.1:9090/api/v1/write',
        bearer_token_file: missing('remote-write.token'),
        tls_config: { ca_file: missing('monitoring-ca.pem'), cert_file: missing('client.pem'), key_file: missing('client.key') },
      },
    },
  });
  assert.is(run.status, 2, run.stderr);
  const expected = [
    'push.pushgateway.basic_auth.password_file', 'push.pushgateway.tls_config.ca_file',
    'push.remote_write.bearer_token_file', 'push.remote_write.tls_config.ca_file',
    'push.remote_write.tls_config.cert_file', 'push.remote_write.tls_config.key_file',
  ];
  for (const key of expected) {
    assert.ok(lines(run.stderr).some((line) => line.includes(`${key}: cannot read`) && line.includes('(ENOENT)')), `${key} not reported:\n${run.stderr}`);
  }
  assert.is(lines(run.stderr).length, expected.length, run.stderr);
});

test('a readable secret and CA still pass (the check is not a refusal of everything)', () => {
  const dir = tempDir('good-secret');
  const password = path.join(dir, 'pushgateway.password');
  writeFileSync(password, 's3cret\n', { mode: 0o600 });
  const run = check({ push: { pushgateway: { url: 'http://127.0.0.1:9091', basic_auth: { username: 'netns', password_file: password } } } });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /config OK/);
});

test.run();
