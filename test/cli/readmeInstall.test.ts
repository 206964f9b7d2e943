import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/agent.js';
import { addNamespace, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPushgateway, type RunningServer } from '../helpers/servers.js';
import { makeCertificates, writeWebConfig, type TestCertificates } from '../helpers/webConfig.js';

/**
 * The README's systemd install, run as written: every line of its block (a here-document counts as
 * one command), in a mount namespace of its own where /etc and /usr are overlays over the host's, so
 * `npm install -g`, the unit, its drop-in and the config land where the README puts them and the
 * host keeps none of it. The unit and the drop-in are installed and read exactly as shipped; only the
 * operator's edits of the example config (gateway URL, no proxy, this test's namespaces, a free
 * health port) and the password are this test's. The gateway is an https Pushgateway with basic auth
 * on loopback. systemd is not PID 1 on the CI machines, so the last line (`systemctl daemon-reload &&
 * systemctl enable --now`) becomes what can be checked without it: `systemd-analyze verify` of the
 * installed unit with its drop-ins, then the ExecStartPre and ExecStart they leave in force, run with
 * the unit's capabilities and no_new_privs (setpriv) until the push arrives, and SIGTERM → exit 0.
 * (packaging/container/test-image.sh runs the same block under a real systemd.)
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PASSWORD = 'readme-install-Pw7';
const UNIT = 'netns-exporter.service';

const test = suite('README: the systemd install, end to end');
let scratch = '';
let source = '';
let gateway: RunningServer;
let certs: TestCertificates;
let holder: ChildProcess | undefined;
let holderPid = 0;

test.before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-readme-'));
  // Under scratch, so after() removes them with the rest.
  mkdirSync(path.join(scratch, 'certs'));
  certs = makeCertificates(path.join(scratch, 'certs'));
  const web = writeWebConfig(path.join(scratch, 'web.yml'), { tls: { cert: certs.serverCert, key: certs.serverKey }, users: { 'netns-exporter': PASSWORD } });
  gateway = await startPushgateway([`--web.config.file=${web}`], { scheme: 'https' });
  addNamespace(`qrouter-${process.pid}`);
  // What the operator's folder holds: the repository's packaging/, the CA of the gateway's certificate.
  source = path.join(scratch, 'src');
  mkdirSync(source);
  cpSync(path.join(ROOT, 'packaging'), path.join(source, 'packaging'), { recursive: true });
  cpSync(certs.caCert, path.join(source, 'gateway-ca.pem'));
  for (const dir of ['etc', 'usr']) for (const part of ['upper', 'work']) mkdirSync(path.join(scratch, dir, part), { recursive: true });
  holder = spawn('unshare', ['--mount', '--propagation', 'slave', 'sh', '-c', [
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${scratch}/etc/upper,workdir=${scratch}/etc/work /etc`,
    `mount -t overlay overlay -o lowerdir=/usr,upperdir=${scratch}/usr/upper,workdir=${scratch}/usr/work /usr`,
    'echo ready',
    'exec sleep 3600',
  ].join(' && ')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  holder.stdout!.on('data', (chunk) => (said += chunk));
  holder.stderr!.on('data', (chunk) => (said += chunk));
  await waitFor('the overlay mount namespace', async () => (said.includes('ready') ? true : null), { context: () => said, timeoutMs: 10_000 });
  holderPid = holder.pid!;
});
test.after(async () => {
  holder?.kill('SIGKILL');
  await gateway?.stop();
  cleanupNamespaces();
  rmSync(scratch, { recursive: true, force: true });
});

/** The commands of the first ```sh block after `marker`: one per line, a here-document one command. */
function readmeBlock(marker: string): string[] {
  const start = README.indexOf(marker);
  assert.ok(start >= 0, `README has ${marker}`);
  const lines = /```sh\n([\s\S]*?)```/.exec(README.slice(start))![1]!.split('\n');
  const commands: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /<<-?\s*'?(\w+)'?\s*$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[1]!, i + 1);
      assert.ok(end > i, `the here-document of "${lines[i]}" ends`);
      commands.push(lines.slice(i, end + 1).join('\n'));
      i = end;
      continue;
    }
    const line = lines[i]!.replace(/\s+#.*$/, '').trim();
    if (line) commands.push(line);
  }
  return commands;
}

