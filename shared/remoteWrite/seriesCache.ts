import { byCodeUnits } from '../compare.js';
import type { SeriesFamily } from '../metrics/familyTable.js';
import { encodeMetadata, int64Length, STALE_NAN_BITS, writeLabel } from './encode.js';
import { ProtoWriter, TAG } from './protobuf.js';
import { metricKind, type Label, type MetricMetadata } from './series.js';

/** One request's worth of a cycle: a compressed WriteRequest and the samples it holds. */
interface EncodedChunk {
  body: Uint8Array;
  samples: number;
}

export interface CycleChunks {
  chunks: EncodedChunk[];
  /** Series sent this cycle, stale markers not included. */
  series: number;
  /** Stale markers: series of the previous cycle this one no longer has. */
  stale: number;
  /** Series not sent because another one had the same labels once empty values were removed. */
  duplicates: number;
}

export interface EncodeOptions {
  /** Samples per chunk at most. */
  maxSamples: number;
  /** Sends the families' metadata (TYPE and HELP) with the first chunk. */
  metadata: boolean;
  /** Snappy block format, into a new buffer: `bytes` is scratch space the next chunk overwrites. */
  compress: (bytes: Uint8Array) => Uint8Array;
}

/**
 * Scratch space for writing requests and label fields, one per process rather than one per cache:
 * encode() runs to its end without yielding and every chunk leaves compressed (a copy), so no two
 * encodes ever share it at once. A process may hold many caches (the fleet benchmark runs hundreds
 * of targets in one), and each would otherwise keep a buffer the size of a request.
 */
const SCRATCH = { writer: new ProtoWriter(256 * 1024), labels: new ProtoWriter(1024) };

/** A slot whose labels equal another series' (kept apart so it can be sent once that one goes). */
const DUPLICATE = '';

/** What the cache holds for one family, by the family's slots. */
interface FamilyCache {
  table: object;
  /** The key each slot held when its labels were encoded. */
  keys: (string | undefined)[];
  /** Encoded Label fields (one latin1 char per byte), or DUPLICATE. */
  bytes: (string | undefined)[];
  /** A duplicate slot's own encoded labels. */
  duplicates: Map<number, string>;
  /** The cycle each slot was last seen in. */
  seen: Uint32Array;
  /** The slots sent in the last cycle. */
  previous: Int32Array;
  previousCount: number;
  cycle: number;
}

/**
 * The remote_write pure step, after vmagent's pending series: the cycle's families → request-sized
 * chunks of encoded series, compressed, plus stale markers. Each series keeps its encoded labels
 * (sorted by name, external labels merged, empty values dropped) from cycle to cycle, by family
 * and slot (shared/metrics/familyTable.ts), so a steady cycle writes only each series' sample.
 * A series the cycle lacks gets one stale marker and is forgotten: nothing grows with churn.
 */
export class SeriesCache {
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly #external: readonly Label[];
  readonly #families = new Map<string, FamilyCache>();
  /** The encoded labels of every series sent in the last cycle: duplicates are found here. */
  readonly #live = new Set<string>();
  /** Labels of series held under an earlier table (or other external labels): stale unless they come back. */
  #retired: string[] = [];
  #stale: string[] = [];
  #cycle = 0;

  constructor(externalLabels: Readonly<Record<string, string>>) {
    this.externalLabels = externalLabels;
    this.#external = Object.entries(externalLabels).filter(([, value]) => value !== '').map(([name, value]) => ({ name, value }));
  }

  /**
   * The cache a target rebuilt from a reloaded config goes on with: this one when the external
   * labels are the same; else a new one, which sends a stale marker for each series this one
   * held unless the next cycle sends it again under the new labels.
   */
  successor(externalLabels: Readonly<Record<string, string>>): SeriesCache {
    if (JSON.stringify(externalLabels) === JSON.stringify(this.externalLabels)) return this;
    const next = new SeriesCache(externalLabels);
    next.#retired = [...this.#live, ...this.#retired];
    return next;
  }

  /** Series the cache holds (sent in the last cycle). */
  get size(): number {
    return this.#live.size;
  }

