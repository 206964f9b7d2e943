import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * scripts/test.mjs's closing lines. A suite whose requirement is missing is skipped outside CI and
 * counted as such; in CI it fails. The requirement is made missing by a PATH that holds nothing, so
 * alerts.test (which needs promtool) is the suite that goes.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('test runner: the closing line');

function runAlertsSuite(ci: boolean): { status: number | null; lines: string[] } {
  const env: NodeJS.ProcessEnv = { PATH: '/nonexistent', HOME: process.env.HOME };
  if (ci) env.CI = 'true';
  const run = spawnSync(process.execPath, ['scripts/test.mjs', 'cli/alerts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, lines: run.stdout.trim().split('\n') };
}

test('outside CI a skipped suite is counted and named at the end', () => {
  const { status, lines } = runAlertsSuite(false);
  assert.is(status, 0);
  const closing = lines.findIndex((line) => /^\d+ passed, \d+ failed/.test(line));
  assert.is(lines[closing], '0 passed, 0 failed, 1 skipped');
  assert.equal(lines.slice(closing + 1), ['skipped: alerts.test needs promtool']);
});

test('in CI the same suite fails, and nothing is skipped', () => {
  const { status, lines } = runAlertsSuite(true);
  assert.is(status, 1);
  assert.match(lines.at(-1)!, /^\d+ passed, [1-9]\d* failed$/);
});

test.run();
