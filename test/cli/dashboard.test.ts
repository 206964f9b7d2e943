import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import {
  catalogueSpecs, exampleProcMetricNames, GATEWAY_METRICS, metricNamesInPromql, processMetricNames,
} from '../helpers/metricNames.js';
import { runWhen } from '../helpers/requirements.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DASHBOARD = path.join(ROOT, 'packaging', 'grafana', 'netns-exporter.json');

interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
}

function load(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

/** Panel queries with Grafana's variables replaced, so Prometheus' own parser can judge them. */
function panelExpressions(dashboard: Dashboard): { title: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({
    title: panel.title,
    expr: target.expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?[a-z_]+\}?/g, '.*'),
  })));
}

const test = suite('packaging/grafana/netns-exporter.json');

test('is a dashboard with a uid, titled panels and no overlapping tiles', () => {
  const dashboard = load();
  assert.is(dashboard.uid, 'netns-exporter');
  assert.ok(dashboard.panels.length >= 10);
  const cells = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(panel.title.length > 0);
    assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} is wider than the grid`);
    for (let y = panel.gridPos.y; y < panel.gridPos.y + panel.gridPos.h; y++) {
      for (let x = panel.gridPos.x; x < panel.gridPos.x + panel.gridPos.w; x++) {
        assert.not.ok(cells.has(`${x},${y}`), `${panel.title} overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
});

test('covers traffic, drops, errors, conntrack, listen drops, retransmits and the agent\'s health', () => {
  const all = panelExpressions(load()).map(({ expr }) => expr).join('\n');
  for (const name of [
    'netns_network_rx_bytes_total', 'netns_network_tx_bytes_total', 'netns_network_rx_dropped_total',
    'netns_network_rx_errors_total', 'netns_network_nf_conntrack_count', 'netns_exporter_last_push_success_timestamp_seconds',
    'push_time_seconds', 'netns_exporter_collection_duration_seconds', 'netns_exporter_read_errors_total',
    'netns_nf_conntrack_entries', 'netns_nf_conntrack_entries_limit', 'netns_nf_conntrack_stat_drop',
    'netns_netstat_TcpExt_ListenOverflows', 'netns_netstat_TcpExt_ListenDrops', 'netns_netstat_Tcp_RetransSegs',
  ]) {
    assert.ok(all.includes(name), `no panel uses ${name}`);
  }
});

test('every metric it uses is in the catalogue, a shipped proc metric, a process metric or the gateway\'s', async () => {
  const dashboard = load();
  const known = new Set([
    ...(await catalogueSpecs()).map((spec) => spec.name),
    ...GATEWAY_METRICS,
    ...processMetricNames(),
    ...exampleProcMetricNames(path.join(ROOT, 'packaging', 'examples', 'openstack-pushgateway.yaml')),
  ]);
  const variableQueries = dashboard.templating.list.map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query.query));
  const uses = [...panelExpressions(dashboard), ...variableQueries.map((expr) => ({ title: 'variable', expr }))]
    .flatMap(({ title, expr }) => metricNamesInPromql(expr).map((name) => ({ title, name })));
  assert.ok(uses.length > 20);
  for (const { title, name } of uses) assert.ok(known.has(name), `panel "${title}" uses unknown metric ${name}`);
});

/** promtool parses every panel query as a recording rule: a PromQL typo fails here, not in Grafana. */
test('promtool parses every panel query', () => {
  const expressions = panelExpressions(load());
  const scratch = mkdtempSync(path.join(tmpdir(), 'netns-exporter-dashboard-'));
  try {
    const rules = { groups: [{ name: 'dashboard', rules: expressions.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr })) }] };
    const file = path.join(scratch, 'queries.yml');
    writeFileSync(file, stringify(rules));
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
    assert.is(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
    // The same check refuses a broken query.
    writeFileSync(file, stringify({ groups: [{ name: 'broken', rules: [{ record: 'x:y', expr: 'sum by (netns (up)' }] }] }));
    assert.is.not(spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' }).status, 0);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

runWhen(test, ['promtool'], 'dashboard.test');
