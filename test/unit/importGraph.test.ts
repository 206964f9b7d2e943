import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

/*
 * What a thread of the agent loads at start is the memory it keeps: each package costs its code,
 * its compiled functions and its objects in every thread that imports it (issue 24). These walk
 * the compiled modules' static imports (a dynamic import() is loaded only when reached).
 */

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STATIC_IMPORT = /^(?:import|export)\s(?:[^'";]*?\sfrom\s)?'([^']+)';$/gm;

/** The packages (bare specifiers, `node:` left out) reached from `entry` by static imports. */
function packagesReached(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = [path.join(DIST, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (specifier!.startsWith('.')) pending.push(path.resolve(path.dirname(file), specifier!));
      else if (!specifier!.startsWith('node:')) packages.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
    }
  }
  return packages;
}

test('the walk finds what the agent does load: pino, yaml, prom-client at start; got with a push target', () => {
  const reached = packagesReached('agent/main.js');
  for (const name of ['pino', 'yaml', 'prom-client']) assert.ok(reached.has(name), `${name} in ${[...reached].join(', ')}`);
  assert.ok(packagesReached('agent/targets/remoteWrite.js').has('got'));
});

test('a remote_write target loads neither protobufjs nor snappyjs: the 413 split and reading buffered requests back load them when first needed', () => {
  // The targets' modules are themselves loaded only when configured (createTargets).
  for (const entry of ['agent/main.js', 'agent/targets/remoteWrite.js']) {
    const reached = packagesReached(entry);
    assert.not.ok(reached.has('protobufjs'), `${entry}: protobufjs is loaded at start`);
    assert.not.ok(reached.has('snappyjs'), `${entry}: snappyjs is loaded at start`);
  }
});

test('a setns reader thread loads only what reading needs', () => {
  const reached = packagesReached('agent/readers/setnsWorker.js');
  for (const name of ['prom-client', 'got', 'pino', 'yaml', 'protobufjs', 'snappyjs', 'snappy']) assert.not.ok(reached.has(name), `${name} in a reader thread`);
});

test.run();
