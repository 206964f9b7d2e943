import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * Logic written once: each of these has one helper, and its shape appears nowhere else in agent/ or
 * shared/. The shapes differ a little from copy to copy, so a duplicate-block search misses them.
 */
const test = suite('written once');
const ROOT = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = path.join(dir, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sources(relative);
    return relative.endsWith('.ts') ? [relative] : [];
  });
}

/** Where `pattern` appears in the code (comments left out). */
function filesWith(pattern: RegExp): string[] {
  return [...sources('agent'), ...sources('shared')].filter((file) => {
    const code = readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    return pattern.test(code);
  });
}

const ONCE: [string, RegExp, string][] = [
  ['shell quoting', /'\\\\''/, 'shared/shellQuote.ts'],
  ['a code-unit string comparator', /< b[\w.]* \? -1/, 'shared/compare.ts'],
  ['blanking the figures of a problem text', /\.replace\(\/[^/]*\\d[^/]*\/g, '#'\)/, 'agent/problemLog.ts'],
  ['racing work against a timer', /Promise\.race\(/, 'agent/deadline.ts'],
  ['refusing a file that is not regular after opening it', /fstatSync\([^)]*\)(\.isFile\(\)|;\s*\n\s*if \(!\w+\.isFile\(\)\))/, 'agent/regularFile.ts'],
];

for (const [what, pattern, home] of ONCE) {
  test(`${what}: only in ${home}`, () => {
    assert.equal(filesWith(pattern), [home]);
  });
}

test('the namespace name filter is applied in one place', () => {
  assert.equal(filesWith(/passesFilter\(\w+, (options\.)?filter\)/), ['agent/discover.ts']);
});

test.run();
