import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/** What the README says about set-up and packaging is what the files do. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const README = read('README.md');

const test = suite('README: true to the files');

test('the quick start names exactly the packages .ci/run installs', () => {
  const ci = read('.ci/run');
  const install = /apt-get install -y -qq --no-install-recommends \\\n([\s\S]*?)>\/dev\/null/.exec(ci)![1]!;
  const installed = install.replace(/\\\n/g, ' ').trim().split(/\s+/).sort();
  const sentence = /\*\*Set up and pass the tests\*\* — installs with apt-get ([\s\S]*?), runs `npm ci`/.exec(README)![1]!;
  const named = [...sentence.matchAll(/`([^`]+)`/g)].map((match) => match[1]!).sort();
  assert.equal(named, installed);
});

test('every password or token file the README names is the one an example config uses', () => {
  const examples = readdirSync(path.join(ROOT, 'packaging/examples')).map((file) => read(`packaging/examples/${file}`)).join('\n');
  const files = [...README.matchAll(/(?:password_file|bearer_token_file): (\S+?)[},\s]/g)].map((match) => match[1]!);
  assert.ok(files.length > 0, 'the README shows a password file');
  for (const file of files) assert.ok(examples.includes(file), `${file} is in no example config`);
  for (const file of [...README.matchAll(/\/etc\/netns-exporter\/[\w.-]+\.password/g)].map((match) => match[0])) {
    assert.ok(examples.includes(file), `${file} is in no example config`);
  }
});

test('allowScripts decides on exactly the dependencies that have install scripts (none runs)', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages).filter(([, info]) => info.hasInstallScript).map(([name]) => name.replace(/^.*node_modules\//, '')).sort();
  const allow = (JSON.parse(read('package.json')) as { allowScripts: Record<string, boolean> }).allowScripts;
  assert.equal(Object.keys(allow).sort(), withScripts, 'a new dependency with an install script needs a decision in allowScripts');
  assert.ok(Object.values(allow).every((allowed) => allowed === false), 'nothing needs an install script');
  for (const name of withScripts) assert.match(README, new RegExp(`\`${name}\``), `the README explains ${name}`);
});

test('npm start does not rebuild when dist/ is current', () => {
  // `npm test` has just built dist/: the start script must go straight to the agent.
  const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /^netns-exporter \d+\.\d+\.\d+/);
  assert.not.match(run.stderr, /building/);
  assert.is((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start, 'node scripts/start.mjs');
});

test.run();
