import { inspect } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration } from '../../shared/config/duration.js';
import { DEFAULT_INTERFACE_STATS } from '../../shared/interfaceStats.js';
import { configErrors, configFrom } from '../helpers/config.js';

const test = suite('config schema');

test('defaults: the original behaviour, served locally', () => {
  const config = configFrom({});
  assert.equal(config.interfaceMetrics, [...DEFAULT_INTERFACE_STATS]);
  assert.equal(config.netnsDirs, ['/run/netns']);
  assert.is(config.intervalMs, 15_000);
  assert.is(config.reader, 'auto', 'setns once proven on the host, else nsenter');
  assert.equal(config.apiServer, { enabled: true, address: '127.0.0.1', port: 8080, telemetryPath: '/metrics', requestTimeoutMs: 10_000 });
  assert.is(config.push.pushgateway, null);
  assert.is(config.health.maxAgeMs, 45_000);
  assert.ok(config.deviceFilter.blacklist?.test('lo'), 'lo is left out by default, as in the original');
});

test('keys of the original are read', () => {
  const config = configFrom({
    interface_metrics: ['rx_bytes', 'tx_errors'],
    proc_metrics: { nat_conntrack: { file: 'sys/net/netfilter/nf_conntrack_count' }, ct_max: { file: '/proc/sys/net/netfilter/nf_conntrack_max', type: 'gauge' } },
    namespaces_filter: { whitelist_pattern: '^qrouter-', blacklist_pattern: 'test' },
    device_filter: { blacklist_pattern: '^tap' },
    threads: 3,
    api_server: { server_address: '0.0.0.0', server_port: 9100, telemetry_path: '/m', request_timeout: 600 },
  });
  assert.equal(config.interfaceMetrics, ['rx_bytes', 'tx_errors']);
  assert.equal(config.procMetrics, [
    { name: 'nat_conntrack', file: 'sys/net/netfilter/nf_conntrack_count', type: 'counter' },
    { name: 'ct_max', file: 'sys/net/netfilter/nf_conntrack_max', type: 'gauge' },
  ]);
  assert.ok(config.namespacesFilter.whitelist?.test('qrouter-1'));
  assert.is(config.deviceFilter.blacklist?.source, '^tap');
  assert.is(config.deviceFilter.whitelist, null);
  assert.is(config.threads, 3);
  assert.equal(config.apiServer, { enabled: true, address: '0.0.0.0', port: 9100, telemetryPath: '/m', requestTimeoutMs: 600_000 });
});

