import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { catalogueSpecs, exampleProcMetricNames, GATEWAY_METRICS, metricNamesInPromql } from '../helpers/metricNames.js';
import { runWhen } from '../helpers/requirements.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES_DIR = path.join(ROOT, 'packaging', 'prometheus');
const RULES = path.join(RULES_DIR, 'alerts.yml');

function promtool(args: string[], cwd: string) {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const test = suite('packaging/prometheus/alerts.yml');

test('promtool check rules accepts the rules', () => {
  const run = promtool(['check', 'rules', RULES], RULES_DIR);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: the unit tests of every alert pass', () => {
  const run = promtool(['test', 'rules', 'alerts.test.yml'], RULES_DIR);
  assert.is(run.status, 0, run.output);
  assert.match(run.output, /SUCCESS/);
});

test('the unit tests notice a changed threshold (they are not vacuous)', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-alerts-'));
  try {
    const rules = readFileSync(RULES, 'utf8');
    assert.ok(rules.includes('> 0.9\n'), 'conntrack threshold moved: update this test');
    writeFileSync(path.join(scratch, 'alerts.yml'), rules.replace('> 0.9\n', '> 0.99\n'));
    copyFileSync(path.join(RULES_DIR, 'alerts.test.yml'), path.join(scratch, 'alerts.test.yml'));
    const run = promtool(['test', 'rules', 'alerts.test.yml'], scratch);
    assert.is.not(run.status, 0, run.output);
    assert.match(run.output, /NetnsConntrackTableNearlyFull/);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('every metric an alert uses is one the exporter or the gateway writes', async () => {
  const known = new Set([
    ...(await catalogueSpecs()).map((spec) => spec.name),
    ...GATEWAY_METRICS,
    ...exampleProcMetricNames(path.join(ROOT, 'packaging', 'examples', 'openstack-pushgateway.yaml')),
  ]);
  const document = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const used = document.groups.flatMap((group) => group.rules.flatMap((rule) => metricNamesInPromql(rule.expr).map((name) => ({ rule: rule.alert, name }))));
  assert.ok(used.length > 10);
  for (const { rule, name } of used) assert.ok(known.has(name), `${rule} uses unknown metric ${name}`);
});

runWhen(test, ['promtool'], 'alerts.test');
