import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { discoverNamespaces } from '../../agent/discover.js';
import { namespacesAtStart } from '../../agent/collect.js';
import { SelfStatsRecorder } from '../../agent/selfStats.js';
import type { Snapshot } from '../../shared/snapshot.js';
import { configFrom } from '../helpers/config.js';
import { buildRegistry } from '../helpers/registry.js';
import { memoryLogger } from '../helpers/remoteWrite.js';
import { snapshotOf } from '../helpers/samples.js';

/**
 * A discovery step that fails is worked around, never silently: one log line (through the loop's
 * discovery problem log, or the reader's warning at start) and a count in
 * netns_exporter_discovery_errors_total{reason}.
 */
const test = suite('discovery errors: logged and counted');
const scratch: string[] = [];
test.after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nx-discovery-'));
  scratch.push(dir);
  return dir;
};
/** The reason a discovery problem is counted under, when it is a failure of discovery itself. */
const reasonOf = (problem: object): string | undefined => (problem as { reason?: string }).reason;
const discoveryErrors = (recorder: SelfStatsRecorder): Record<string, number> | undefined =>
  (recorder.snapshot([]) as unknown as { discoveryErrors?: Record<string, number> }).discoveryErrors;

test('no nsfs device to check against, no mount table: each is a problem with its reason, naming the path', async () => {
  const procRoot = tempDir();
  const folder = tempDir();
  writeFileSync(path.join(folder, 'not-a-namespace'), '');
  const found = await discoverNamespaces({ netnsDirs: [folder], filter: { whitelist: null, blacklist: null }, procRoot });
  const failures = found.problems.filter((problem) => reasonOf(problem) !== undefined);
  assert.equal(failures.map(reasonOf).sort(), ['mount_table', 'nsfs_check']);
  for (const failure of failures) assert.match(failure.message, procRoot);
  assert.match(failures.find((problem) => reasonOf(problem) === 'nsfs_check')!.message, /ENOENT/);
});

test('the recorder counts each failing cycle by reason, every reason from 0, and the registry writes them', async () => {
  const recorder = new SelfStatsRecorder();
  recorder.recordCycle(snapshotOf([]), []);
  assert.equal(discoveryErrors(recorder), { nsfs_check: 0, mount_table: 0, start: 0 });
  const failing: Snapshot = { ...snapshotOf([]), discoveryErrors: [{ key: 'nsfs-check', message: 'cannot stat /proc/self/ns/net: EACCES', reason: 'nsfs_check' } as Snapshot['discoveryErrors'][number]] };
  recorder.recordCycle(failing, []);
  recorder.recordCycle(failing, []);
  assert.is(discoveryErrors(recorder)?.nsfs_check, 2);
  const text = await buildRegistry(snapshotOf([]), configFrom({}), { version: 'v', revision: 'r', nodeversion: 'n' }, recorder.snapshot([])).metrics();
  assert.ok(text.includes('netns_exporter_discovery_errors_total{reason="nsfs_check"} 2'), text);
  assert.ok(text.includes('netns_exporter_discovery_errors_total{reason="start"} 0'));
});

test('reader auto: a discovery that fails at start is warned about and counted, and the self-test waits for a cycle', async () => {
  const { logger, lines } = memoryLogger();
  const found = await namespacesAtStart(() => Promise.reject(new Error('EMFILE: too many open files, scandir \'/run/netns\'')), logger);
  const warning = lines().find((line) => line.level === 40);
  assert.ok(warning !== undefined, 'no warning logged');
  assert.match(JSON.stringify(warning), /EMFILE/);
  assert.equal(found, { namespaces: [], failed: 1 });
  // The loop counts it under reason="start" (main hands it over as discoveryErrorsAtStart).
  const recorder = new SelfStatsRecorder();
  recorder.recordDiscoveryErrorsAtStart(found.failed);
  recorder.recordCycle(snapshotOf([]), []);
  assert.is(discoveryErrors(recorder)?.start, 1);
});

test.run();