test('each bad value is reported as "key: reason"', () => {
  const cases: [unknown, RegExp][] = [
    [{ intervall: '15s' }, /^intervall: unknown key/],
    [{ namespaces_filter: { whitelist_pattern: '([' } }, /^namespaces_filter\.whitelist_pattern: invalid regular expression/],
    [{ interface_metrics: ['rx_bytes', 'rx_byte'] }, /^interface_metrics\[1\]: unknown statistic "rx_byte"/],
    [{ threads: 0 }, /^threads: expected a whole number from 1/],
    [{ threads: -2 }, /^threads: /],
    [{ interval: '0s' }, /^interval: expected a positive duration/],
    [{ interval: 'soon' }, /^interval: /],
    [{ proc_metrics: { x: { file: '../etc/shadow' } } }, /^proc_metrics\.x\.file: path "\.\.\/etc\/shadow" escapes \/proc/],
    [{ proc_metrics: { x: { file: '/etc/shadow' } } }, /^proc_metrics\.x\.file: .*escapes \/proc/],
    [{ proc_metrics: { x: { file: 'sys/../../etc/passwd' } } }, /escapes \/proc/],
    [{ proc_metrics: { 'bad-name': { file: 'sys/x' } } }, /^proc_metrics\.bad-name: metric name/],
    [{ reader: 'ebpf' }, /^reader: expected one of auto, nsenter, setns/],
    [{ netns_dirs: ['relative/dir'] }, /^netns_dirs\[0\]: must be an absolute path/],
    [{ push: { pushgateway: { url: 'ftp://gw' } } }, /^push\.pushgateway\.url: only http and https/],
    [{ push: { pushgateway: {} } }, /^push\.pushgateway\.url: required/],
    [{ push: { pushgateway: { url: 'http://gw:9091', basic_auth: { username: 'u', password_file: '/missing' } } } }, /^push\.pushgateway\.basic_auth\.password_file: cannot read "\/missing" \(ENOENT\)/],
    [{ push: { remote_write: { url: 'http://rw', headers: { 'Content-Type': 'x' } } } }, /^push\.remote_write\.headers\.Content-Type: is set by the exporter/],
    [{ health: { listen: 'nowhere' } }, /^health\.listen: expected "host:port"/],
    [{ labels: { device_ip: 'bad label' } }, /^labels\.device_ip: invalid label name/],
    [{ read_timeout: '30s', interval: '10s' }, /^read_timeout: must not exceed interval/],
  ];
  for (const [raw, expected] of cases) {
    const errors = configErrors(raw);
    assert.is(errors.length, 1, `${JSON.stringify(raw)} → ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, expected);
  }
});

test('proc_metrics read only files under /proc/sys/ and /proc/net/, never through /proc\'s links', () => {
  const allowed = ['sys/net/netfilter/nf_conntrack_count', '/proc/sys/net/ipv4/ip_forward', 'net/sockstat', 'sys/./net/core/somaxconn'];
  for (const file of allowed) assert.equal(configErrors({ proc_metrics: { x: { file } } }), [], file);
  const refused = ['self/root/etc/shadow', '1/fd/3', '1/cwd/etc/passwd', 'thread-self/root/x', 'kcore', 'sys', 'net/', '/proc/self/environ', 'sys/net/../../self/root/etc/shadow', 'net/..', 'sys/x\u0000y'];
  for (const file of refused) {
    const errors = configErrors({ proc_metrics: { x: { file } } });
    assert.is(errors.length, 1, `${file} → ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, /^proc_metrics\.x\.file: (must be a file under \/proc\/sys\/ or \/proc\/net\/|path .* escapes \/proc)/);
  }
  assert.match(configErrors({ proc_metrics: { x: { file: 'self/root/etc/shadow' } } })[0]!, /must be a file under \/proc\/sys\/ or \/proc\/net\/ \(such as sys\/net\/netfilter\/nf_conntrack_count\), got "self\/root\/etc\/shadow"/);
});

test('label values from the config are bounded', () => {
  assert.match(configErrors({ hostname: 'h'.repeat(1025) })[0]!, /^hostname: longer than 1024 characters/);
  assert.equal(configErrors({ hostname: 'h'.repeat(1024) }), []);
  assert.match(configErrors({ push: { remote_write: { url: 'http://rw', external_labels: { dc: 'x'.repeat(2000) } } } })[0]!, /^push\.remote_write\.external_labels\.dc: longer than 1024/);
  assert.match(configErrors({ push: { pushgateway: { url: 'http://gw', job: 'j'.repeat(1025) } } })[0]!, /^push\.pushgateway\.job: longer than 1024/);
  assert.match(configErrors({ labels: { from_namespace: [{ label: 'l', regex: '(.*)', replacement: '$1'.repeat(600) }] } })[0]!, /^labels\.from_namespace\[0\]\.replacement: longer than 1024/);
});

test('secrets come from files or env and never print', () => {
  const config = configFrom({
    push: {
      pushgateway: { url: 'https://gw:9091', basic_auth: { username: 'u', password_file: '/secrets/password' } },
      remote_write: { url: 'https://rw/api/v1/write', bearer_token_env: 'RW_TOKEN' },
    },
  }, { env: { RW_TOKEN: 'tok-123' } });
  assert.is(config.push.pushgateway!.basicAuth!.password.reveal(), 's3cret');
  assert.is(config.push.remoteWrite!.bearerToken!.reveal(), 'tok-123');
  const printed = `${JSON.stringify(config)} ${inspect(config, { depth: 10 })} ${String(config.push.pushgateway!.basicAuth!.password)}`;
  assert.not.match(printed, /s3cret|tok-123/);
  assert.match(printed, /<secret>/);
});

