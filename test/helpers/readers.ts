import { pino } from 'pino';
import * as assert from 'uvu/assert';
import { Collection } from '../../agent/collect.js';
import { discoverNamespaces } from '../../agent/discover.js';
import type { ReaderOptions } from '../../agent/readers/options.js';
import type { Reader } from '../../agent/readers/reader.js';
import type { NameFilter } from '../../shared/config/configTypes.js';
import type { Namespace, NamespaceResult, Snapshot } from '../../shared/snapshot.js';
import { NO_COLLECTORS } from './config.js';

/** Readers' options for a test: 5 s timeout, nothing beyond the interfaces, 4 threads, 2 workers, silent. */
export function testReaderOptions(overrides: Partial<ReaderOptions> = {}): ReaderOptions {
  return {
    timeoutMs: 5_000,
    procMetrics: [],
    collectors: NO_COLLECTORS,
    threads: 4,
    workers: 2,
    procRoot: '/proc',
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
}

/** One namespace read by `reader` alone; fails the test when the reader could not vouch for it. */
export async function readOne(reader: Reader, ns: Namespace): Promise<NamespaceResult> {
  const { results, unvouched } = await reader.collect([ns], { complete: false });
  assert.equal(unvouched.map((u) => `${u.ns.name}: ${u.why}`), [], 'the reader vouched for its reading');
  return results[0]!;
}

/** Results in the order of `namespaces`; fails the test when the reader could not vouch for one. */
export async function readAll(reader: Reader, namespaces: readonly Namespace[], complete = false): Promise<NamespaceResult[]> {
  const { results, unvouched } = await reader.collect(namespaces, { complete });
  assert.equal(unvouched.map((u) => `${u.ns.name}: ${u.why}`), [], 'the reader vouched for every reading');
  const byNamespace = new Map(results.map((result) => [result.ns, result]));
  return namespaces.map((ns) => byNamespace.get(ns)!);
}

/** A started collection reading with `setting` (reader auto: self-test on the first cycle). */
export async function startedCollection(setting: 'nsenter' | 'setns' | 'auto', options: ReaderOptions, nsenter?: Reader): Promise<Collection> {
  const collection = new Collection(setting, options, nsenter);
  await collection.start([]);
  return collection;
}

/** One cycle of `collection` over /run/netns, every device kept. */
export function collectCycle(collection: Collection, filter: NameFilter): Promise<Snapshot> {
  return collection.collect({ discovery: { netnsDirs: ['/run/netns'], filter, procRoot: '/proc' } });
}

/**
 * One cycle of `reader` alone over /run/netns: discovery, then the whole list handed over (so a
 * reader that holds namespaces lets go of the others). Fails the test when the reader could not
 * vouch for a namespace: no nsenter read for it behind its back.
 */
export async function readerCycle(reader: Reader, filter: NameFilter): Promise<{ results: NamespaceResult[] }> {
  const { namespaces, unlisted } = await discoverNamespaces({ netnsDirs: ['/run/netns'], filter, procRoot: '/proc' });
  return { results: await readAll(reader, namespaces, unlisted.length === 0) };
}
