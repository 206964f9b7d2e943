import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT, runAgent, startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, tempDir } from '../helpers/servers.js';

/** Logs for people (a readable line on a terminal) and machines (JSON lines), and logrotate. */
const test = suite('CLI: log formats and log files');

/** `time LEVEL message key=value…` */
const TEXT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;

async function pullConfig(): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const file = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` },
    interval: '2s',
    read_timeout: '1s',
    api_server: { enabled: true, server_address: '127.0.0.1', server_port: port },
  }, 'logging');
  return { file, port };
}

/** Runs `--check-config` with stderr on a pseudo-terminal (util-linux `script`), returns what it printed. */
function onTerminal(args: string[]): string {
  const command = [process.execPath, AGENT, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  return execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
}

test('--log-format text: one readable line per event with key=value fields', () => {
  const config = writeConfig({ namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` } }, 'logging-text');
  const run = runAgent(['--dry-run', '--log-level', 'debug', '--log-format', 'text', '--config', config]);
  assert.is(run.status, 0, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.ok(lines.length >= 2, run.stderr);
  for (const line of lines) assert.match(line, TEXT_LINE);
  assert.match(run.stderr, / DEBUG configuration loaded source=\S+/);
  assert.not.match(run.stderr, /"level":|pid=/, 'no JSON, no pid');
});

test('JSON lines by default when stderr is not a terminal; text on a terminal unless --log-format json', () => {
  const config = writeConfig({ namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}none$` } }, 'logging-json');
  const piped = runAgent(['--dry-run', '--log-level', 'debug', '--config', config]);
  assert.is(piped.status, 0, piped.stderr);
  for (const line of piped.stderr.trim().split('\n')) assert.ok(JSON.parse(line).msg, line);

  const terminal = onTerminal(['--dry-run', '--log-level', 'debug', '--config', config]);
  const logLines = terminal.split(/\r?\n/).filter((line) => /configuration loaded/.test(line));
  assert.is(logLines.length, 1, terminal.slice(0, 2000));
  assert.match(logLines[0]!, TEXT_LINE);

  const forced = onTerminal(['--dry-run', '--log-level', 'debug', '--log-format', 'json', '--config', config]);
  const jsonLine = forced.split(/\r?\n/).find((line) => /configuration loaded/.test(line));
  assert.ok(jsonLine && JSON.parse(jsonLine).msg === 'configuration loaded', forced.slice(0, 2000));
});

test('--log-format with anything else is a usage error (exit 2)', () => {
  const run = runAgent(['--log-format', 'pretty']);
  assert.is(run.status, 2);
  assert.match(run.stderr, /--log-format: expected json or text, got "pretty"/);
});

test('--log-file is reopened on SIGUSR1 and SIGHUP: after a rename, new lines land in a new file', async () => {
  const { file: config } = await pullConfig();
  const dir = tempDir('logging-file');
  const log = path.join(dir, 'netns-exporter.log');
  const agent = startAgent(['--config', config, '--log-file', log]);
  try {
    await waitFor('the first lines in the log file', async () => existsSync(log) && /netns-exporter running/.test(readFileSync(log, 'utf8')), { context: agent.output });
    renameSync(log, `${log}.1`);
    agent.child.kill('SIGUSR1');
    await waitFor('a new log file after SIGUSR1', async () => existsSync(log) && /log file reopened/.test(readFileSync(log, 'utf8')), { context: agent.output });
    assert.not.match(readFileSync(`${log}.1`, 'utf8'), /log file reopened/, 'the rotated file got nothing more');
    assert.not.match(agent.output(), /Debugger listening/, 'SIGUSR1 does not open the inspector');

    renameSync(log, `${log}.2`);
    agent.child.kill('SIGHUP');
    await waitFor('a new log file after SIGHUP', async () => existsSync(log) && /configuration reloaded/.test(readFileSync(log, 'utf8')), { context: agent.output });
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) assert.ok(JSON.parse(line).msg, 'JSON lines in a file by default');
  } finally {
    agent.child.kill('SIGTERM');
    assert.is(await agent.exited, 0);
  }
});

test('packaging/logrotate/netns-exporter parses, and its rotation reaches the running agent', async () => {
  const snippet = readFileSync(new URL('../../../packaging/logrotate/netns-exporter', import.meta.url), 'utf8');
  assert.match(snippet, /^\/var\/log\/netns-exporter\/netns-exporter\.log \{/m);
  assert.match(snippet, /postrotate[\s\S]*systemctl kill --signal=SIGUSR1 --kill-who=main netns-exporter\.service[\s\S]*endscript/);
  const dir = tempDir('logrotate');
  const log = path.join(dir, 'netns-exporter.log');
  const { file: config } = await pullConfig();
  const agent = startAgent(['--config', config, '--log-file', log]);
  try {
    await waitFor('the agent running', async () => existsSync(log) && /netns-exporter running/.test(readFileSync(log, 'utf8')), { context: agent.output });
    // The packaged snippet with this run's file, and the signal sent to this agent instead of the unit.
    const local = snippet
      .replace(/^\/var\/log\/netns-exporter\/netns-exporter\.log \{/m, `${log} {`)
      .replace(/systemctl kill .*$/m, `kill -USR1 ${agent.child.pid}`);
    writeFileSync(path.join(dir, 'logrotate.conf'), local);
    const rotate = spawnSync('logrotate', ['--verbose', '--force', '--state', path.join(dir, 'state'), path.join(dir, 'logrotate.conf')], { encoding: 'utf8' });
    assert.is(rotate.status, 0, rotate.stderr);
    assert.ok(existsSync(`${log}.1`), `rotated to .1 (compressed from the next rotation on): ${rotate.stdout}${rotate.stderr}`);
    await waitFor('the agent writing to the new file', async () => existsSync(log) && /log file reopened/.test(readFileSync(log, 'utf8')), { context: agent.output });
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

runWhen(test, ['root', 'logrotate'], 'logging test');
