import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bypassesProxy, proxyFromEnvironment } from '../../shared/proxy.js';

const test = suite('proxy from the environment');
const gw = new URL('https://gw.corp.example:9091/');

test('https targets use HTTPS_PROXY, http targets HTTP_PROXY; upper case wins', () => {
  const env = { HTTPS_PROXY: 'http://egress:3128', HTTP_PROXY: 'http://plain:3128', https_proxy: 'http://lower:1' };
  assert.is(proxyFromEnvironment(gw, env)?.href, 'http://egress:3128/');
  assert.is(proxyFromEnvironment(new URL('http://gw.corp.example/'), env)?.href, 'http://plain:3128/');
  assert.is(proxyFromEnvironment(gw, { https_proxy: 'http://lower:1' })?.href, 'http://lower:1/');
  assert.is(proxyFromEnvironment(gw, {}), null);
  assert.is(proxyFromEnvironment(gw, { HTTPS_PROXY: '  ' }), null);
});

test('a proxy without a scheme means http', () => {
  assert.is(proxyFromEnvironment(gw, { HTTPS_PROXY: 'egress:3128' })?.href, 'http://egress:3128/');
});

test('localhost and loopback never use an environment proxy', () => {
  const env = { HTTP_PROXY: 'http://egress:3128', HTTPS_PROXY: 'http://egress:3128' };
  for (const target of ['http://localhost:9091/', 'http://127.0.0.1:9091/', 'http://127.8.0.1/', 'https://[::1]:9091/']) {
    assert.is(proxyFromEnvironment(new URL(target), env), null, target);
  }
});

test('NO_PROXY: domains with sub-domains, leading dot, ports, IPs, CIDR, star', () => {
  assert.ok(bypassesProxy(gw, 'corp.example'));
  assert.ok(bypassesProxy(gw, '.corp.example'));
  assert.ok(bypassesProxy(gw, 'other, gw.corp.example'));
  assert.not.ok(bypassesProxy(gw, 'rp.example'), 'a suffix that is not a whole label does not match');
  assert.ok(bypassesProxy(gw, 'gw.corp.example:9091'));
  assert.not.ok(bypassesProxy(gw, 'gw.corp.example:9092'));
  assert.ok(bypassesProxy(gw, '*'));
  assert.not.ok(bypassesProxy(gw, ''));
  const ip = new URL('http://10.1.2.3:9091/');
  assert.ok(bypassesProxy(ip, '10.0.0.0/8'));
  assert.not.ok(bypassesProxy(ip, '10.2.0.0/16'));
  assert.ok(bypassesProxy(ip, '10.1.2.3'));
  assert.ok(bypassesProxy(new URL('http://[fd00::1]:9091/'), '[fd00::1]:9091'));
  assert.ok(bypassesProxy(new URL('http://[fd00::1]/'), 'fd00::1'));
  assert.ok(bypassesProxy(new URL('http://GW.Corp.Example/'), 'gw.corp.EXAMPLE'));
});

test('NO_PROXY applies through proxyFromEnvironment', () => {
  assert.is(proxyFromEnvironment(gw, { HTTPS_PROXY: 'http://egress:3128', NO_PROXY: '.example' }), null);
  assert.is(proxyFromEnvironment(gw, { HTTPS_PROXY: 'http://egress:3128', no_proxy: 'other' })?.host, 'egress:3128');
});

test.run();
