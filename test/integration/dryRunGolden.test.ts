import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { fixture } from '../helpers/fixtures.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';

/**
 * The golden exposition (test/unit/dryRunGolden.test.ts) is built from recorded reads without the
 * agent's runtime; this keeps it honest: the real `--dry-run` with the golden config, on real
 * namespaces, prints the same families with the same HELP and TYPE lines in the same order.
 */
const test = suite('--dry-run prints the families of the golden file');

test.before(() => {
  const ns = addNamespace('golden');
  addVeth({ ns, dev: 'nxg0' }, { ns, dev: 'nxg1' });
});

test.after(cleanupNamespaces);

const headers = (exposition: string) => exposition.split('\n').filter((line) => line.startsWith('# '));

test('same HELP and TYPE lines, in the same order', () => {
  const config = { ...parse(fixture('golden/config.yaml')), namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}golden$` } };
  const run = runAgent(['--dry-run', '--config', writeConfig(config, 'golden')]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`netns_network_namespace\\{[^}]*netns="${TEST_PREFIX}golden"`), 'the namespace was read');
  assert.equal(headers(run.stdout), headers(fixture('golden/dry-run.prom')));
});

runWhen(test, ['root', 'ip', 'nsenter'], '--dry-run against the golden file');
