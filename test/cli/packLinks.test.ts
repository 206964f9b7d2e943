import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The documents in the npm tarball link only what the tarball holds: a user reading the installed
 * README (npm's package page shows it too) must not meet a link to a file that is not there.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const test = suite('npm tarball: links in its documents');

function packedFiles(): string[] {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.is(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
}

/** Relative link targets of a markdown file, anchors and external URLs left out. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#', 1)[0]!);
}

test('every relative link in a shipped markdown file points into the tarball', () => {
  const files = packedFiles();
  const shipped = (target: string) => files.includes(target) || files.some((file) => file.startsWith(`${target.replace(/\/$/, '')}/`));
  const documents = files.filter((file) => file.endsWith('.md'));
  assert.ok(documents.includes('README.md'), 'the README is shipped');
  let checked = 0;
  for (const document of documents) {
    for (const link of relativeLinks(readFileSync(path.join(ROOT, document), 'utf8'))) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(document), link));
      assert.ok(shipped(target), `${document} links ${link}, which the npm tarball does not hold`);
      checked += 1;
    }
  }
  assert.ok(checked > 10, `only ${checked} links checked`);
});

test.run();
