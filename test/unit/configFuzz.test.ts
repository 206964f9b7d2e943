import { readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configFromText } from '../../agent/config.js';
import { TEST_ENVIRONMENT } from '../helpers/config.js';
import { mutate, pick, seededRandom } from '../helpers/fuzz.js';

/** Random and mutated YAML fed to the loader in-process: it answers ok or errors, never throws or hangs. */
const test = suite('config loader fuzz (seeded, bounded)');
const EXAMPLES = new URL('../../../packaging/examples/', import.meta.url).pathname;
const SEEDS = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).map((name) => readFileSync(EXAMPLES + name, 'utf8'));
const YAML_BITS = ['&a ', '*a', '*b', '&b ', '<<: *a\n', '!!str ', '!!binary ', '!<tag:x> ', '? ', ': ', '- ', '[', ']', '{', '}', ',', '"', "'", '|\n', '>-\n', '#', '%YAML 1.2\n---\n', '---\n', '...\n', '\t', '\n  ', '\\u0000', '\u0000', '\ufeff', 'null', '~', '.inf', '0x1F', '1e999', '-0', 'true', '9'.repeat(40), '[[[[[[[[', '{a: {b: {c: ', 'proc_metrics: {x: {file: ', 'threads: ', 'interval: ', 'hostname: ', 'push: {pushgateway: {url: '];
const KEYS = ['threads', 'interval', 'read_timeout', 'reader', 'labels', 'hostname', 'push', 'health', 'proc_metrics', 'netns_dirs', 'api_server', 'interface_metrics', 'namespaces_filter', 'x'];

function randomYaml(random: () => number, depth = 0): string {
  const lines: string[] = [];
  const count = 1 + Math.floor(random() * 5);
  for (let i = 0; i < count; i += 1) {
    const indent = '  '.repeat(depth);
    const value = depth < 3 && random() < 0.3 ? `\n${randomYaml(random, depth + 1)}` : ` ${pick(random, YAML_BITS)}${pick(random, YAML_BITS)}`;
    lines.push(`${indent}${pick(random, KEYS)}:${value}`);
  }
  return lines.join('\n');
}

test('1,500 random and mutated configs: ok or one-line errors, never an exception, each fast', () => {
  const random = seededRandom(0x5eed11);
  const started = performance.now();
  let refused = 0;
  for (let i = 0; i < 1_500; i += 1) {
    const text = i % 2 === 0 ? mutate(random, pick(random, SEEDS), YAML_BITS) : randomYaml(random);
    const caseStarted = performance.now();
    let loaded;
    try {
      loaded = configFromText(text, 'f.yaml', { threads: null, logLevel: null }, TEST_ENVIRONMENT);
    } catch (error) {
      assert.unreachable(`case ${i} threw ${(error as Error).stack}\n--- input ---\n${text}`);
      return;
    }
    assert.ok(performance.now() - caseStarted < 1_000, `case ${i} took ${Math.round(performance.now() - caseStarted)} ms:\n${text}`);
    if (!loaded.ok) {
      refused += 1;
      assert.ok(loaded.errors.length > 0 && loaded.errors.length <= 21, `case ${i}: ${loaded.errors.length} errors`);
      for (const line of loaded.errors) assert.ok(line.length > 0 && !line.includes('\n'), `case ${i}: ${JSON.stringify(line)}`);
    }
  }
  assert.ok(refused > 100 && refused < 1_500, `refused ${refused} of 1,500: the fuzz exercises both outcomes`);
  assert.ok(performance.now() - started < 20_000, `took ${Math.round(performance.now() - started)} ms`);
});

test.run();
