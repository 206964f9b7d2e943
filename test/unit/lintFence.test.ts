import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The fences of eslint.config.js (`npm run lint`) catch what a regex over import lines cannot:
 * small offending files, written into a temporary folder inside agent/ or shared/ (the config
 * applies by path), are linted with the repository's own config.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('lint fence');
const eslint = new ESLint({ cwd: ROOT });
const scratch: string[] = [];

test.after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The rule ids and messages eslint reports for `code` saved as a file in `folder` (e.g. agent/). */
async function lint(folder: string, code: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(ROOT, folder, '.lint-probe-'));
  scratch.push(dir);
  const file = path.join(dir, 'probe.ts');
  writeFileSync(file, code);
  const [result] = await eslint.lintFiles([file]);
  rmSync(dir, { recursive: true, force: true });
  return result!.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

const SPAWNS = {
  'a static import of child_process': "import { spawn } from 'node:child_process';\nspawn('ip');\n",
  'worker_threads without the node: prefix': "import { Worker } from 'worker_threads';\nnew Worker('x');\n",
  'koffi through createRequire, in one expression': "import { createRequire } from 'node:module';\nexport const ffi = createRequire(import.meta.url)('koffi');\n",
  'koffi through a require made by createRequire': "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nexport const ffi = require('koffi');\n",
  'a dynamic import of worker_threads': "export const threads = await import('node:worker_threads');\n",
  'process.dlopen': "const module = { exports: {} };\nprocess.dlopen(module, '/lib/x.so');\n",
};

for (const [what, code] of Object.entries(SPAWNS)) {
  test(`agent/ outside readers/: ${what} is an error`, async () => {
    const errors = await lint('agent', code);
    assert.is(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /only agent\/readers\/ spawns processes, starts threads or loads FFI/);
  });
}

test('agent/readers/ may spawn and load FFI', async () => {
  for (const code of Object.values(SPAWNS)) assert.equal(await lint('agent/readers', code), [], code);
});

/** The rule ids and messages eslint reports for `code` as if it were the file `relative` (e.g. agent/system/libc.ts). */
async function lintAs(relative: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, relative) });
  return result!.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

test('agent/system/libc.ts is the one module outside readers/ that may load FFI, and it spawns nothing', async () => {
  for (const what of ['koffi through createRequire, in one expression', 'koffi through a require made by createRequire'] as const) {
    assert.equal(await lintAs('agent/system/libc.ts', SPAWNS[what]), [], what);
    assert.match((await lintAs('agent/system/other.ts', SPAWNS[what])).join('\n'), /only agent\/readers\//, `${what} next to it`);
  }
  for (const what of ['a static import of child_process', 'worker_threads without the node: prefix', 'a dynamic import of worker_threads', 'process.dlopen'] as const) {
    assert.match((await lintAs('agent/system/libc.ts', SPAWNS[what])).join('\n'), /only agent\/readers\//, what);
  }
});

test('agent/system/bcrypt.ts alone outside the readers may start threads, and nothing more', async () => {
  assert.equal(await lintAs('agent/system/bcrypt.ts', SPAWNS['worker_threads without the node: prefix']), []);
  assert.equal(await lintAs('agent/system/bcrypt.ts', SPAWNS['a dynamic import of worker_threads']), []);
  for (const what of ['a static import of child_process', 'koffi through createRequire, in one expression', 'process.dlopen'] as const) {
    assert.match((await lintAs('agent/system/bcrypt.ts', SPAWNS[what])).join('\n'), /only agent\/readers\//, what);
  }
  assert.match((await lintAs('agent/system/other.ts', SPAWNS['worker_threads without the node: prefix'])).join('\n'), /only agent\/readers\//, 'another file beside it may not');
});

test('shared/: an import from agent/, file I/O and spawning are errors', async () => {
  assert.match((await lint('shared', "import { loadConfig } from '../../agent/config.js';\nloadConfig('x', true, { threads: null, logLevel: null });\n")).join('\n'), /shared\/ must never import from agent\//);
  assert.match((await lint('shared', "import { readFileSync } from 'node:fs';\nreadFileSync('x');\n")).join('\n'), /shared\/ is pure/);
  assert.match((await lint('shared', "export const fs = await import('fs/promises');\n")).join('\n'), /shared\/ is pure/);
  assert.match((await lint('shared', SPAWNS['koffi through createRequire, in one expression'])).join('\n'), /only agent\/readers\//);
});

test('ordinary code passes: the rules do not fire on everything', async () => {
  const code = "import { isIP } from 'node:net';\nimport path from 'node:path';\nexport const ok = isIP('127.0.0.1') === 4 && path.sep === '/';\n";
  assert.equal(await lint('agent', code), []);
  assert.equal(await lint('shared', code), []);
});

test.run();