  encode(families: readonly SeriesFamily[], timestampMs: number, options: EncodeOptions): CycleChunks {
    if (!Number.isInteger(options.maxSamples) || options.maxSamples < 1) throw new RangeError(`maxSamples must be a positive integer, got ${options.maxSamples}`);
    const cycle = ++this.#cycle;
    this.#stale = [];
    const metadata = options.metadata ? families.map(familyMetadata) : null;
    const chunks = new Chunker(SCRATCH.writer, timestampMs, options, metadata);
    let duplicates = 0;
    for (const family of families) {
      const cache = this.#cacheOf(family, cycle);
      this.#markSeen(family, cache, cycle);
      this.#forgetUnseen(cache, cycle);
      duplicates += this.#write(family, cache, cycle, chunks);
    }
    for (const [name, cache] of this.#families) {
      if (cache.cycle !== cycle) {
        this.#retire(cache);
        this.#families.delete(name);
      }
    }
    let stale = 0;
    // A label set that went under one key and came back under another is not stale.
    for (const bytes of [...this.#stale, ...this.#retired]) {
      if (this.#live.has(bytes)) continue;
      chunks.stale(bytes);
      stale += 1;
    }
    this.#retired = [];
    this.#stale = [];
    return { chunks: chunks.finish(), series: chunks.samples - stale, stale, duplicates };
  }

  #cacheOf(family: SeriesFamily, cycle: number): FamilyCache {
    let cache = this.#families.get(family.name);
    if (cache !== undefined && cache.table !== family.table) {
      // Slots of another table name other series: what this cache held is compared by labels.
      this.#retire(cache);
      cache = undefined;
    }
    if (cache === undefined) {
      cache = {
        table: family.table, keys: [], bytes: [], duplicates: new Map(), seen: new Uint32Array(64), previous: new Int32Array(64), previousCount: 0, cycle,
      };
      this.#families.set(family.name, cache);
    }
    cache.cycle = cycle;
    return cache;
  }

  /** The slots that hold the same series as when their labels were encoded. */
  #markSeen(family: SeriesFamily, cache: FamilyCache, cycle: number): void {
    const { order, keys } = family;
    if (cache.seen.length < family.keys.length) cache.seen = grown(cache.seen, family.keys.length);
    const seen = cache.seen;
    for (let index = 0; index < family.count; index++) {
      const slot = order[index]!;
      if (cache.keys[slot] === keys[slot]) seen[slot] = cycle;
    }
  }

  /** Stale markers for the series of the last cycle that this one lacks (or whose slot now holds another). */
  #forgetUnseen(cache: FamilyCache, cycle: number): void {
    for (let index = 0; index < cache.previousCount; index++) {
      const slot = cache.previous[index]!;
      if (cache.seen[slot] !== cycle && cache.keys[slot] !== undefined) this.#forget(cache, slot);
    }
  }

  #write(family: SeriesFamily, cache: FamilyCache, cycle: number, chunks: Chunker): number {
    const { order, keys, slotValues } = family;
    const seen = cache.seen;
    let duplicates = 0;
    if (cache.previous.length < family.count) cache.previous = new Int32Array(Math.max(family.count, cache.previous.length * 2));
    const previous = cache.previous;
    let sent = 0;
    for (let index = 0; index < family.count; index++) {
      const slot = order[index]!;
      let bytes = cache.bytes[slot];
      if (seen[slot] !== cycle) {
        // A new series (or a slot reused for one): its labels are encoded once, here.
        if (cache.keys[slot] !== undefined) this.#forget(cache, slot);
        bytes = this.#claim(cache, slot, this.#labelBytes(family, slot));
        cache.keys[slot] = keys[slot];
        seen[slot] = cycle;
      } else if (bytes === DUPLICATE) {
        bytes = this.#claim(cache, slot, cache.duplicates.get(slot)!);
      }
      if (bytes === DUPLICATE) {
        duplicates += 1;
        continue;
      }
      chunks.series(bytes!, slotValues[slot]!);
      previous[sent++] = slot;
    }
    cache.previousCount = sent;
    // Duplicates stay known too, so their labels are not encoded again each cycle.
    for (const slot of cache.duplicates.keys()) if (seen[slot] === cycle) previous[cache.previousCount++] = slot;
    return duplicates;
  }

  /** The slot's labels unless another series sends them already; the first one wins. */
  #claim(cache: FamilyCache, slot: number, bytes: string): string {
    if (this.#live.has(bytes)) {
      cache.bytes[slot] = DUPLICATE;
      cache.duplicates.set(slot, bytes);
      return DUPLICATE;
    }
    this.#live.add(bytes);
    cache.bytes[slot] = bytes;
    cache.duplicates.delete(slot);
    return bytes;
  }

  #forget(cache: FamilyCache, slot: number): void {
    const bytes = cache.bytes[slot];
    if (bytes !== undefined && bytes !== DUPLICATE) {
      this.#live.delete(bytes);
      this.#stale.push(bytes);
    }
    cache.duplicates.delete(slot);
    cache.keys[slot] = undefined;
    cache.bytes[slot] = undefined;
  }

  /** Every series of a cache becomes a candidate for a stale marker. */
  #retire(cache: FamilyCache): void {
    for (const bytes of cache.bytes) {
      if (bytes === undefined || bytes === DUPLICATE) continue;
      this.#live.delete(bytes);
      this.#retired.push(bytes);
    }
  }

  /** Label fields sorted by name (byte order), `__name__` among them, external labels filling in. */
  #labelBytes(family: SeriesFamily, slot: number): string {
    const own = family.labels[slot] ?? {};
    const labels: Label[] = [{ name: '__name__', value: family.metricNames?.[slot] ?? family.name }];
    for (const name in own) {
      const value = own[name]!;
      // An empty value means "no such label", so it must not hide an external label of that name.
      if (value === '' || name === '__name__') continue;
      labels.push({ name, value });
    }
    for (const label of this.#external) if (!labels.some((present) => present.name === label.name)) labels.push(label);
    labels.sort(byName);
    const writer = SCRATCH.labels;
    writer.reset();
    for (const label of labels) writeLabel(writer, label.name, label.value);
    return writer.latin1Since(0);
  }
}

