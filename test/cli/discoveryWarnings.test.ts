import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, writeConfig } from '../helpers/agent.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/** A long-running agent warns about a discovery problem once, not once per cycle. */
const test = suite('CLI: discovery problems are warned about once');
let root = '';
let pidFile = '';

test.before(() => {
  root = tempDir('discovery-warnings');
  mkdirSync(path.join(root, 'netns'));
  pidFile = path.join(root, 'netns', 'not-a-netns');
  writeFileSync(pidFile, '');
  execFileSync('mount', ['--bind', '/proc/self/ns/pid', pidFile]);
});

test.after(() => {
  if (pidFile !== '') execFileSync('umount', [pidFile]);
  rmSync(root, { recursive: true, force: true });
});

test('netns_dirs: [/proc] and a pid namespace file: two warnings over many cycles, the pid file never read', async () => {
  const agent = startAgent(['--config', writeConfig({ interval: '300ms', read_timeout: '200ms', netns_dirs: ['/proc', path.join(root, 'netns')] }, 'discovery-warnings')]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // ten cycles
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
  const warnings = agent.output().split('\n').filter((line) => line.includes('"level":40'));
  assert.is(warnings.length, 2, warnings.join('\n'));
  assert.ok(warnings.some((line) => /"problem":"\/proc: \d+ entries are not network namespaces \(not on nsfs\)/.test(line)), warnings.join('\n'));
  assert.ok(warnings.some((line) => line.includes(`${pidFile} is a pid namespace, not a network namespace; skipped`)), warnings.join('\n'));
  assert.not.match(agent.output(), /namespace read failed/);
});

runWhen(test, ['root'], 'discovery warning tests');
