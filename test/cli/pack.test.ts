import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The npm tarball installs and runs as an operator would get it: `npm pack`, then a global install
 * into a temporary prefix. --prefer-offline: the dependencies' tarballs are in the npm cache after
 * `npm ci`, but resolving the tarball's version ranges needs the registry's package documents,
 * which `npm ci` does not cache (so --offline fails on a fresh machine); those are fetched once.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(spawnSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: ROOT, encoding: 'utf8' }).stdout) as { version: string }).version;

function npm(args: string[], cwd: string) {
  // --ignore-scripts on pack: `prepare` would rebuild dist/ under the feet of tests running now.
  const run = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const test = suite('npm pack');
let scratch = '';
let tarball = '';

test.before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-pack-'));
});
test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('the tarball holds the agent, packaging and docs, and no tests', () => {
  const run = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
  assert.is(run.status, 0, run.stderr);
  const [info] = JSON.parse(run.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(scratch, path.basename(info!.filename));
  assert.equal(readdirSync(scratch).filter((name) => name.endsWith('.tgz')), [path.basename(tarball)]);
  const files = info!.files.map((file) => file.path);
  for (const needed of [
    'package.json', 'dist/agent/bin.js', 'dist/agent/main.js', 'dist/shared/config/schema.js', 'packaging/systemd/netns-exporter.service',
    'packaging/examples/openstack-pushgateway.yaml', 'packaging/prometheus/alerts.yml', 'packaging/grafana/netns-exporter.json',
    'docs/configuration.md', 'docs/metrics.md', 'docs/troubleshooting.md', 'CHANGELOG.md',
  ]) {
    assert.ok(files.includes(needed), `${needed} is not in the tarball`);
  }
  assert.is(files.filter((file) => file.startsWith('dist/test/') || file.startsWith('dist/bench/') || file.startsWith('test/')).length, 0);
});

test('installs globally and runs: --version, --check-config on a shipped example', () => {
  assert.ok(tarball !== '', 'the pack test did not produce a tarball');
  const prefix = path.join(scratch, 'prefix');
  const install = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], scratch);
  assert.is(install.status, 0, install.stderr);
  const bin = path.join(prefix, 'bin', 'netns-exporter');
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(version.status, 0, version.stderr);
  assert.is(version.stdout.trim(), `netns-exporter ${VERSION}`);
  const example = path.join(prefix, 'lib', 'node_modules', 'netns-exporter', 'packaging', 'examples', 'pull-only.yaml');
  const check = spawnSync(bin, ['--check-config', '--config', example], { encoding: 'utf8', timeout: 30_000 });
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stdout, /config OK/);
});

test.run();