test('the Pushgateway grouping key always holds instance', () => {
  assert.equal(configFrom({ push: { pushgateway: { url: 'http://gw' } } }).push.pushgateway!.grouping, { instance: 'node-1' });
  assert.equal(configFrom({ push: { pushgateway: { url: 'http://gw', grouping: { dc: 'a' } } } }).push.pushgateway!.grouping, { instance: 'node-1', dc: 'a' });
  assert.equal(configFrom({ push: { pushgateway: { url: 'http://gw', grouping: { instance: 'rack/7' } } } }).push.pushgateway!.grouping, { instance: 'rack/7' });
  assert.match(configErrors({ push: { pushgateway: { url: 'http://gw', grouping: { job: 'x' } } } })[0]!, /grouping\.job/);
});

test('a grouping label the metrics carry is refused, naming the key (every push would get 400)', () => {
  const gateway = (grouping: Record<string, string>, extra: Record<string, unknown> = {}) => ({ push: { pushgateway: { url: 'http://gw', grouping } }, ...extra });
  for (const label of ['netns', 'device', 'operstate', 'reason', 'target']) {
    const errors = configErrors(gateway({ [label]: 'x' }));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, new RegExp(`^push\\.pushgateway\\.grouping\\.${label}: the metrics carry a "${label}" label`));
  }
  // Labels the config adds: the hostname label of a preset, a from_namespace rule's label.
  assert.match(configErrors(gateway({ host: 'x' }, { labels: { preset: 'openstack' } }))[0]!, /^push\.pushgateway\.grouping\.host: the metrics carry a "host" label/);
  assert.match(configErrors(gateway({ router: 'x' }, { labels: { from_namespace: [{ label: 'router', regex: '^qrouter-(.*)' }] } }))[0]!, /^push\.pushgateway\.grouping\.router: /);
  // Process metrics carry "space" and "type" only when they are on.
  assert.equal(configErrors(gateway({ space: 'x' }, { self_metrics: { process: false } })), []);
  assert.equal(configErrors(gateway({ dc: 'east' })), []);
});

test('labels named job or instance are refused with a Pushgateway target: the gateway would overwrite them', () => {
  const rules = (label: string) => ({ labels: { from_namespace: [{ label: 'router', regex: '^qrouter-(.*)' }, { label, regex: '^(.*)$' }] } });
  for (const label of ['job', 'instance']) {
    const errors = configErrors({ ...rules(label), push: { pushgateway: { url: 'http://gw' } } });
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, new RegExp(`^labels\\.from_namespace\\[1\\]\\.label: "${label}" is part of the Pushgateway's grouping key`));
  }
  assert.match(configErrors({ labels: { hostname: 'instance' }, push: { pushgateway: { url: 'http://gw' } } })[0]!, /^labels\.hostname: "instance" is part of the Pushgateway's grouping key/);
  // remote_write has no grouping key: the label is the user's to choose.
  assert.equal(configErrors({ ...rules('instance'), push: { remote_write: { url: 'http://rw/api/v1/write' } } }), []);
});

test('a push target turns the local pull server off unless api_server is set', () => {
  assert.is(configFrom({ push: { pushgateway: { url: 'http://gw' } } }).apiServer.enabled, false);
  assert.is(configFrom({ push: { pushgateway: { url: 'http://gw' } }, api_server: { server_port: 9000 } }).apiServer.enabled, true);
});

test('environment overrides', () => {
  const config = configFrom({ interval: '15s' }, { env: { NETNS_EXPORTER_INTERVAL: '30s', NETNS_EXPORTER_THREADS: '7', NETNS_EXPORTER_PUSHGATEWAY_URL: 'http://127.0.0.1:9091' } });
  assert.is(config.intervalMs, 30_000);
  assert.is(config.threads, 7);
  assert.is(config.push.pushgateway!.url.href, 'http://127.0.0.1:9091/');
  assert.match(configErrors({}, { env: { NETNS_EXPORTER_THREADS: 'many' } })[0]!, /^threads \(from NETNS_EXPORTER_THREADS\): /);
});

