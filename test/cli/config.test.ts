import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCli, UsageError } from '../../agent/cli.js';
import { loadConfig } from '../../agent/config.js';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { tempDir } from '../helpers/servers.js';

const test = suite('CLI: exit codes and messages');
const NO_OVERRIDES = { threads: null, logLevel: null };

/** Through the process: exit 2 and one line on stderr, no stack trace. */
function expectCliConfigError(config: string, pattern: RegExp): void {
  const run = runAgent(['--check-config', '--config', writeConfig(config)]);
  assert.is(run.status, 2, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line expected, got: ${run.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.not.match(run.stderr, /\n\s+at /, 'no stack trace');
}

/** In-process: the loader the CLI calls gives exactly one error line (main prints it and exits 2). */
function expectConfigError(config: string, pattern: RegExp): void {
  const loaded = loadConfig(writeConfig(config), true, NO_OVERRIDES);
  assert.not.ok(loaded.ok, `${config} should be refused`);
  if (loaded.ok) return;
  assert.is(loaded.errors.length, 1, `one line expected, got: ${loaded.errors.join(' | ')}`);
  assert.match(loaded.errors[0]!, pattern);
  assert.not.match(loaded.errors[0]!, /\n/);
}

test('--help and --version exit 0', () => {
  const help = runAgent(['--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, /--dry-run/);
  const version = runAgent(['--version']);
  assert.is(version.status, 0);
  assert.match(version.stdout, /^netns-exporter \d+\.\d+\.\d+/);
});

test('a valid config passes --check-config', () => {
  const run = runAgent(['--check-config', '--config', writeConfig('interface_metrics: [rx_bytes]\nthreads: 2\n')]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /config OK/);
});

test('bad configs exit 2 with one line naming the key', () => {
  expectCliConfigError('threds: 4\n', /^netns-exporter: config error: threds: unknown key/);
  // Read by the target's validate(), not the loader: through the process too.
  expectCliConfigError('push:\n  pushgateway:\n    url: https://127.0.0.1:9\n    tls_config: {ca_file: /nonexistent/ca.pem}\n', /config error: push\.pushgateway\.tls_config\.ca_file: cannot read/);
  expectConfigError('threds: 4\n', /^threds: unknown key/);
  expectConfigError('namespaces_filter:\n  blacklist_pattern: "(["\n', /namespaces_filter\.blacklist_pattern: invalid regular expression/);
  expectConfigError('interface_metrics: [rx_bytez]\n', /interface_metrics\[0\]: unknown statistic "rx_bytez"/);
  expectConfigError('threads: 0\n', /threads: expected a whole number/);
  expectConfigError('interval: -5s\n', /interval: expected a positive duration/);
  expectConfigError('proc_metrics:\n  x:\n    file: ../../etc/shadow\n', /proc_metrics\.x\.file: .* escapes \/proc/);
  expectConfigError('collectors:\n  netstat:\n    fields: "(["\n', /collectors\.netstat\.fields: invalid regular expression/);
  expectConfigError('collectors:\n  sockstat:\n    enable: true\n', /collectors\.sockstat\.enable: unknown key \(known: enabled\)/);
  expectConfigError('threads: [\n', /invalid YAML/);
  expectConfigError('- a list\n', /expected a mapping/);
  expectConfigError('push:\n  pushgateway:\n    url: http://127.0.0.1:9\n    basic_auth: {username: u, password_file: /nonexistent/pw}\n', /push\.pushgateway\.basic_auth\.password_file: cannot read "\/nonexistent\/pw" \(ENOENT\)/);
});

test('a config file named on the command line must exist; the default path may be absent', () => {
  const loaded = loadConfig('/nonexistent/netns.yaml', true, NO_OVERRIDES);
  assert.equal(loaded.ok ? [] : loaded.errors, ['/nonexistent/netns.yaml: cannot read config file (ENOENT)']);
  const defaults = loadConfig('/nonexistent/netns.yaml', false, NO_OVERRIDES);
  assert.is(defaults.ok && defaults.source, 'built-in defaults');
});

test('bad flags exit 2', () => {
  assert.is(runAgent(['--frobnicate']).status, 2);
  for (const argv of [['--threads', '0'], ['--frobnicate'], ['--log-level', 'loud'], ['--once', '--dry-run']]) {
    assert.throws(() => parseCli(argv), (error: unknown) => error instanceof UsageError, argv.join(' '));
  }
  assert.throws(() => parseCli(['--once', '--dry-run']), /cannot be combined/);
});

test('--once with nothing to push is a usage error', () => {
  const run = runAgent(['--once', '--config', writeConfig('threads: 1\n')]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /--once needs push\.pushgateway or push\.remote_write/);
});

test('--log-file takes the logs, stdout keeps only the exposition', () => {
  const dir = tempDir('logfile');
  const logFile = path.join(dir, 'agent.log');
  const config = writeConfig({ netns_dirs: [dir] });
  const run = runAgent(['--dry-run', '--config', config, '--log-level', 'debug', '--log-file', logFile]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /^# HELP /);
  assert.is(run.stderr, '');
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.ok(lines.some((line) => line.msg === 'cycle collected' && line.namespaces === 0), JSON.stringify(lines));
});

test.run();
