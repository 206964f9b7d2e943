import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * Nothing unused: `npm run lint` runs knip over the whole tree (every export has an importer) and
 * from the agent's own entry points alone (nothing in agent/ or shared/ exists only for tests).
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('knip: nothing unused');
const run = promisify(execFile);

test('npm run lint runs knip both ways, and the tests are no production entry point', async () => {
  const lint = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.lint!;
  assert.match(lint, /knip --no-progress/);
  assert.match(lint, /knip --production/);
  const { default: config } = (await import(path.join(ROOT, 'knip.config.js'))) as { default: Record<string, unknown> };
  const productionEntries = (config.entry as string[]).filter((pattern) => pattern.endsWith('!'));
  assert.ok(productionEntries.length > 0);
  for (const pattern of productionEntries) assert.ok(pattern.startsWith('agent/'), `${pattern} is a production entry`);
  assert.not.ok('ignore' in config, 'knip ignores no file');
  assert.not.ok('ignoreDependencies' in config || 'ignoreMembers' in config);
});

test('an export in shared/ that nothing uses fails the production check', async () => {
  const dir = mkdtempSync(path.join(ROOT, 'shared', 'knipProbe'));
  try {
    writeFileSync(path.join(dir, 'probe.ts'), "export const nobodyUsesThis = 1;\n");
    const failure = await run('npx', ['knip', '--production', '--no-progress'], { cwd: ROOT }).then(() => null, (error: { stdout: string }) => error);
    assert.ok(failure !== null, 'knip passed with an unused file in shared/');
    assert.match(failure.stdout, /knipProbe\w*\/probe\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
