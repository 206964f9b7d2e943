import { readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { mutate, pick, seededRandom } from '../helpers/fuzz.js';

/** A few mutated configs through the real CLI: exit 0 or 2, never 1, a crash or a hang. */
const test = suite('CLI: --check-config on mutated configs (seeded)');
const EXAMPLES = new URL('../../../packaging/examples/', import.meta.url).pathname;
const SEEDS = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).map((name) => readFileSync(EXAMPLES + name, 'utf8'));

test('8 mutated example configs exit 0 or 2 with at most 21 lines', () => {
  const random = seededRandom(0xc0ffee);
  const statuses: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    // Secret files of the examples do not exist here; mutations still reach the YAML and the schema.
    const text = mutate(random, pick(random, SEEDS), ['*a', '&a ', '*B', '[', '{', '? ', '- ', '\u0000', ': ']);
    const run = runAgent(['--check-config', '--config', writeConfig(text)], { timeoutMs: 15_000 });
    assert.ok(run.status === 0 || run.status === 2, `exit ${run.status} for:\n${text}\n${run.stderr}`);
    assert.not.match(run.stderr, /unexpected error|\n\s+at /);
    assert.ok(run.stderr.trim().split('\n').length <= 21);
    statuses.push(run.status!);
  }
  assert.ok(statuses.includes(2), 'some mutation is refused');
});

test.run();