/** Runs `command` in the overlay mount namespace, from the operator's folder. */
function sh(command: string) {
  const run = spawnSync('nsenter', ['-t', String(holderPid), '-m', '--', 'sh', '-c', `cd ${source} && ${command}`], {
    encoding: 'utf8', timeout: 240_000,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' },
  });
  assert.is(run.status, 0, `${command}\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** A file as the namespace sees it (through its holder's root). */
const inside = (file: string) => `/proc/${holderPid}/root${file}`;

/**
 * The commands a directive leaves in force once the unit's drop-ins are applied, as systemd reads
 * them: drop-ins in name order, an empty assignment clearing the list.
 */
function directiveInForce(name: string): string[][] {
  const dropins = path.join(inside('/etc/systemd/system'), `${UNIT}.d`);
  const texts = [readFileSync(path.join(inside('/etc/systemd/system'), UNIT), 'utf8')];
  if (existsSync(dropins)) for (const file of readdirSync(dropins).filter((name) => name.endsWith('.conf')).sort()) texts.push(readFileSync(path.join(dropins, file), 'utf8'));
  let values: string[] = [];
  for (const text of texts) {
    for (const match of text.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))) values = match[1] === '' ? [] : [...values, match[1]!];
  }
  return values.map((value) => value.split(' '));
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
  const lines = readmeBlock('**systemd, from npm**');
  const healthPort = await freePort();
  const last = lines.pop()!;
  assert.is(last, 'systemctl daemon-reload && systemctl enable --now netns-exporter');

  for (const line of lines) {
    if (line === 'npm ci && npm pack') {
      // npm ci already ran (CI's first step); a pack that ran `prepare` would rebuild dist/ under other tests.
      spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', source], { cwd: ROOT, encoding: 'utf8' });
      assert.ok(existsSync(path.join(source, `netns-exporter-${VERSION}.tgz`)), 'npm pack made this version\'s tarball');
      continue;
    }
    const run = sh(line);
    if (line.startsWith('npm install -g ')) {
      assert.ok(line.endsWith(` ./netns-exporter-${VERSION}.tgz`), 'the README names this version\'s tarball');
      // What the README promises: the install prints one line and warns about nothing.
      assert.is(run.stderr, '', `npm install -g printed on stderr:\n${run.stderr}`);
      assert.match(run.stdout.trim(), /^added \d+ packages in [\d.]+m?s$/);
    }
    if (line.includes('/etc/netns-exporter/config.yaml') && line.startsWith('install ')) {
      // The operator's edit: this gateway, no proxy, this test's namespaces, a free health port, no splay.
      const file = inside('/etc/netns-exporter/config.yaml');
      const edited = readFileSync(file, 'utf8')
        .replace(/url: https:\/\/\S+/, `url: ${gateway.url}`)
        .replace(/^\s*proxy_url: .*\n/m, '')
        .replace(/whitelist_pattern: .*/, `whitelist_pattern: '^${TEST_PREFIX}qrouter-'`)
        .replace(/listen: 127\.0\.0\.1:\d+/, `listen: 127.0.0.1:${healthPort}`)
        .replace(/^splay: .*$/m, 'splay: 0s');
      writeFileSync(file, edited);
    }
    if (line.includes('pushgateway.password')) writeFileSync(inside('/etc/netns-exporter/pushgateway.password'), `${PASSWORD}\n`);
  }

  // The last line, without systemd as PID 1: verify the installed unit, then run its commands as it would.
  const unit = readFileSync(inside(`/etc/systemd/system/${UNIT}`), 'utf8');
  assert.is(unit, readFileSync(path.join(ROOT, 'packaging', 'systemd', UNIT), 'utf8'), 'the unit is installed as shipped');
  const verify = spawnSync('nsenter', ['-t', String(holderPid), '-m', '--', 'systemd-analyze', 'verify', `/etc/systemd/system/${UNIT}`], { encoding: 'utf8', timeout: 60_000 });
  assert.is(verify.status, 0, verify.stderr);
  assert.is(verify.stderr, '', 'systemd-analyze verify has nothing to say');
  const bounding = directiveInForce('CapabilityBoundingSet')[0]!;
  const caps = `-all,${bounding.map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`).join(',')}`;
  const setpriv = ['nsenter', '-t', String(holderPid), '-m', '--', 'setpriv', '--no-new-privs', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, '--'];
  const pres = directiveInForce('ExecStartPre');
  assert.is(pres.length, 1, 'one ExecStartPre in force');
  for (const pre of pres) {
    const run = spawnSync(setpriv[0]!, [...setpriv.slice(1), ...pre], { encoding: 'utf8', timeout: 30_000 });
    assert.is(run.status, 0, `ExecStartPre ${pre.join(' ')}: ${run.stderr}`);
  }
  const starts = directiveInForce('ExecStart');
  assert.is(starts.length, 1, 'one ExecStart in force');

  const agent = spawn(setpriv[0]!, [...setpriv.slice(1), ...starts[0]!], { stdio: ['ignore', 'pipe', 'pipe'] });
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
