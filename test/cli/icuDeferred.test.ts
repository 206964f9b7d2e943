import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The first Intl object a process builds loads ICU's locale data and keeps it resident (about
 * 6 MB on Node 20, issue 24). got's type checker builds two list formatters when it loads; the HTTP
 * client defers them to their first use, which the agent never reaches.
 */
const test = suite('ICU stays unloaded with a push target');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HTTP_CLIENT = path.join(ROOT, 'dist', 'agent', 'targets', 'httpClient.js');

/** RSS in MB of a fresh node that imports the HTTP client (got with it), then runs `after`. */
function rssAfterImport(after: string): number {
  const script = `await import(${JSON.stringify(HTTP_CLIENT)}); ${after}; process.stdout.write(String(process.memoryUsage().rss / 1048576));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const rss = Number(run.stdout.trim());
  assert.ok(rss > 0, `no RSS printed: ${run.stdout}`);
  return rss;
}

test('importing the HTTP client leaves ICU unloaded: building the first formatter afterwards still costs megabytes', () => {
  const without = rssAfterImport('');
  const withIcu = rssAfterImport("new Intl.ListFormat('en').format(['a', 'b'])");
  assert.ok(withIcu - without > 3, `ICU loaded on import? ${without.toFixed(1)} MB, ${withIcu.toFixed(1)} MB after a formatter`);
});

test('the real Intl.ListFormat is back after got has loaded, and got\'s deferred formatters still word its errors', async () => {
  const original = Intl.ListFormat;
  await import(HTTP_CLIENT);
  assert.is(Intl.ListFormat, original);
  // got's own copy of its type checker (not a dependency of ours), where the deferred formatters live.
  const checker = pathToFileURL(path.join(ROOT, 'node_modules', '@sindresorhus', 'is', 'distribution', 'index.js')).href;
  const { assert: check } = (await import(checker)) as { assert: { any(predicates: ((value: unknown) => boolean)[], ...values: unknown[]): void } };
  // Its list wording goes through the deferred formatter: "a or b", "x and y".
  assert.throws(() => check.any([(value: unknown) => typeof value === 'string', (value: unknown) => typeof value === 'number'], true, 5n), /Expected values which are `predicate returns truthy for any value`\. Received values of types `boolean` and `bigint`\./);
});

test.run();
