import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addNamespace, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = path.join(ROOT, 'packaging', 'systemd', 'netns-exporter.service');
const MAIN = path.join(ROOT, 'dist', 'agent', 'main.js');

/** `Key=value` lines of the unit (last one wins, as in systemd), comments left out. */
function directives(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(UNIT, 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) map.set(match[1]!, match[2]!);
  }
  return map;
}

/** The unit's capability set in setpriv's spelling: CAP_SYS_ADMIN → "-all,+sys_admin". */
function setprivCaps(): string {
  const caps = directives().get('CapabilityBoundingSet')!.split(/\s+/).map((cap) => cap.replace(/^CAP_/, '').toLowerCase());
  return ['-all', ...caps.map((cap) => `+${cap}`)].join(',');
}

/** Runs a command as the unit would: only its capabilities, no_new_privs. `caps` "-all" drops all. */
function asUnit(caps: string, command: string[]) {
  const run = spawnSync('setpriv', ['--no-new-privs', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, '--', ...command], {
    encoding: 'utf8',
    timeout: 30_000,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETNS_EXPORTER_'))),
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const test = suite('packaging/systemd/netns-exporter.service');
let scratch = '';
let ns = '';

test.before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-systemd-'));
  ns = addNamespace('unit');
});
test.after(() => {
  cleanupNamespaces();
  rmSync(scratch, { recursive: true, force: true });
});

test('restarts on failure, one capability, sandboxed, one writable folder', () => {
  const unit = directives();
  assert.is(unit.get('Restart'), 'on-failure');
  assert.is(unit.get('CapabilityBoundingSet'), 'CAP_SYS_ADMIN');
  assert.is(unit.get('AmbientCapabilities'), 'CAP_SYS_ADMIN');
  assert.is(unit.get('NoNewPrivileges'), 'yes');
  assert.is(unit.get('ProtectSystem'), 'strict');
  assert.is(unit.get('ProtectHome'), 'yes');
  assert.is(unit.get('PrivateTmp'), 'yes');
  assert.is(unit.get('ReadWritePaths'), '/var/lib/netns-exporter');
  assert.is(unit.get('StateDirectory'), 'netns-exporter');
  assert.not.ok(unit.has('PrivateNetwork'), 'the agent pushes over the host network');
  assert.match(unit.get('ExecStart')!, /--config \/etc\/netns-exporter\/config\.yaml$/);
});

test('systemd-analyze verify finds nothing to complain about', () => {
  // The unit as shipped names the Debian package's /usr/bin/netns-exporter; a drop-in beside it
  // points it at this build, as the README's drop-in does after `npm install -g`.
  const text = readFileSync(UNIT, 'utf8');
  const file = path.join(scratch, 'netns-exporter.service');
  writeFileSync(file, text);
  mkdirSync(`${file}.d`);
  const command = `${process.execPath} ${MAIN} --config /etc/netns-exporter/config.yaml`;
  writeFileSync(path.join(`${file}.d`, 'this-build.conf'), `[Service]\nExecStartPre=\nExecStartPre=${command} --check-config\nExecStart=\nExecStart=${command}\n`);
  const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
  assert.ok(run.error === undefined, `systemd-analyze is missing (apt-get install systemd): ${run.error?.message}`);
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stderr.split('\n').filter((line) => line.includes('netns-exporter')).join('\n'), '');
  // The same check reports a misspelt directive, so its silence above means something.
  const broken = path.join(scratch, 'broken.service');
  writeFileSync(broken, text.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
  const brokenRun = spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8', timeout: 60_000 });
  assert.match(brokenRun.stderr, /Unknown key 'NoNewPrivilege'/);
});

test('the unit\'s capabilities are enough: nsenter + ip + /proc/sys inside a namespace', () => {
  const command = ['nsenter', `--net=/run/netns/${ns}`, '--', 'sh', '-c', 'ip -j -s -s addr show && cat /proc/sys/net/ipv4/ip_forward'];
  const run = asUnit(setprivCaps(), command);
  assert.is(run.status, 0, run.stderr);
  const [json, forward] = run.stdout.trim().split('\n');
  assert.equal((JSON.parse(json!) as { ifname: string }[]).map((link) => link.ifname), ['lo']);
  assert.match(forward!, /^[01]$/);
  // And they are needed: without them setns() is refused.
  const denied = asUnit('-all', command);
  assert.is.not(denied.status, 0);
  assert.match(denied.stderr, /Operation not permitted/);
});

test('the agent itself reads namespaces with only the unit\'s capabilities', () => {
  const config = path.join(scratch, 'config.yaml');
  writeFileSync(config, [
    `namespaces_filter: {whitelist_pattern: '^${TEST_PREFIX}unit$'}`,
    "device_filter: {whitelist_pattern: ''}",
    'self_metrics: {process: false}',
    'log_level: error',
  ].join('\n'));
  const run = asUnit(setprivCaps(), [process.execPath, MAIN, '--dry-run', '--config', config]);
  assert.is(run.status, 0, run.stderr);
  assert.ok(run.stdout.includes(`netns_network_namespace{netns="${ns}"} 1`), run.stdout);
  assert.ok(run.stdout.includes('netns_exporter_namespaces{state="failed"} 0'));
  const denied = asUnit('-all', [process.execPath, MAIN, '--dry-run', '--config', config]);
  assert.ok(denied.stdout.includes('netns_exporter_namespaces{state="failed"} 1'), denied.stdout);
  assert.match(denied.stdout, /netns_exporter_read_errors_total\{reason="permission"\} 1/);
});

runWhen(test, ['root', 'ip', 'nsenter', 'systemd-analyze', 'setpriv'], 'systemd.test');