/** Writes series into chunks of at most `maxSamples` samples, each compressed when full. */
class Chunker {
  readonly #chunks: EncodedChunk[] = [];
  readonly #writer: ProtoWriter;
  readonly #options: EncodeOptions;
  readonly #metadata: MetricMetadata[] | null;
  /** Sample.timestamp's field, the same for every sample of the cycle. */
  readonly #tail: Uint8Array;
  #count = 0;
  samples = 0;

  constructor(writer: ProtoWriter, timestampMs: number, options: EncodeOptions, metadata: MetricMetadata[] | null) {
    this.#writer = writer;
    this.#options = options;
    this.#metadata = metadata;
    writer.reset();
    writer.byte(TAG.sampleTimestamp);
    writer.int64(timestampMs);
    this.#tail = new Uint8Array(writer.bytes());
    if (this.#tail.length !== 1 + int64Length(timestampMs)) throw new Error('timestamp field miscounted');
    writer.reset();
  }

  series(labelBytes: string, value: number): void {
    this.#writer.timeSeries(labelBytes, value, 0, 0, this.#tail);
    this.#added();
  }

  stale(labelBytes: string): void {
    this.#writer.timeSeries(labelBytes, null, STALE_NAN_BITS.low, STALE_NAN_BITS.high, this.#tail);
    this.#added();
  }

  finish(): EncodedChunk[] {
    this.#flush();
    return this.#chunks;
  }

  #added(): void {
    this.samples += 1;
    if (++this.#count >= this.#options.maxSamples) this.#flush();
  }

  #flush(): void {
    if (this.#count === 0) return;
    // Metadata rides with the first request only, as Prometheus sends it.
    if (this.#chunks.length === 0 && this.#metadata !== null) encodeMetadata(this.#metadata, this.#writer);
    this.#chunks.push({ body: this.#options.compress(this.#writer.bytes()), samples: this.#count });
    this.#writer.reset();
    this.#count = 0;
  }
}

function familyMetadata(family: SeriesFamily): MetricMetadata {
  return { type: metricKind(family.type), metricFamilyName: family.name, help: family.help };
}

function byName(a: Label, b: Label): number {
  return byCodeUnits(a.name, b.name);
}

function grown(array: Uint32Array, needed: number): Uint32Array {
  let size = Math.max(64, array.length * 2);
  while (size < needed) size *= 2;
  const next = new Uint32Array(size);
  next.set(array);
  return next;
}
