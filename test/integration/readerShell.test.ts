import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NsenterReader } from '../../agent/readers/nsenter.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import type { ProcMetricConfig } from '../../shared/config/configTypes.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import { addNamespace, cleanupNamespaces, inNs, kernelStat } from '../helpers/netns.js';
import { collectCycle, readOne, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * The reader shells on a hostile host: the environment the agent inherits (a root HOME whose
 * .bashrc prints and sleeps, BASH_ENV and ENV set, SHLVL unset as under systemd, Docker or cron, a
 * PATH that starts with a decoy `ip`) must not reach the shells that read the namespaces.
 */
const test = suite('reader shells ignore the host shell start-up files');
const PROC: ProcMetricConfig[] = [{ name: 'somaxconn', file: 'sys/net/core/somaxconn', type: 'gauge' }];
const TIMEOUT_MS = 10_000;
let ns = '';

test.before(() => {
  ns = addNamespace('sh');
  inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(ns, ['sysctl', '-q', '-w', 'net.core.somaxconn=3333']);
  loRxPackets = kernelStat(ns, 'lo', 'rx_packets');
});
test.after(cleanupNamespaces);

/** A HOME, start-up files and a PATH that would each break a read if a shell honoured them. */
function hostileEnvironment(): Record<string, string | undefined> {
  const home = tempDir('hostile-home');
  const noisy = (label: string) => `echo '${label} ran' ; echo '${label} ran' >&2 ; sleep 6\n`;
  writeFileSync(path.join(home, '.bashrc'), noisy('bashrc'));
  writeFileSync(path.join(home, '.bash_profile'), noisy('bash_profile'));
  writeFileSync(path.join(home, '.profile'), noisy('profile'));
  writeFileSync(path.join(home, 'bash_env'), noisy('BASH_ENV'));
  const decoys = path.join(home, 'bin');
  mkdirSync(decoys);
  for (const command of ['ip', 'nsenter']) {
    writeFileSync(path.join(decoys, command), '#!/bin/sh\necho decoy; exit 0\n');
    chmodSync(path.join(decoys, command), 0o755);
  }
  return { HOME: home, BASH_ENV: path.join(home, 'bash_env'), ENV: path.join(home, 'bash_env'), SHLVL: undefined, PATH: `${decoys}:${process.env.PATH}` };
}

/** Runs `body` with the hostile variables in process.env (which every spawned shell inherits), restoring it after. */
async function withEnvironment(variables: Record<string, string | undefined>, body: () => Promise<void>): Promise<void> {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(variables)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** lo's counter as the kernel shows it, read before the hostile PATH is in place (the helpers run `ip` too). */
let loRxPackets = -1;

async function assertKernelValues(read: (target: Namespace) => Promise<NamespaceResult>, label: string): Promise<void> {
  const target: Namespace = { name: ns, path: `/run/netns/${ns}`, inode: statSync(`/run/netns/${ns}`).ino };
  const started = performance.now();
  const result = await read(target);
  const ms = performance.now() - started;
  assert.ok(result.ok, `${label}: ${result.ok ? '' : `${result.reason}: ${result.message}`}`);
  if (!result.ok) return;
  assert.ok(ms < 3_000, `${label}: the read took ${Math.round(ms)} ms; a start-up file ran`);
  const lo = result.sample.interfaces.find((device) => device.name === 'lo');
  assert.ok(lo, `${label}: lo is read`);
  assert.is(lo!.stats.rx_packets, loRxPackets, `${label}: rx_packets`);
  assert.is(result.sample.proc.somaxconn, 3333, `${label}: proc value`);
}

test('nsenter reader: no .bashrc, no BASH_ENV, no inherited PATH', async () => {
  await withEnvironment(hostileEnvironment(), async () => {
    const reader = new NsenterReader(testReaderOptions({ timeoutMs: TIMEOUT_MS, procMetrics: PROC }));
    try {
      await assertKernelValues((target) => readOne(reader, target), 'nsenter');
      await assertKernelValues((target) => readOne(reader, target), 'nsenter, second read on the same shell');
    } finally {
      await reader.stop();
    }
  });
});

test('setns reader and its nsenter fallback: no .bashrc, no BASH_ENV, no inherited PATH', async () => {
  await withEnvironment(hostileEnvironment(), async () => {
    const options = testReaderOptions({ timeoutMs: TIMEOUT_MS, procMetrics: PROC, workers: 1 });
    const setns = new SetnsReader(options);
    // A worker that cannot start: the collection reads every namespace with the nsenter shells.
    const file = path.join(tempDir('setns-worker'), 'nokoffi.mjs');
    writeFileSync(file, `import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ kind: 'init-failed', message: 'no koffi here' });\n`);
    const fallingBack = await startedCollection('setns', { ...options, workerUrl: new URL(`file://${file}`) });
    const only = { whitelist: new RegExp(`^${ns}$`), blacklist: null };
    try {
      await assertKernelValues((target) => readOne(setns, target), 'setns');
      await assertKernelValues(async () => (await collectCycle(fallingBack, only)).results[0]!, 'setns falling back to nsenter');
      assert.is(fallingBack.inUse, 'nsenter');
    } finally {
      await setns.stop();
      await fallingBack.stop();
    }
  });
});

runWhen(test, ['root', 'ip', 'nsenter'], 'reader shell environment tests');
