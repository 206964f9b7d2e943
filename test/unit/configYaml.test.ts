import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromText, type LoadedConfig } from '../../agent/config.js';
import { TEST_ENVIRONMENT } from '../helpers/config.js';

const test = suite('config text: every YAML problem is a config error, in bounded time');
const NO_OVERRIDES = { threads: null, logLevel: null };

function load(text: string): LoadedConfig {
  return configFromText(text, 'c.yaml', NO_OVERRIDES, TEST_ENVIRONMENT);
}

/**
 * `work`'s result and the CPU time it took, in ms. The bounds guard against super-linear parsing (a pathological
 * config must not hang the agent); wall time on a loaded host measures the other processes too.
 */
function withCpuMs<T>(work: () => T): { result: T; ms: number } {
  const started = process.cpuUsage();
  const result = work();
  const used = process.cpuUsage(started);
  return { result, ms: (used.user + used.system) / 1_000 };
}

function errorsOf(text: string): string[] {
  const loaded = load(text);
  assert.is(loaded.ok, false, `expected errors for ${JSON.stringify(text.slice(0, 80))}`);
  return loaded.ok ? [] : loaded.errors;
}

test('an alias typo is a config error naming line and column, not an exception', () => {
  const errors = errorsOf('threads: &b 2\ninterval: 15s\nread_timeout: *B\n');
  assert.equal(errors, ['c.yaml:3:15: invalid YAML: alias *B names no anchor defined before it']);
});

test('an alias bomb is refused before it expands', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i += 1) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const { result: errors, ms } = withCpuMs(() => errorsOf(`${lines.join('\n')}\n`));
  assert.ok(ms < 1_000, `took ${Math.round(ms)} ms of CPU time`);
  assert.is(errors.length, 1);
  assert.match(errors[0]!, /^c\.yaml:2:\d+: invalid YAML: aliases expand to more than 100 nodes/);
});

test('an alias inside its own anchor is refused: the value would contain itself', () => {
  assert.equal(errorsOf('push: &p\n  pushgateway: {url: "http://127.0.0.1:9", headers: *p}\n'), ['c.yaml:2:53: invalid YAML: alias *p is inside its own anchor']);
  assert.match(errorsOf('netns_dirs: &d [/run/netns, *d]\n')[0]!, /^c\.yaml:1:29: invalid YAML: alias \*d is inside its own anchor$/);
});

test('plain aliases still work', () => {
  const loaded = load('interval: &i 20s\nhealth: {max_age: *i}\n');
  assert.ok(loaded.ok && loaded.config.health.maxAgeMs === 20_000, JSON.stringify(loaded));
});

test('syntax errors and duplicate keys name line and column', () => {
  assert.equal(errorsOf('threads: 2\nthreads: 3\n'), ['c.yaml:2:1: invalid YAML: duplicate key "threads"']);
  assert.match(errorsOf('labels:\n  preset: openstack\n  preset: general\n')[0]!, /^c\.yaml:3:3: invalid YAML: duplicate key "preset"$/);
  assert.match(errorsOf('threads: [\n')[0]!, /^c\.yaml:\d+:\d+: invalid YAML: /);
  assert.match(errorsOf('a: "unterminated\n')[0]!, /^c\.yaml:\d+:\d+: invalid YAML: /);
  assert.equal(errorsOf('? [a, b]\n: 1\n'), ['c.yaml:1:3: invalid YAML: a mapping key must be a plain value, not a list, mapping or alias']);
});

test('40,000 keys: linear parsing, a bounded error list', () => {
  const text = Array.from({ length: 40_000 }, (_, i) => `k${i}: ${i}`).join('\n');
  const { result: errors, ms } = withCpuMs(() => errorsOf(text));
  assert.ok(ms < 5_000, `40,000 keys took ${Math.round(ms)} ms of CPU time`);
  assert.is(errors.length, 21);
  assert.match(errors[20]!, /^c\.yaml: 39980 more errors not shown$/);
});

test('deep nesting is an error, not a stack overflow', () => {
  const depth = 100_000;
  const errors = errorsOf(`threads: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
  assert.is(errors.length, 1);
  assert.match(errors[0]!, /^c\.yaml/);
});

test.run();
