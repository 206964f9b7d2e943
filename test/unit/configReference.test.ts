import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig, ENV_OVERRIDES } from '../../shared/config/schema.js';
import { LABEL_PRESETS } from '../../shared/config/presets.js';
import { INTERFACE_STATS } from '../../shared/interfaceStats.js';

const REFERENCE = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const PROBE = '__probe__';

type Raw = Record<string, unknown>;

/** Puts `value` at `keys` inside a fresh object: ['push', 'pushgateway'] → {push: {pushgateway: value}}. */
function nest(keys: readonly (string | number)[], value: unknown): unknown {
  return keys.reduceRight<unknown>((inner, key) => (typeof key === 'number' ? [inner] : { [key]: inner }), value);
}

function dotted(keys: readonly (string | number)[]): string {
  return keys.map((key) => (typeof key === 'number' ? '[]' : key)).join('.').replaceAll('.[]', '[]');
}

/**
 * The keys the schema knows at `keys`, read from the schema itself: an unknown key there is
 * answered with "unknown key (known: a, b, c)". Asking this of every key found, as a mapping, as a
 * list of mappings and as a mapping of named mappings (proc_metrics), walks the whole schema, so a
 * key added to the schema later is found without touching this test.
 */
function knownKeys(keys: readonly (string | number)[], seen: Set<string>): void {
  const shapes: { path: (string | number)[]; at: string }[] = [
    { path: [...keys], at: dotted(keys) },
    { path: [...keys, 0], at: `${dotted(keys)}[0]` },
    { path: [...keys, 'some_name'], at: `${dotted(keys)}.some_name` },
  ];
  for (const shape of shapes) {
    const result = parseConfig(nest(shape.path, { [PROBE]: 1 }), { hostname: 'h', env: {}, readFile: () => 'x' });
    const errors = result.ok ? [] : result.errors;
    const prefix = shape.at === '' ? PROBE : `${shape.at}.${PROBE}`;
    const line = errors.find((error) => error.startsWith(`${prefix}: unknown key (known: `));
    if (line === undefined) continue;
    const names = /\(known: ([^)]*)\)/.exec(line)![1]!.split(', ');
    for (const name of names) {
      const full = [...shape.path, name];
      const label = dotted(full).replace('.some_name', '.<name>');
      if (seen.has(label)) continue;
      seen.add(label);
      knownKeys(full, seen);
    }
    return;
  }
}

function schemaKeys(): string[] {
  const seen = new Set<string>();
  knownKeys([], seen);
  return [...seen].sort();
}

const test = suite('docs/configuration.md');
const reference = readFileSync(REFERENCE, 'utf8');

test('the schema walk finds the nested keys (the walk itself works)', () => {
  const keys = schemaKeys();
  for (const key of ['interval', 'push.pushgateway.basic_auth.password_file', 'push.remote_write.buffer.dir', 'labels.from_namespace[].regex', 'proc_metrics.<name>.type']) {
    assert.ok(keys.includes(key), `walk missed ${key}: ${keys.join(' ')}`);
  }
  assert.ok(keys.length > 60, `only ${keys.length} keys`);
});

test('documents every key the schema knows, by its full dotted path', () => {
  const missing = schemaKeys().filter((key) => !reference.includes(`\`${key}\``));
  assert.equal(missing, [], `docs/configuration.md lacks: ${missing.join(', ')}`);
});

test('documents every environment override, every preset and every interface statistic', () => {
  for (const variable of Object.keys(ENV_OVERRIDES)) assert.ok(reference.includes(`\`${variable}\``), variable);
  for (const preset of Object.keys(LABEL_PRESETS)) assert.ok(reference.includes(`\`${preset}\``), preset);
  for (const stat of INTERFACE_STATS) assert.ok(reference.includes(`\`${stat}\``), stat);
});

test.run();