test('label presets', () => {
  const openstack = configFrom({ labels: { preset: 'openstack' } }).labels;
  assert.is(openstack.hostname, 'host');
  assert.is(openstack.deviceIp, 'deviceIP');
  assert.equal(openstack.fromNamespace.map((rule) => rule.label), ['router', 'network']);
  const custom = configFrom({ labels: { preset: 'openstack', hostname: false, from_namespace: [{ label: 'pod', regex: '^cni-(.*)$' }] } }).labels;
  assert.is(custom.hostname, null);
  assert.equal(custom.fromNamespace.map((rule) => [rule.label, rule.replacement]), [['pod', '$1']]);
});

test('durations', () => {
  assert.is(parseDuration('15s'), 15_000);
  assert.is(parseDuration('1m30s'), 90_000);
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration(2), 2_000);
  assert.is(parseDuration('2'), 2_000);
  assert.is(parseDuration('fast'), null);
  assert.is(parseDuration('10x'), null);
});

test('a short interval brings the default read_timeout down with it; only an explicit one is refused', () => {
  assert.equal(configErrors({ interval: '1s' }), []);
  assert.is(configFrom({ interval: '1s' }).readTimeoutMs, 500, 'half the interval, so the push keeps the other half');
  assert.is(configFrom({ interval: '4s' }).readTimeoutMs, 2_000);
  assert.is(configFrom({}).readTimeoutMs, 5_000, 'the default at the default interval is unchanged');
  assert.is(configFrom({ interval: '1h' }).readTimeoutMs, 5_000);
  assert.is(configFrom({ interval: '1s', read_timeout: '800ms' }).readTimeoutMs, 800);
  assert.match(configErrors({ interval: '1s', read_timeout: '2s' })[0]!, /^read_timeout: must not exceed interval/);
  assert.equal(configErrors({}, { env: { NETNS_EXPORTER_INTERVAL: '1s' } }), [], 'the same through the environment');
});

test('health.max_failed_ratio: a share from 0 to 1, 0.5 by default', () => {
  assert.is(configFrom({}).health.maxFailedRatio, 0.5);
  assert.is(configFrom({ health: { max_failed_ratio: 0.9 } }).health.maxFailedRatio, 0.9);
  assert.is(configFrom({ health: { max_failed_ratio: 1 } }).health.maxFailedRatio, 1);
  assert.match(configErrors({ health: { max_failed_ratio: 1.5 } })[0]!, /^health\.max_failed_ratio: expected a share from 0 to 1/);
  assert.match(configErrors({ health: { max_failed_ratio: 'most' } })[0]!, /^health\.max_failed_ratio: /);
});

test('durations a timer cannot hold are refused, naming the key', () => {
  // Node clamps a timer above 2^31-1 ms (24.8 days) to 1 ms: cycles would run back to back.
  assert.match(configErrors({ interval: '25d' })[0]!, /^interval: at most 24d/);
  assert.equal(configErrors({ interval: '24d' }), []);
  assert.match(configErrors({ splay: '30d' })[0]!, /^splay: at most 24d/);
  assert.match(configErrors({ interval: '20d', jitter: '5d' })[0]!, /^jitter: interval plus jitter must be at most 24d/);
  assert.match(configErrors({ push: { pushgateway: { url: 'http://127.0.0.1:9091', timeout: '9999h' } } })[0]!, /^push\.pushgateway\.timeout: at most 24d/);
});

test('remote_write sends up to 10,000 samples per request by default (vmagent\'s block size): a cycle of 1,000 namespaces is 3 requests, not 15', () => {
  const remoteWrite = configFrom({ push: { remote_write: { url: 'http://rw/api/v1/write' } } }).push.remoteWrite!;
  assert.is(remoteWrite.maxSamplesPerSend, 10_000);
  assert.is(configFrom({ push: { remote_write: { url: 'http://rw/api/v1/write', max_samples_per_send: 2000 } } }).push.remoteWrite!.maxSamplesPerSend, 2000);
});

test.run();
