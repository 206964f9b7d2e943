import { spawn, spawnSync } from 'node:child_process';
import https from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/agent.js';
import { addNamespace, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, tempDir, type RunningServer } from '../helpers/servers.js';
import { makeCertificates, writeWebConfig, type TestCertificates } from '../helpers/webConfig.js';

/**
 * The README's systemd install, run as written: every line of its block, with /etc and the global
 * npm prefix moved under a temporary folder, the operator's edits made to the example config
 * (gateway URL, no proxy, this test's namespaces, a free health port), an https Pushgateway with
 * basic auth on loopback as the gateway. systemd is not PID 1 on the CI machines, so the last line
 * (`systemctl daemon-reload && systemctl enable --now`) becomes what can be checked without it:
 * `systemd-analyze verify` of the installed unit, then its ExecStartPre and ExecStart lines run with
 * the unit's capabilities and no_new_privs (setpriv) until the push arrives, and SIGTERM → exit 0.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PASSWORD = 'readme-install-Pw7';

const test = suite('README: the systemd install, end to end');
let scratch = '';
let gateway: RunningServer;
let certs: TestCertificates;

test.before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-readme-'));
  certs = makeCertificates(tempDir('readme-certs'));
  const web = writeWebConfig(path.join(scratch, 'web.yml'), { tls: { cert: certs.serverCert, key: certs.serverKey }, users: { 'netns-exporter': PASSWORD } });
  gateway = await startPushgateway([`--web.config.file=${web}`], { scheme: 'https' });
  addNamespace(`qrouter-${process.pid}`);
});
test.after(async () => {
  await gateway?.stop();
  cleanupNamespaces();
  rmSync(scratch, { recursive: true, force: true });
});

/** The lines of the first ```sh block after `marker`, comments removed. */
function readmeBlock(marker: string): string[] {
  const start = README.indexOf(marker);
  assert.ok(start >= 0, `README has ${marker}`);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(start))![1]!;
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** Runs `command` (a shell line) from the repository, as the README's reader would. */
function sh(command: string) {
  const run = spawnSync('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.is(run.status, 0, `${command}\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** The gateway's groups, read over its https API with basic auth. */
function gatewayGroups(): Promise<{ labels: Record<string, string> }[]> {
  return new Promise((resolve, reject) => {
    https.get(`${gateway.url}/api/v1/metrics`, { ca: readFileSync(certs.caCert), auth: `netns-exporter:${PASSWORD}` }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve((JSON.parse(body) as { data: { labels: Record<string, string> }[] }).data));
    }).on('error', reject);
  });
}

test('every line of the README\'s systemd block, then the unit\'s own commands with its capabilities', async () => {
  const lines = readmeBlock('**systemd**');
  const etc = path.join(scratch, 'etc');
  const prefix = path.join(scratch, 'prefix');
  // What every systemd host has already.
  mkdirSync(path.join(etc, 'systemd', 'system'), { recursive: true });
  const healthPort = await freePort();
  const moved = (line: string) => line
    .replaceAll('/etc/', `${etc}/`)
    .replace(/^netns-exporter /, `${prefix}/bin/netns-exporter `)
    .replace(/ gateway-ca\.pem /, ` ${certs.caCert} `);
  const last = lines.pop()!;
  assert.is(last, 'systemctl daemon-reload && systemctl enable --now netns-exporter');

  for (const line of lines) {
    if (line === 'npm ci && npm pack') {
      // npm ci already ran (CI's first step); a pack that ran `prepare` would rebuild dist/ under other tests.
      sh(`npm pack --ignore-scripts --pack-destination ${scratch}`);
    } else if (line.startsWith('npm install -g ./')) {
      assert.is(line, `npm install -g ./netns-exporter-${VERSION}.tgz`, 'the README names this version\'s tarball');
      sh(`npm install -g --prefix ${prefix} --prefer-offline --no-audit --no-fund ${scratch}/netns-exporter-${VERSION}.tgz`);
    } else {
      sh(moved(line));
    }
    if (line.includes('/etc/netns-exporter/config.yaml') && line.startsWith('install ')) {
      // The operator's edit: this gateway, no proxy, this test's namespaces, a free health port, no splay.
      const file = path.join(etc, 'netns-exporter', 'config.yaml');
      const edited = readFileSync(file, 'utf8')
        .replace(/url: https:\/\/\S+/, `url: ${gateway.url}`)
        .replace(/^\s*proxy_url: .*\n/m, '')
        .replace(/whitelist_pattern: .*/, `whitelist_pattern: '^${TEST_PREFIX}qrouter-'`)
        .replace(/listen: 127\.0\.0\.1:\d+/, `listen: 127.0.0.1:${healthPort}`)
        .replace(/^splay: .*$/m, 'splay: 0s')
        .replaceAll('/etc/netns-exporter/', `${etc}/netns-exporter/`);
      writeFileSync(file, edited);
    }
    if (line.includes('pushgateway.password')) writeFileSync(path.join(etc, 'netns-exporter', 'pushgateway.password'), `${PASSWORD}\n`);
  }

  // The last line, without systemd as PID 1: verify the installed unit, then run its commands as it would.
  const unitFile = path.join(etc, 'systemd', 'system', 'netns-exporter.service');
  const unit = readFileSync(unitFile, 'utf8').replaceAll('/usr/local/bin/netns-exporter', `${prefix}/bin/netns-exporter`).replaceAll('/etc/netns-exporter/', `${etc}/netns-exporter/`);
  writeFileSync(unitFile, unit);
  const verify = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8', timeout: 60_000 });
  assert.is(verify.status, 0, verify.stderr);
  const directive = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(unit)![1]!.split(' ');
  const caps = `-all,${directive('CapabilityBoundingSet').map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`).join(',')}`;
  const setpriv = ['--no-new-privs', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, '--'];
  const pre = spawnSync('setpriv', [...setpriv, ...directive('ExecStartPre')], { encoding: 'utf8', timeout: 30_000 });
  assert.is(pre.status, 0, `ExecStartPre: ${pre.stderr}`);

  const agent = spawn('setpriv', [...setpriv, ...directive('ExecStart')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  agent.stdout.on('data', (chunk) => (log += chunk));
  agent.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  try {
    const instance = await waitFor('this node\'s group on the gateway', async () => (await gatewayGroups()).find((group) => group.labels.job === 'netns_exporter') ?? null, { context: () => log, timeoutMs: 30_000 });
    assert.ok(instance.labels.instance, 'grouped by instance');
    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    assert.is(health.status, 200, await health.text());
  } finally {
    agent.kill('SIGTERM');
  }
  assert.is(await exited, 0, log.slice(-2000));
});

runWhen(test, ['root', 'ip', 'nsenter', 'pushgateway', 'openssl', 'systemd-analyze', 'setpriv'], 'README install test');
