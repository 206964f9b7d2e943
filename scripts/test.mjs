// Runs every uvu suite under dist/test and prints the closing line CI reads:
// "N passed, N failed" (", N skipped" when a suite was skipped), then the skipped suites by name.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What test/helpers/requirements.ts prints for a suite it skips outside CI. */
const SKIPPED_MARK = 'SKIPPED (not in CI): ';

// Only compiled test files (never their .map files); an optional argument narrows by path.
const narrow = process.argv[2] ?? '';
const pattern = `^(?=.*${narrow}).*\\.test\\.js$`;
// Every temporary folder the tests and the processes they start make goes under one folder of this
// run (TMPDIR), removed at the end: a run leaves the host's /tmp as it found it.
const scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-test-run-'));
// As /tmp is: tests run the agent and servers as other users (nobody, squid's proxy user).
chmodSync(scratch, 0o1777);
const child = spawn(process.execPath, ['node_modules/uvu/bin.js', 'dist/test', pattern, '-i', 'helpers', '-i', 'fixtures'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NO_COLOR: '1', TMPDIR: scratch },
});
let output = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk.toString();
});
child.on('close', (code) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  // uvu's Total is the tests it ran; its Skipped (test.skip, and each suite skipped for a missing
  // requirement) is counted apart from it.
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  let failed = total - passed;
  if (code !== 0 && failed === 0) failed = 1; // uvu crashed before its summary
  const skippedSuites = plain.split('\n').filter((line) => line.startsWith(SKIPPED_MARK)).map((line) => line.slice(SKIPPED_MARK.length));
  try {
    rmSync(scratch, { recursive: true, force: true });
  } catch (error) {
    // A test that left a namespace mounted in its folder: said, so it is found and fixed.
    console.log(`test temporary folder not removed: ${scratch} (${error.code ?? error.message})`);
  }
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  for (const suite of skippedSuites) console.log(`skipped: ${suite}`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
