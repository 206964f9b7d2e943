import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Collection } from '../../agent/collect.js';
import { discoverNamespaces } from '../../agent/discover.js';
import { SetnsReader } from '../../agent/readers/setns.js';
import type { NamespaceResult, Snapshot } from '../../shared/snapshot.js';
import { runAgent, writeConfig } from '../helpers/agent.js';
import { addNamespace, addVeth, cleanupNamespaces } from '../helpers/netns.js';
import { readAll, startedCollection, testReaderOptions } from '../helpers/readers.js';
import { runWhen } from '../helpers/requirements.js';
import { tempDir } from '../helpers/servers.js';

/**
 * Namespace files whose names are not valid UTF-8 (bytes 0xfe and 0xff), bound into a folder as a
 * runtime might bind them: found, read by both readers, labelled with U+FFFD, and two names that
 * become the same label told apart with `~2`.
 */
const test = suite('namespace names that are not valid UTF-8');
const tag = String(process.pid % 100_000);
const devices = { first: `u${tag}a`, second: `u${tag}b` };
const noFilter = { whitelist: null, blacklist: null };
let root = '';
let dir = '';
const mounts: string[] = [];

/** Binds a namespace file under a name given as bytes (shell printf escapes): argv cannot carry them from here. */
function bindUnderBytes(source: string, escapedName: string): void {
  const script = 'f="$(printf "%s/$2" "$1")"; : > "$f"; mount --bind "$3" "$f"; printf %s "$f"';
  execFileSync('bash', ['-c', script, 'bash', dir, escapedName, source]);
  mounts.push(escapedName);
}

test.before(() => {
  root = tempDir('non-utf8');
  dir = path.join(root, 'netns');
  mkdirSync(dir);
  const first = addNamespace('u8a');
  const second = addNamespace('u8b');
  addVeth({ ns: first, dev: devices.first }, { ns: null, dev: `${devices.first}p` });
  addVeth({ ns: second, dev: devices.second }, { ns: null, dev: `${devices.second}p` });
  bindUnderBytes(`/run/netns/${first}`, 'bad\\376');
  bindUnderBytes(`/run/netns/${second}`, 'bad\\377');
});

test.after(() => {
  for (const name of mounts) execFileSync('bash', ['-c', 'umount "$(printf "%s/$2" "$1")"', 'bash', dir, name]);
  rmSync(root, { recursive: true, force: true });
  cleanupNamespaces();
});

async function collectWith(collection: Collection): Promise<Snapshot> {
  try {
    return await collection.collect({ discovery: { netnsDirs: [dir], filter: noFilter, procRoot: '/proc' } });
  } finally {
    await collection.stop();
  }
}

function devicesByName(results: readonly NamespaceResult[]): Record<string, string[]> {
  return Object.fromEntries(results.map((result) => [
    result.ns.name,
    result.ok ? result.sample.interfaces.map((device) => device.name).filter((name) => name !== 'lo') : [`failed: ${result.message}`],
  ]));
}

const EXPECTED = { 'bad\uFFFD': [devices.first], 'bad\uFFFD~2': [devices.second] };

test('the nsenter reader finds and reads both; the second name gets ~2 and one warning', async () => {
  const snapshot = await collectWith(await startedCollection('nsenter', testReaderOptions()));
  assert.equal(devicesByName(snapshot.results), EXPECTED);
  const collisions = snapshot.discoveryErrors.filter((problem) => /same label/.test(problem.message));
  assert.is(collisions.length, 1, snapshot.discoveryErrors.map((problem) => problem.message).join('\n'));
  assert.match(collisions[0]!.message, /bad\\xff.*bad\uFFFD~2/);
});

test('the setns reader reads them by their bytes', async () => {
  const reader = new SetnsReader(testReaderOptions({ workers: 1 }));
  try {
    const { namespaces } = await discoverNamespaces({ netnsDirs: [dir], filter: noFilter, procRoot: '/proc' });
    // Read by the workers themselves: none handed back to nsenter.
    assert.equal(devicesByName(await readAll(reader, namespaces)), EXPECTED);
  } finally {
    await reader.stop();
  }
});

test('--dry-run labels the namespaces with U+FFFD and warns about the collision once', () => {
  const config = writeConfig({ netns_dirs: [dir], reader: 'nsenter', collectors: { conntrack: { enabled: false } } }, 'non-utf8');
  const run = runAgent(['--config', config, '--dry-run', '--log-format', 'json']);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`netns_network_up\\{device="${devices.first}"[^}]*netns="bad\uFFFD"\\}`));
  assert.match(run.stdout, new RegExp(`netns_network_up\\{device="${devices.second}"[^}]*netns="bad\uFFFD~2"\\}`));
  assert.is((run.stderr.match(/same label/g) ?? []).length, 1, run.stderr);
});

runWhen(test, ['root', 'ip', 'nsenter'], 'non-UTF-8 namespace names');
