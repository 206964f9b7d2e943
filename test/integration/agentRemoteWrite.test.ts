import { rmSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, waitFor as waitUntil, writeConfig } from '../helpers/agent.js';
import { find, parseExposition } from '../helpers/exposition.js';
import { addNamespace, addVeth, deleteNamespace, TEST_PREFIX } from '../helpers/netns.js';
import { promString, rawSamples } from '../helpers/remoteWrite.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort, startPrometheus, tempDir, type RunningServer } from '../helpers/servers.js';

/** The agent as users run it, started while its receiver is down: it buffers, then catches up. */
const test = suite('long-running agent: remote_write outage, then catch-up');
/** Waits with the agent's log as context for a timeout message. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 20_000) =>
  waitUntil(what, probe, { timeoutMs, context: () => agent?.output() ?? '' });
let agent: ReturnType<typeof startAgent> | null = null;
let prometheus: RunningServer | null = null;
const dirs: string[] = [];
const namespaces: string[] = [];

test.after(async () => {
  agent?.child.kill('SIGKILL');
  await prometheus?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  // Suites share one process and its test prefix: leave no namespace for the next suite to read.
  for (const name of namespaces) deleteNamespace(name);
});

async function selfMetric(apiPort: number, name: string, labels: Record<string, string> = {}): Promise<number | null> {
  const response = await fetch(`http://127.0.0.1:${apiPort}/metrics`, { signal: AbortSignal.timeout(3_000) });
  return find(parseExposition(await response.text()), name, labels)[0]?.value ?? null;
}


test('cycles pushed while Prometheus is down arrive when it comes up; self-metrics show the buffer', async () => {
  const ns = addNamespace('rwagent');
  namespaces.push(ns);
  addVeth({ ns, dev: `rwg${process.pid % 100_000}` }, { ns: null, dev: `rwg${process.pid % 100_000}p` });
  const promPort = await freePort();
  const apiPort = await freePort();
  const bufferDir = tempDir('rw-agent-buffer');
  dirs.push(bufferDir);
  const config = writeConfig({
    interval: '1s',
    read_timeout: '900ms',
    namespaces_filter: { whitelist_pattern: `^${TEST_PREFIX}rwagent$` },
    api_server: { enabled: true, server_address: '127.0.0.1', server_port: apiPort },
    push: { remote_write: { url: `http://127.0.0.1:${promPort}/api/v1/write`, timeout: '300ms', buffer: { dir: bufferDir } } },
  }, 'rw-agent');
  agent = startAgent(['--config', config]);

  // Self-metrics lag one cycle behind the push they describe.
  await waitFor('samples buffered during the outage', async () => ((await selfMetric(apiPort, 'netns_exporter_remote_write_buffered_samples')) ?? 0) > 0);
  await waitFor('a few cycles buffered', async () => ((await selfMetric(apiPort, 'netns_exporter_cycles_total')) ?? 0) >= 4);
  const outageEnded = Date.now();
  prometheus = await startPrometheus({ port: promPort });
  await waitFor('the buffer drained', async () => (
    (await selfMetric(apiPort, 'netns_exporter_remote_write_buffered_samples')) === 0
    && ((await selfMetric(apiPort, 'netns_exporter_remote_write_samples_sent_total')) ?? 0) > 0
  ));
  assert.is(await selfMetric(apiPort, 'netns_exporter_remote_write_samples_dropped_total', { reason: 'buffer_full' }), 0);
  assert.is(await selfMetric(apiPort, 'netns_exporter_remote_write_samples_dropped_total', { reason: 'rejected' }), 0);

  const samples = await rawSamples(prometheus.url, `netns_network_namespace{netns=${promString(ns)}}`, Date.now());
  const times = [...samples.values()][0]?.map(([at]) => at) ?? [];
  assert.ok(times.length >= 4, `${times.length} samples`);
  assert.ok(times[0]! < outageEnded, 'samples from before Prometheus started were delivered');
  // One sample per cycle: no gap of two intervals or more (slack for cycles that overrun on a busy host).
  // Exact per-cycle accounting is the outage test's job (test/integration/remoteWrite.test.ts).
  const gaps = times.slice(1).map((at, index) => at - times[index]!);
  assert.ok(gaps.every((gap) => gap > 0 && gap < 2_500), `gaps between cycles: ${gaps.join(', ')} ms`);

  agent.child.kill('SIGTERM');
  assert.is(await agent.exited, 0);
  agent = null;
});

runWhen(test, ['root', 'ip', 'nsenter', 'prometheus'], 'agent remote_write outage');
