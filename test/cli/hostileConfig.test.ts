import { execFileSync } from 'node:child_process';
import { chmodSync, openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { tempDir } from '../helpers/servers.js';

const test = suite('CLI: hostile and broken config files');

function configError(file: string): string {
  const run = runAgent(['--check-config', '--config', file], { timeoutMs: 20_000 });
  assert.is(run.status, 2, `exit ${run.status}: ${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line expected, got: ${run.stderr}`);
  assert.not.match(run.stderr, /unexpected error|\n\s+at /);
  return lines[0]!;
}

test('YAML alias typo and alias bomb: exit 2 naming line and column', () => {
  assert.match(configError(writeConfig('threads: &b 2\nread_timeout: *B\n')), /config error: .*config\.yaml:2:15: invalid YAML: alias \*B/);
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i += 1) bomb.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  assert.match(configError(writeConfig(`${bomb.join('\n')}\n`)), /config\.yaml:2:\d+: invalid YAML: aliases expand to more than 100/);
});

test('a 50 MB config is refused at once, naming the 1 MiB limit', () => {
  const file = path.join(tempDir('huge'), 'config.yaml');
  const fd = openSync(file, 'w');
  writeFileSync(fd, 'hostname: ');
  ftruncateSync(fd, 50 * 1024 * 1024);
  closeSync(fd);
  const started = Date.now();
  assert.match(configError(file), /config\.yaml: cannot read config file \(refused: the config file is larger than 1 MiB\)/);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  assert.match(configError('/dev/zero'), /\/dev\/zero: cannot read config file \(not a regular file\)/);
  const fifo = path.join(tempDir('fifo'), 'config.yaml');
  execFileSync('mkfifo', [fifo]);
  assert.match(configError(fifo), /config\.yaml: cannot read config file \(not a regular file\)/);
});

test('a config or secret file writable by every user is refused', () => {
  const config = writeConfig('threads: 2\n');
  chmodSync(config, 0o666);
  assert.match(configError(config), /cannot read config file \(refused: the config file is writable by every user \(mode 0666\); run chmod o-w\)/);
  const secret = path.join(tempDir('secret'), 'password');
  writeFileSync(secret, 'hunter2\n');
  chmodSync(secret, 0o646);
  const pushing = (file: string) => writeConfig(`push:\n  pushgateway:\n    url: http://127.0.0.1:9\n    basic_auth: {username: u, password_file: ${file}}\n`);
  assert.match(configError(pushing(secret)), /push\.pushgateway\.basic_auth\.password_file: cannot read ".*password" \(refused: the secret file is writable by every user/);
});

test('a secret file of more than one line is refused, and never echoed', () => {
  const secret = path.join(tempDir('secret'), 'shadow');
  writeFileSync(secret, 'root:$y$j9T$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n', { mode: 0o600 });
  const line = configError(writeConfig(`push:\n  pushgateway:\n    url: http://127.0.0.1:9\n    basic_auth: {username: u, password_file: ${secret}}\n`));
  assert.match(line, /push\.pushgateway\.basic_auth\.password_file: ".*shadow" holds more than one line/);
  assert.not.match(line, /root:|daemon/);
});

test('label values are bounded: a huge hostname is refused by name', () => {
  assert.match(configError(writeConfig(`hostname: ${'h'.repeat(200_000)}\n`)), /config error: hostname: longer than 1024 characters/);
  assert.match(configError(writeConfig(`push:\n  pushgateway:\n    url: http://127.0.0.1:9\n    grouping: {dc: ${'d'.repeat(5000)}}\n`)), /config error: push\.pushgateway\.grouping\.dc: longer than 1024 characters/);
});

test.run();
