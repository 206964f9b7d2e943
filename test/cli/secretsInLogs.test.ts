import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { tempDir } from '../helpers/servers.js';

const test = suite('CLI: secrets never reach logs or messages; the log file is private');
const SECRETS = ['pr0xy-pa55', 'gw-pa55', 'rw-b4sic', 'h3ader-t0ken', 'env-pa55', 'p@ss/w0rd'];

function debugRun(logFile: string) {
  const dir = tempDir('secrets');
  const config = writeConfig({
    netns_dirs: [dir],
    push: {
      pushgateway: { url: 'http://gw-user:gw-pa55@127.0.0.1:9/', proxy_url: 'http://proxy-user:pr0xy-pa55@127.0.0.1:9' },
      remote_write: { url: 'http://127.0.0.1:9/api/v1/write', basic_auth: { username: 'rw', password: 'rw-b4sic' }, headers: { 'X-Api-Key': 'h3ader-t0ken' } },
    },
  });
  return runAgent(['--dry-run', '--config', config, '--log-level', 'debug', '--log-file', logFile], {
    env: { NETNS_EXPORTER_PUSHGATEWAY_URL: 'http://env-user:env-pa55@127.0.0.1:9/' },
  });
}

test('the debug config dump hides URL passwords, header values and secrets', () => {
  const logFile = path.join(tempDir('log'), 'agent.log');
  const run = debugRun(logFile);
  assert.is(run.status, 0, run.stderr);
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /configuration loaded/);
  assert.match(log, /env-user:<secret>@127\.0\.0\.1/, 'the URL is still shown, without its password');
  for (const secret of SECRETS) assert.not.ok(log.includes(secret), `${secret} in the log`);
});

test('a URL in an error message is shown without its password, whatever it holds', () => {
  const run = runAgent(['--check-config', '--config', writeConfig('push:\n  pushgateway:\n    url: "http://u:p@ss:w0rd@[bad/x"\n')]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /push\.pushgateway\.url: not a valid URL/);
  for (const part of ['p@ss', 'w0rd']) assert.not.ok(run.stderr.includes(part), run.stderr);
});

test('--log-file is created 0600, 0640 in a setgid folder; an existing file keeps its mode', () => {
  const dir = tempDir('logmode');
  const fresh = path.join(dir, 'new', 'agent.log');
  assert.is(debugRun(fresh).status, 0);
  assert.is(statSync(fresh).mode & 0o777, 0o600);
  const shared = path.join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o2750);
  assert.is(debugRun(path.join(shared, 'agent.log')).status, 0);
  assert.is(statSync(path.join(shared, 'agent.log')).mode & 0o777, 0o640);
  const existing = path.join(dir, 'existing.log');
  writeFileSync(existing, '', { mode: 0o600 });
  chmodSync(existing, 0o640);
  assert.is(debugRun(existing).status, 0);
  assert.is(statSync(existing).mode & 0o777, 0o640);
});

test.run();
