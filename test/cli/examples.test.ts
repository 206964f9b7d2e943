import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isMap, isScalar, parse, parseDocument, visit } from 'yaml';
import { parseConfig } from '../../shared/config/schema.js';
import type { Config } from '../../shared/config/configTypes.js';
import { makeCertificates } from '../helpers/webConfig.js';

/** Every shipped example must pass the real CLI's --check-config, as an operator would run it. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = path.join(ROOT, 'packaging', 'examples');
const MAIN = path.join(ROOT, 'dist', 'agent', 'main.js');
const FILE_KEYS = /_file$/;

const test = suite('packaging/examples');
let scratch = '';
/** A real CA certificate for `ca_file` keys: the agent refuses a CA file that holds no certificate. */
let caPem = '';

test.before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-examples-'));
  caPem = readFileSync(makeCertificates(scratch).caCert, 'utf8');
});
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** The environment minus our own overrides, so a developer's NETNS_EXPORTER_* cannot change a verdict. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NETNS_EXPORTER_')));
}

function checkConfig(file: string) {
  const run = spawnSync(process.execPath, [MAIN, '--check-config', '--config', file], { encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * A copy of the example whose secret and certificate files (every `*_file` key) point at files in
 * the scratch folder, since the real ones live in /etc/netns-exporter on a production host.
 * Comments and everything else stay as shipped.
 */
function withLocalFiles(name: string): { file: string; replaced: string[] } {
  const document = parseDocument(readFileSync(path.join(EXAMPLES, name), 'utf8'));
  const replaced: string[] = [];
  visit(document, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !FILE_KEYS.test(String(pair.key.value)) || !isScalar(pair.value)) return;
      const original = String(pair.value.value);
      const local = path.join(scratch, `${name}-${path.basename(original)}`);
      writeFileSync(local, String(pair.key.value).endsWith('ca_file') ? caPem : 'example-secret\n', { mode: 0o600 });
      replaced.push(original);
      pair.value.value = local;
    },
  });
  const file = path.join(scratch, name);
  writeFileSync(file, document.toString());
  return { file, replaced };
}

function parsed(name: string): Config {
  const result = parseConfig(parse(readFileSync(path.join(EXAMPLES, name), 'utf8')), {
    hostname: 'node-1',
    env: {},
    readFile: () => 'example-secret',
  });
  if (!result.ok) throw new Error(`${name}: ${result.errors.join('; ')}`);
  return result.config;
}

test('the four documented examples are shipped', () => {
  const names = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).sort();
  for (const expected of ['docker-host.yaml', 'openstack-pushgateway.yaml', 'pull-only.yaml', 'remote-write.yaml']) {
    assert.ok(names.includes(expected), `missing packaging/examples/${expected}`);
  }
});

for (const name of readdirSync(EXAMPLES).filter((entry) => entry.endsWith('.yaml'))) {
  test(`${name} passes --check-config`, () => {
    const { file, replaced } = withLocalFiles(name);
    const run = checkConfig(file);
    assert.is(run.status, 0, `${name}: ${run.stderr}`);
    assert.match(run.stdout, /config OK/);
    if (replaced.length === 0) return;
    // As shipped, only the referenced files may be missing: each one is named in the errors.
    const asShipped = checkConfig(path.join(EXAMPLES, name));
    for (const line of asShipped.stderr.trim().split('\n')) {
      if (/cannot read/.test(line)) assert.ok(replaced.some((original) => line.includes(original)), line);
    }
  });
}

test('a broken copy fails --check-config (the check is not a no-op)', () => {
  const file = path.join(scratch, 'broken.yaml');
  writeFileSync(file, `${readFileSync(path.join(EXAMPLES, 'pull-only.yaml'), 'utf8')}\nintervall: 15s\n`);
  const run = checkConfig(file);
  assert.is(run.status, 2);
  assert.match(run.stderr, /intervall: unknown key/);
});

