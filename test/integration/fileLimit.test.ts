import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The descriptor limit: the agent raises its soft RLIMIT_NOFILE to the hard limit (each namespace
 * the setns reader keeps open holds descriptors), and the processes it spawns get the usual limit
 * back. Each case runs in a child node, so this test process keeps its own limit.
 */
const test = suite('descriptor limit');
const DIST = fileURLToPath(new URL('../../agent/', import.meta.url));

function inChild(script: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}

test('a soft limit below the hard one is raised to it; children get the soft limit the agent was given', () => {
  const out = inChild(`
    const { setFileLimit } = await import(${JSON.stringify(`${DIST}system/libc.js`)});
    const { raiseFileLimit, childFileLimit, readFileLimit } = await import(${JSON.stringify(`${DIST}system/fileLimit.js`)});
    const hard = readFileLimit().hard;
    setFileLimit({ soft: 300, hard });
    const after = raiseFileLimit();
    console.log(JSON.stringify({ after, hard, children: childFileLimit(), now: readFileLimit() }));`);
  const { after, hard, children, now } = JSON.parse(out) as { after: { soft: number; hard: number }; hard: number; children: number; now: { soft: number } };
  assert.equal(after, { soft: hard, hard });
  assert.is(now.soft, hard);
  assert.is(children, 300);
});

test('the reader shells run with 1,024 descriptors, not the limit Node raised for itself', () => {
  const out = inChild(`
    const { raiseFileLimit } = await import(${JSON.stringify(`${DIST}system/fileLimit.js`)});
    const { ShellWorker } = await import(${JSON.stringify(`${DIST}readers/shellWorker.js`)});
    raiseFileLimit();
    const worker = new ShellWorker('ulimit -Sn; cat /proc/self/limits');
    const run = await worker.run('/dev/null', 5000);
    await worker.close(1000);
    console.log(JSON.stringify(run));`);
  const run = JSON.parse(out) as { kind: string; stdout: string };
  assert.is(run.kind, 'done');
  const hard = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  assert.is(run.stdout.split('\n')[0], String(Math.min(1024, hard)));
  assert.match(run.stdout, new RegExp(`Max open files\\s+${Math.min(1024, hard)}\\s`));
});

test.run();
