import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ReloadQueue } from '../../agent/reload.js';
import { listenerSpecs, planReload, sameValue } from '../../shared/reloadPlan.js';
import { configFrom } from '../helpers/config.js';

const test = suite('the reload step: old config and new config in, actions and restart keys out');

const GATEWAY = { pushgateway: { url: 'http://127.0.0.1:9091', delete_on_shutdown: true } };
const base = { push: GATEWAY, health: { listen: '127.0.0.1:9465' } };

test('the same config twice: nothing to do', () => {
  const plan = planReload(configFrom(base), configFrom(base));
  assert.equal(plan, { actions: [], oldGroup: null, restart: [] });
});

test('a new hostname rebuilds the targets and moves the group; the old one is deleted with delete_on_shutdown', () => {
  const plan = planReload(configFrom({ ...base, hostname: 'a' }), configFrom({ ...base, hostname: 'b' }));
  assert.equal(plan.actions, ['rebuild-targets', 'rebuild-series']);
  assert.is(plan.oldGroup?.url.pathname, '/metrics/job/netns_exporter/instance/a');
  assert.is(plan.oldGroup?.delete, true);
});

test('the group kept (a timeout changed): targets rebuilt, no old group to delete', () => {
  const later = { ...base, push: { pushgateway: { ...GATEWAY.pushgateway, timeout: '3s' } } };
  const plan = planReload(configFrom(base), configFrom(later));
  assert.equal(plan.actions, ['rebuild-targets']);
  assert.is(plan.oldGroup, null);
});

test('without delete_on_shutdown the moved group is to be kept (and logged)', () => {
  const off = { ...base, push: { pushgateway: { ...GATEWAY.pushgateway, delete_on_shutdown: false } } };
  assert.is(planReload(configFrom({ ...off, hostname: 'a' }), configFrom({ ...off, hostname: 'b' })).oldGroup?.delete, false);
});

test('a hostname change reaches remote_write through its instance label', () => {
  const rw = { push: { remote_write: { url: 'http://127.0.0.1:9090/api/v1/write' } } };
  assert.equal(planReload(configFrom({ ...rw, hostname: 'a' }), configFrom({ ...rw, hostname: 'b' })).actions, ['rebuild-targets', 'rebuild-series']);
});

test('health.listen or api_server changed: the listeners are rebound', () => {
  assert.equal(planReload(configFrom(base), configFrom({ ...base, health: { listen: '127.0.0.1:9466' } })).actions, ['rebind-listeners']);
  assert.equal(planReload(configFrom(base), configFrom({ ...base, api_server: { server_port: 8081 } })).actions, ['rebind-listeners']);
});

test('web_config_file or health.allow_unauthenticated changed: the web config is applied, before any rebind', () => {
  assert.equal(planReload(configFrom(base), configFrom({ ...base, web_config_file: '/etc/netns-exporter/web.yml' })).actions, ['apply-web-config']);
  assert.equal(planReload(configFrom(base), configFrom({ ...base, health: { listen: '127.0.0.1:9465', allow_unauthenticated: true } })).actions, ['apply-web-config']);
  const both = planReload(configFrom(base), configFrom({ ...base, web_config_file: '/w.yml', health: { listen: '127.0.0.1:9466' } }));
  assert.equal(both.actions, ['apply-web-config', 'rebind-listeners']);
});

test('reader keys replace the reader; log_level is set; splay needs a restart', () => {
  const plan = planReload(configFrom(base), configFrom({ ...base, threads: 2, log_level: 'debug', splay: '10s' }));
  assert.equal(plan.actions, ['replace-reader', 'set-log-level']);
  assert.equal(plan.restart, ['splay']);
});

test('per-cycle keys (interval, filters) need no action: the loop reads them each cycle', () => {
  const plan = planReload(configFrom(base), configFrom({ ...base, interval: '30s', namespaces_filter: { whitelist_pattern: '^q' } }));
  assert.equal(plan, { actions: [], oldGroup: null, restart: [] });
});

test('labels or the metrics read changed: the series kept between cycles are rebuilt (their label sets are cached)', () => {
  assert.equal(planReload(configFrom(base), configFrom({ ...base, labels: { preset: 'openstack' } })).actions, ['rebuild-series']);
  assert.equal(planReload(configFrom(base), configFrom({ ...base, interface_metrics: ['rx_bytes'] })).actions, ['rebuild-series']);
});

test('health.listen on the api_server address shares its listener', () => {
  const specs = listenerSpecs(configFrom({ ...base, api_server: { server_address: '127.0.0.1', server_port: 9465 } }));
  assert.equal(specs.map((spec) => spec.role), ['api_server']);
});

test('sameValue compares URLs, patterns and secrets by what they hold', () => {
  assert.ok(sameValue(new URL('http://a/'), new URL('http://a/')));
  assert.not.ok(sameValue(/a/u, /a/));
  const withPassword = (password: string) => configFrom({ push: { pushgateway: { url: 'http://127.0.0.1:1', basic_auth: { username: 'u', password } } } });
  assert.ok(sameValue(withPassword('x').push, withPassword('x').push));
  assert.not.ok(sameValue(withPassword('x').push, withPassword('y').push));
});

test('a reload requested while one runs follows it, once, never beside it', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release: () => void = () => undefined;
  const queue = new ReloadQueue(async () => {
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    runs += 1;
    if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
    running -= 1;
  }, (error) => assert.unreachable(error.message));
  assert.is(queue.request(), 'started');
  assert.is(queue.request(), 'queued');
  assert.is(queue.request(), 'queued');
  release();
  await queue.idle();
  assert.is(runs, 2, 'the queued requests ran once, after the first');
  assert.is(maxRunning, 1);
  assert.is(queue.request(), 'started', 'idle again');
  await queue.idle();
  assert.is(runs, 3);
});

test.run();
