import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { groupingPath, groupingUrl } from '../../shared/pushgateway/url.js';

const test = suite('pushgateway grouping URL');

test('plain values go as they are, in the configured order', () => {
  assert.is(groupingPath('netns_exporter', { instance: 'node-1', rack: '7' }), '/metrics/job/netns_exporter/instance/node-1/rack/7');
});

test('a value holding "/" goes as URL-safe base64', () => {
  // "rack/7" → cmFjay83; a value whose base64 holds + and / must use - and _ instead.
  assert.is(groupingPath('j', { instance: 'rack/7' }), '/metrics/job/j/instance@base64/cmFjay83');
  assert.is(groupingPath('j', { instance: '/>?/' }), `/metrics/job/j/instance@base64/${Buffer.from('/>?/').toString('base64url')}`);
  assert.match(groupingPath('j', { instance: '/>?/' }), /@base64\/[A-Za-z0-9_-]+$/);
});

test('an empty value is "=" in base64 form; "." and ".." too are base64, not path steps', () => {
  assert.is(groupingPath('j', { instance: 'n', zone: '' }), '/metrics/job/j/instance/n/zone@base64/=');
  assert.is(groupingPath('j', { instance: '..' }), '/metrics/job/j/instance@base64/Li4');
  assert.is(groupingPath('j', { instance: '.' }), '/metrics/job/j/instance@base64/Lg');
});

test('the job follows the same rules', () => {
  assert.is(groupingPath('a/b', { instance: 'n' }), '/metrics/job@base64/YS9i/instance/n');
  assert.is(groupingPath('', { instance: 'n' }), '/metrics/job@base64/=/instance/n');
});

test('other characters are percent-encoded', () => {
  assert.is(groupingPath('j', { instance: 'a b?#%é' }), '/metrics/job/j/instance/a%20b%3F%23%25%C3%A9');
});

test('grouping may not hold job', () => {
  assert.throws(() => groupingPath('j', { job: 'x' }), /must not hold "job"/);
});

test('the base URL keeps its path prefix and loses query and fragment', () => {
  const url = groupingUrl(new URL('https://gw.example:9091/pushgateway/?x=1#f'), 'j', { instance: 'rack/7' });
  assert.is(url.href, 'https://gw.example:9091/pushgateway/metrics/job/j/instance@base64/cmFjay83');
  assert.is(groupingUrl(new URL('http://127.0.0.1:9091'), 'j', { instance: '..' }).pathname, '/metrics/job/j/instance@base64/Li4');
});

test.run();