test('openstack example: TLS, basic auth from a file, proxy, openstack labels, conntrack gauges, netstat', () => {
  const config = parsed('openstack-pushgateway.yaml');
  const gateway = config.push.pushgateway;
  assert.ok(gateway !== null);
  assert.is(gateway.url.protocol, 'https:');
  assert.is(gateway.basicAuth?.password.reveal(), 'example-secret');
  assert.ok(gateway.tls.caFile !== null);
  assert.ok(gateway.proxyUrl !== null);
  assert.is(gateway.grouping.instance, 'node-1');
  assert.is(config.labels.hostname, 'host');
  assert.equal(config.labels.fromNamespace.map((rule) => rule.label), ['router', 'network']);
  assert.equal(
    config.procMetrics.map(({ name, type }) => `${name}:${type}`).sort(),
    ['nf_conntrack_count:gauge', 'nf_conntrack_max:gauge'],
  );
  assert.equal([config.collectors.netstat.enabled, config.collectors.sockstat.enabled, config.collectors.conntrack.enabled], [true, false, true]);
  assert.ok(config.collectors.netstat.fields.test('TcpExt_ListenOverflows'));
  assert.ok(config.namespacesFilter.whitelist?.test('qrouter-6f1c'));
  assert.not.ok(config.namespacesFilter.whitelist?.test('docker-1'));
});

test('docker example reads Docker\'s netns folder and skips the host\'s own namespace', () => {
  const config = parsed('docker-host.yaml');
  assert.ok(config.netnsDirs.includes('/var/run/docker/netns'));
  assert.ok(config.namespacesFilter.blacklist?.test('default'));
  assert.not.ok(config.namespacesFilter.blacklist?.test('1a2b3c4d5e6f'));
  assert.is(config.push.pushgateway?.deleteOnShutdown, true);
});

test('remote_write example: tenant header, bearer token file, disk buffer in the state folder', () => {
  const config = parsed('remote-write.yaml');
  const remote = config.push.remoteWrite;
  assert.ok(remote !== null);
  assert.is(remote.headers['X-Scope-OrgID'], 'network-team');
  assert.is(remote.bearerToken?.reveal(), 'example-secret');
  assert.ok(remote.buffer.dir?.startsWith('/var/lib/netns-exporter/'));
  assert.equal(remote.externalLabels, { instance: 'node-1' });
});

test('fleet remote_write examples: each receiver\'s write path and tenant', () => {
  const expected: Record<string, { path: string; headers: Record<string, string> }> = {
    'remote-write.yaml': { path: '/api/v1/push', headers: { 'X-Scope-OrgID': 'network-team' } },
    'remote-write-prometheus.yaml': { path: '/api/v1/write', headers: {} },
    'remote-write-victoriametrics.yaml': { path: '/api/v1/write', headers: {} },
    'remote-write-victoriametrics-cluster.yaml': { path: '/insert/42/prometheus/api/v1/write', headers: {} },
    'remote-write-thanos-receive.yaml': { path: '/api/v1/receive', headers: { 'THANOS-TENANT': 'network-team' } },
  };
  for (const [name, want] of Object.entries(expected)) {
    const config = parsed(name);
    assert.is(config.push.remoteWrite?.url.pathname, want.path, name);
    assert.equal(config.push.remoteWrite?.headers, want.headers, name);
    assert.is(config.push.pushgateway, null, name);
    assert.ok(config.splayMs > 0 && config.jitterMs > 0, `${name}: a fleet example spreads its pushes`);
  }
});

test('pull-only example serves /metrics like the original and pushes nowhere', () => {
  const config = parsed('pull-only.yaml');
  assert.is(config.push.pushgateway, null);
  assert.is(config.push.remoteWrite, null);
  assert.ok(config.apiServer.enabled);
  assert.is(config.apiServer.port, 8080);
  assert.is(config.apiServer.telemetryPath, '/metrics');
});

test.run();
