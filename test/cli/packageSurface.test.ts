import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * What the package offers to others: a command, no importable API. A consumer's `import` goes
 * through Node's own resolution of package.json's `exports` (the package linked into a temporary
 * node_modules, as npm would install it); the built files are imported as a test would.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIST_AGENT = path.join(ROOT, 'dist', 'agent');

const test = suite('package surface');
let consumer = '';

test.before(() => {
  consumer = mkdtempSync(path.join(tmpdir(), 'netns-exporter-consumer-'));
  mkdirSync(path.join(consumer, 'node_modules'));
  symlinkSync(ROOT, path.join(consumer, 'node_modules', 'netns-exporter'), 'dir');
});
test.after(() => rmSync(consumer, { recursive: true, force: true }));

/** Runs an ES module snippet; a snippet that started the agent would not end within the timeout. */
function runModule(code: string, cwd: string) {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd, encoding: 'utf8', timeout: 10_000 });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

const importError = (specifier: string) => `import(${JSON.stringify(specifier)}).then(() => console.log('imported'), (error) => console.log(error.code))`;

test('importing the package does not start the agent: nothing is exported but package.json', () => {
  for (const specifier of ['netns-exporter', 'netns-exporter/shared/types', 'netns-exporter/shared/config/schema', 'netns-exporter/dist/agent/main.js']) {
    const run = runModule(importError(specifier), consumer);
    assert.is(run.status, 0, `${specifier}: ${run.signal ?? ''} ${run.stderr}`);
    assert.is(run.stdout.trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED', specifier);
  }
  const pkg = runModule("import('netns-exporter/package.json', { with: { type: 'json' } }).then((m) => console.log(m.default.name))", consumer);
  assert.is(pkg.stdout.trim(), 'netns-exporter', pkg.stderr);
});

test('the agent module can be imported without running it; the bin entry runs it', () => {
  const imported = runModule(`await import(${JSON.stringify(path.join(DIST_AGENT, 'main.js'))}); console.log('imported')`, consumer);
  assert.is(imported.status, 0, `${imported.signal ?? ''} ${imported.stderr}`);
  assert.is(imported.stdout, 'imported\n', 'importing main.js printed or ran nothing else');
  const bin = spawnSync(process.execPath, [path.join(DIST_AGENT, 'bin.js'), '--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(bin.status, 0, bin.stderr);
  assert.match(bin.stdout, /^netns-exporter \d+\.\d+\.\d+/);
});

test('`node dist/agent/main.js` (0.1.0 docs, Dockerfile) still runs the agent', () => {
  const run = spawnSync(process.execPath, [path.join(DIST_AGENT, 'main.js'), '--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /^netns-exporter \d+\.\d+\.\d+/);
});

test.run();
