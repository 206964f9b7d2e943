import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SELF } from '../../shared/metrics/catalogue.js';
import { REMOTE_WRITE_METRICS } from '../../shared/remoteWrite/metrics.js';
import { runAgent, startAgent, writeConfig } from '../helpers/agent.js';
import { addNamespace, addVeth, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { decodeBody, faultServer } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { startPushgateway, type RunningServer } from '../helpers/servers.js';

/**
 * docs/metrics.md says what `--dry-run` prints against what is pushed: the same families, except
 * those it lists. Checked against what a real Pushgateway holds and what a remote_write receiver
 * got from one `--once` with both targets, on the same namespaces and config.
 */
const test = suite('--dry-run against what --once pushes');
const REFERENCE = readFileSync(fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url)), 'utf8');
const INSTANCE = `dryrun-${process.pid}`;
let gateway: RunningServer;
let receiver: Awaited<ReturnType<typeof faultServer>>;

test.before(async () => {
  const ns = addNamespace('dvp');
  addVeth({ ns, dev: 'dvp0' }, { ns, dev: 'dvp1' });
  gateway = await startPushgateway(['--persistence.file=']);
  receiver = await faultServer((_, res) => res.writeHead(204).end());
});

test.after(async () => {
  await gateway?.stop();
  await receiver?.close();
  cleanupNamespaces();
});

/** Families with at least one series in a text exposition. */
function familiesWithSeries(text: string): Set<string> {
  const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!);
  return new Set(types.filter((name) => new RegExp(`^${name}(\\{| )`, 'm').test(text)));
}

/** What --dry-run leaves out, as docs/metrics.md lists it; `extra` for what only the receiver adds. */
const PROCESS = /^netns_exporter_(process|nodejs)_/;
const REMOTE_WRITE = new Set<string>(Object.values(REMOTE_WRITE_METRICS).map((spec) => spec.name));
const PUSH_FIGURES = new Set<string>([SELF.pushes, SELF.pushFailures, SELF.pushDuration, SELF.lastPushSuccess].map((spec) => spec.name));
const explained = (name: string, extra: readonly string[]) => PROCESS.test(name) || REMOTE_WRITE.has(name) || PUSH_FIGURES.has(name) || extra.includes(name);

test('the Pushgateway and the remote_write receiver get --dry-run\'s families, plus exactly those the docs list', async () => {
  const config = writeConfig({
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}dvp` },
    read_timeout: '2s',
    log_level: 'warn',
    push: {
      pushgateway: { url: gateway.url, grouping: { instance: INSTANCE } },
      remote_write: { url: receiver.url },
    },
  }, 'dry-run-vs-pushed');
  const dry = runAgent(['--dry-run', '--config', config]);
  assert.is(dry.status, 0, dry.stderr);
  const printed = familiesWithSeries(dry.stdout);
  assert.ok(printed.has('netns_network_rx_bytes_total') && printed.has('netns_nf_conntrack_entries_limit'), [...printed].join(', '));

  // Not spawnSync: the remote_write receiver answers from this process's event loop.
  const once = startAgent(['--once', '--config', config]);
  assert.is(await once.exited, 0, once.output());

  const groups = ((await (await fetch(`${gateway.url}/api/v1/metrics`)).json()) as { data: Record<string, unknown>[] }).data;
  const group = groups.find((candidate) => (candidate.labels as Record<string, string>).instance === INSTANCE);
  assert.ok(group, 'the group was pushed');
  const onGateway = new Set(Object.keys(group!).filter((key) => key !== 'labels' && key !== 'last_push_successful'));
  const written = new Set(receiver.requests.flatMap((request) => decodeBody(request.body).map((series) => series.labels.__name__!)));

  for (const [where, got, extra] of [['Pushgateway', onGateway, ['push_time_seconds', 'push_failure_time_seconds']], ['remote_write', written, []]] as const) {
    const missing = [...printed].filter((name) => !got.has(name));
    assert.equal(missing, [], `${where} lacks what --dry-run printed`);
    const unexplained = [...got].filter((name) => !printed.has(name) && !explained(name, extra));
    assert.equal(unexplained, [], `${where} got families docs/metrics.md does not list as left out of --dry-run`);
    assert.ok([...got].some((name) => PROCESS.test(name)), `${where}: process figures pushed`);
    for (const name of REMOTE_WRITE) assert.ok(got.has(name) || name.endsWith('_corrupt_files_total') || name.endsWith('_dropped_total'), `${where}: ${name}`);
  }
});

test('docs/metrics.md names every family --dry-run leaves out', () => {
  const paragraph = REFERENCE.slice(REFERENCE.indexOf('`netns-exporter --dry-run'), REFERENCE.indexOf('\n## ', REFERENCE.indexOf('`netns-exporter --dry-run')));
  for (const name of [...REMOTE_WRITE, ...PUSH_FIGURES, 'netns_exporter_process_*', 'netns_exporter_nodejs_*', 'push_time_seconds']) {
    assert.ok(paragraph.includes(`\`${name}\``), `the --dry-run paragraph does not name ${name}`);
  }
  assert.not.match(paragraph, /prints exactly what would be pushed\./);
});

runWhen(test, ['root', 'ip', 'pushgateway'], '--dry-run against what is pushed');
