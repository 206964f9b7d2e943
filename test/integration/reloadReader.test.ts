import { readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { addBareNamespaces, cleanupNamespaces, TEST_PREFIX } from '../helpers/netns.js';
import { runWhen } from '../helpers/requirements.js';
import { freePort } from '../helpers/servers.js';

/**
 * A reload keeps what did not change: with the reader's configuration unchanged, SIGHUP (which
 * logrotate may send every night) neither re-runs reader auto's self-test nor reopens a namespace;
 * a reload that narrows the filter closes the handles of the namespaces no longer selected.
 */
const test = suite('SIGHUP: the reader and its held namespaces');

/**
 * The agent's sockets that belong to no table of the host's namespace: those it holds in other
 * namespaces (its HTTP connections come and go, and are the host's).
 */
function sockets(pid: number): number {
  const host = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'unix', 'netlink', 'raw', 'raw6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      for (const field of line.trim().split(/\s+/)) if (/^\d{4,}$/.test(field)) host.add(field);
    }
  }
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      return inode !== undefined && !host.has(inode);
    } catch {
      return false;
    }
  }).length;
}

test.after(cleanupNamespaces);

test('an unchanged reader survives SIGHUP and SIGUSR1 with its handles; a narrower filter closes some', async () => {
  addBareNamespaces('rr', 4);
  const port = await freePort();
  const config = (pattern: string) => ({
    interval: '500ms',
    namespaces_filter: { whitelist_pattern: pattern },
    api_server: { server_address: '127.0.0.1', server_port: port, request_timeout: '2s' },
  });
  const file = writeConfig(config(`^${TEST_PREFIX}rr`), 'reload-reader');
  const agent = startAgent(['--config', file, '--log-format', 'json']);
  const pid = agent.child.pid!;
  const held = async () => ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { held_namespaces?: { held: number } }).held_namespaces?.held ?? null;
  const cycles = async () => Number(/^netns_exporter_cycles_total (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
  const proofs = () => agent.output().split('\n').filter((line) => line.includes('self-test') || line.includes('setns proven')).length;
  const afterCycles = async (count: number) => {
    const start = await cycles();
    await waitFor(`${count} more cycles`, async () => (await cycles()) >= start + count, { context: agent.output });
  };
  try {
    await waitFor('four namespaces held', async () => (await held()) === 4, { context: agent.output });
    assert.is(proofs(), 1, agent.output());
    const before = sockets(pid);
    assert.is(before, 4, 'one socket held in each namespace');
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGHUP'] as const) {
      const seen = agent.output().length;
      agent.child.kill(signal);
      if (signal === 'SIGHUP') await waitFor('the reload', async () => agent.output().slice(seen).includes('configuration reloaded'), { context: agent.output });
      await afterCycles(2);
    }
    assert.is(proofs(), 1, 'the self-test ran once, at start');
    assert.is(await held(), 4);
    assert.is(sockets(pid), before, 'no namespace reopened');
    // The filter narrowed to two of the four: their handles stay, the others' close at the next cycle.
    writeFileSync(`${file}.new`, stringify(config(`^${TEST_PREFIX}rr-0000[01]$`)));
    renameSync(`${file}.new`, file);
    agent.child.kill('SIGHUP');
    await waitFor('two namespaces held', async () => (await held()) === 2, { context: agent.output });
    assert.is(sockets(pid), 2);
    assert.is(proofs(), 1);
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
});

runWhen(test, ['root', 'ip', 'nsenter'], 'SIGHUP: the reader and its held namespaces');
