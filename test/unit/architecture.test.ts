import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The design's fences, checked on the sources' import lines. The lint rules of eslint.config.js
 * (`npm run lint`, test/unit/lintFence.test.ts) enforce them too, and also see what this regex
 * cannot: `require('koffi')`, `createRequire(...)('koffi')`, `process.dlopen`, double quotes.
 */
const test = suite('architecture');
const ROOT = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = path.join(dir, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sources(relative);
    return relative.endsWith('.ts') ? [relative] : [];
  });
}

const imports = (file: string) => [...readFileSync(path.join(ROOT, file), 'utf8').matchAll(/from '([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);

test('only the namespace readers spawn processes or enter namespaces', () => {
  const allowed = /^agent\/readers\//;
  // The one module outside the readers that calls libc (the buffer folder's flock): FFI, no spawning.
  const libc = 'agent/system/libc.ts';
  // The one module outside the readers that starts threads (bcrypt for basic auth): threads, nothing else.
  const bcrypt = 'agent/system/bcrypt.ts';
  for (const file of [...sources('agent'), ...sources('shared')]) {
    if (allowed.test(file)) continue;
    const forbidden = ['node:child_process', 'node:worker_threads', 'koffi'].filter((spec) => !(file === libc && spec === 'koffi') && !(file === bcrypt && spec === 'node:worker_threads'));
    assert.not.ok(imports(file).some((spec) => forbidden.includes(spec)), `${file} spawns or loads FFI`);
  }
});

test('shared/ is pure: no I/O modules, nothing from agent/', () => {
  // node:net stays allowed for its pure isIP(); sockets are opened in agent/ only.
  const io = new Set(['node:fs', 'node:fs/promises', 'node:child_process', 'node:http', 'node:https', 'node:worker_threads', 'got', 'pino']);
  for (const file of sources('shared')) {
    for (const spec of imports(file)) {
      assert.not.ok(io.has(spec), `${file} imports ${spec}`);
      assert.not.ok(spec.includes('/agent/'), `${file} imports ${spec}`);
    }
  }
});

test('nothing imports the team kit beside the repository', () => {
  for (const file of [...sources('agent'), ...sources('shared'), ...sources('test'), ...sources('bench')]) {
    for (const spec of imports(file)) {
      const resolved = path.resolve(path.dirname(path.join(ROOT, file)), spec);
      if (spec.startsWith('.')) assert.ok(resolved.startsWith(ROOT), `${file} imports ${spec} from outside the repository`);
    }
  }
});

test('no two source files under agent/ and shared/ share a name', () => {
  const byName = new Map<string, string[]>();
  for (const file of [...sources('agent'), ...sources('shared')]) {
    const name = path.basename(file);
    byName.set(name, [...(byName.get(name) ?? []), file]);
  }
  const shared = [...byName.values()].filter((files) => files.length > 1);
  assert.equal(shared, [], `files sharing a name: ${shared.map((files) => files.join(' and ')).join('; ')}`);
});

/** The collectors, each one module under shared/collectors/ (as node_exporter keeps one file per collector). */
const COLLECTOR_MODULES = ['interfaces', 'procMetrics', 'netstat', 'sockstat', 'conntrack'];
/** A source's code without its comments, to look for names it uses. */
const code = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

test('each collector is one module under shared/collectors/', () => {
  for (const name of COLLECTOR_MODULES) assert.ok(sources('shared').includes(`shared/collectors/${name}.ts`), `shared/collectors/${name}.ts is missing`);
});

test('the readers and the registry iterate over the collector list: none names a file collector', () => {
  for (const file of [...sources('agent/readers'), ...sources('shared/metrics')]) {
    assert.not.ok(/\b(netstat|sockstat|conntrack)\b/i.test(code(file)), `${file} names a collector`);
  }
});

test('shared/config/ imports nothing from the floors above it', () => {
  for (const file of sources('shared/config')) {
    for (const spec of imports(file)) {
      const upward = spec.startsWith('../') && !spec.endsWith('/interfaceStats.js');
      assert.not.ok(upward, `${file} imports ${spec}`);
    }
  }
});

/**
 * The floors of shared/ (docs/architecture.md draws them): a module imports from its own floor or
 * the ones below, never from above. The first floor that matches a file is its floor.
 */
const SHARED_FLOORS: [string, RegExp][] = [
  ['facts', /^shared\/(snapshot|interfaceStats|metricSpec|compare|growingBuffer|delayWindow|shellQuote|backoff|proxy|pushgateway\/url|parse\/(error|mountinfo))\.ts$/],
  ['config', /^shared\/(config\/.*|filter)\.ts$/],
  ['decoders', /^shared\/(parse\/(ipJson|netlink)|packedInterfaces|packedSample|readerProof|discovery)\.ts$/],
  ['collectors', /^shared\/collectors\/.*\.ts$/],
  ['reader framing', /^shared\/parse\/(nsenterOutput|collectorRecords)\.ts$/],
  ['metrics', /^shared\/(metrics|remoteWrite)\/.*\.ts$/],
  ['reload', /^shared\/reloadPlan\.ts$/],
];
const floorOf = (file: string): number => SHARED_FLOORS.findIndex(([, pattern]) => pattern.test(file));

test('shared/ has floors, and no import points up', () => {
  for (const file of sources('shared')) {
    if (file.endsWith('.d.ts')) continue;
    const floor = floorOf(file);
    assert.ok(floor >= 0, `${file} is on no floor of docs/architecture.md`);
    for (const spec of imports(file)) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), spec)).replace(/\.js$/, '.ts');
      assert.ok(floorOf(target) <= floor, `${file} (${SHARED_FLOORS[floor]![0]}) imports ${target} (${SHARED_FLOORS[floorOf(target)]?.[0]})`);
    }
  }
});

test.run();
