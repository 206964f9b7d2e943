import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * A setns worker thread loads only what reading needs: every module a thread loads costs memory in
 * that thread. The compiled worker's import graph (static and dynamic imports, followed through
 * relative paths) names no package but koffi, and none of the agent's heavy ones.
 */
const test = suite('setns worker imports');
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const HEAVY = ['prom-client', 'got', 'pino', 'yaml', 'protobufjs', 'snappy', 'snappyjs', 'hpagent', 'p-limit', 'bcryptjs'];

function graph(entry: string): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const walk = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)|require\('([^']+)'\)/gm)) {
      const spec = match[1] ?? match[2] ?? match[3] ?? match[4]!;
      if (spec.startsWith('.')) walk(path.resolve(path.dirname(file), spec));
      else packages.set(spec, path.relative(DIST, file));
    }
  };
  walk(path.join(DIST, entry));
  return { modules, packages };
}

test('the worker\'s modules import node built-ins and koffi only, nothing of the push, log or config side', () => {
  const { modules, packages } = graph('agent/readers/setnsWorker.js');
  for (const [spec, from] of packages) {
    assert.ok(spec.startsWith('node:') || spec === 'koffi', `${spec}, imported by ${from}`);
    assert.not.ok(HEAVY.includes(spec), `${spec}, imported by ${from}`);
  }
  const own = [...modules].map((file) => path.relative(DIST, file));
  assert.not.ok(own.some((file) => /^agent\/(log|loop|main|targets\/)|^shared\/(metrics|remoteWrite|config\/(yaml|schema))/.test(file)), own.join(' '));
  assert.ok(own.includes('agent/readers/netnsLibc.js'), 'the graph was followed');
});

test.run();
