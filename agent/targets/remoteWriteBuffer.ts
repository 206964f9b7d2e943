import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';

/**
 * The samples remote_write has not delivered yet, oldest first: one entry per request-sized chunk
 * of a cycle, each a snappy-compressed WriteRequest ready to send. Bounded by samples and bytes;
 * when full the OLDEST entries go (recent figures matter most) and are counted. With a folder,
 * every entry is also a file written atomically, so a restart resends what was not acknowledged;
 * then only the entries' sizes stay in memory and bodies are read back when sent.
 */
export interface BufferEntry {
  /** Increasing; names the file, so a sorted listing is oldest first after a restart. */
  readonly id: number;
  readonly samples: number;
  /** Size of the compressed body. */
  readonly bytes: number;
  /** Timestamp of the entry's cycle, for logs. */
  readonly timestampMs: number;
}

export interface BufferOptions {
  maxSamples: number;
  maxBytes: number;
  dir: string | null;
  logger: Logger;
}

export interface BufferStats {
  entries: number;
  samples: number;
  bytes: number;
  /** Samples removed unsent because the buffer was full. */
  droppedSamples: number;
  /** Files found unreadable at start-up and moved aside. */
  corruptFiles: number;
}

/** A batch taken from the head: one or more consecutive entries with their bodies. */
export interface BufferBatch {
  entries: BufferEntry[];
  bodies: Uint8Array[];
  samples: number;
}

const FILE_SUFFIX = '.rwb';
const MAGIC = Buffer.from('NXRW1\n', 'latin1');
/** magic, samples (u32), timestamp (f64), body length (u32), sha256(body). */
const HEADER_BYTES = MAGIC.length + 4 + 8 + 4 + 32;

export class BufferFileError extends Error {
  override readonly name = 'BufferFileError';
  readonly code = 'EBUFFERFILE';
}

export class RemoteWriteBuffer {
  readonly #options: BufferOptions;
  readonly #entries: BufferEntry[] = [];
  /** Bodies of entries held in memory (all of them without a folder). */
  readonly #bodies = new Map<number, Uint8Array>();
  #nextId = 1;
  #samples = 0;
  #bytes = 0;
  #droppedSamples = 0;
  #corruptFiles = 0;

  constructor(options: BufferOptions) {
    this.#options = options;
  }

  /** Loads what a previous run left in the folder; a file that does not check out is moved aside. */
  async open(): Promise<void> {
    const dir = this.#options.dir;
    if (dir === null) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      // A temp file is a write that never completed (crash between write and rename).
      if (name.endsWith(`${FILE_SUFFIX}.tmp`)) {
        await rm(file, { force: true });
        continue;
      }
      const id = entryId(name);
      if (id === null) continue;
      try {
        const { header } = parseFile(await readFile(file), name);
        this.#push({ id, samples: header.samples, bytes: header.bodyLength, timestampMs: header.timestampMs });
        this.#nextId = Math.max(this.#nextId, id + 1);
      } catch (error) {
        await this.#setAside(file, error);
      }
    }
    // What was written under a larger limit must fit the current one.
    this.#droppedSamples += await this.#trim(0, 0);
    if (this.#entries.length > 0) {
      this.#options.logger.info({ dir, entries: this.#entries.length, samples: this.#samples }, 'remote_write: resending samples buffered before the restart');
    }
  }

  /**
   * Adds a chunk (its compressed WriteRequest) at the tail, first dropping the oldest entries until
   * it fits; returns how many samples were dropped (the new chunk's own when it can never fit).
   */
  async append(body: Uint8Array, samples: number, timestampMs: number): Promise<number> {
    if (samples > this.#options.maxSamples || body.length > this.#options.maxBytes) {
      this.#options.logger.warn({ samples, bytes: body.length }, 'remote_write: a chunk larger than the whole buffer was dropped');
      this.#droppedSamples += samples;
      return samples;
    }
    const dropped = await this.#trim(samples, body.length);
    const entry: BufferEntry = { id: this.#nextId++, samples, bytes: body.length, timestampMs };
    if (this.#options.dir !== null) await writeEntryFile(this.#options.dir, entry, body);
    else this.#bodies.set(entry.id, body);
    this.#push(entry);
    this.#droppedSamples += dropped;
    return dropped;
  }

  /**
   * The oldest entries whose samples add up to at most `maxSamples` (always at least one entry).
   * An entry whose file has vanished or broken is removed on the way and the next one is taken.
   */
  async peek(maxSamples: number): Promise<BufferBatch | null> {
    const batch: BufferBatch = { entries: [], bodies: [], samples: 0 };
    let index = 0;
    while (index < this.#entries.length) {
      const entry = this.#entries[index]!;
      if (batch.entries.length > 0 && batch.samples + entry.samples > maxSamples) break;
      const body = await this.#body(entry);
      if (body === null) {
        this.#remove(index);
        continue;
      }
      batch.entries.push(entry);
      batch.bodies.push(body);
      batch.samples += entry.samples;
      index += 1;
    }
    return batch.entries.length === 0 ? null : batch;
  }

  /** Forgets delivered (or rejected) entries; they are the head, as `peek` returned them. */
  async remove(entries: readonly BufferEntry[]): Promise<void> {
    for (const entry of entries) {
      const index = this.#entries.findIndex((candidate) => candidate.id === entry.id);
      if (index === -1) continue;
      this.#remove(index);
      if (this.#options.dir !== null) await rm(path.join(this.#options.dir, fileName(entry.id)), { force: true });
    }
  }

  stats(): BufferStats {
    return {
      entries: this.#entries.length,
      samples: this.#samples,
      bytes: this.#bytes,
      droppedSamples: this.#droppedSamples,
      corruptFiles: this.#corruptFiles,
    };
  }

  #push(entry: BufferEntry): void {
    this.#entries.push(entry);
    this.#samples += entry.samples;
    this.#bytes += entry.bytes;
  }

  #remove(index: number): void {
    const [entry] = this.#entries.splice(index, 1);
    if (entry === undefined) return;
    this.#samples -= entry.samples;
    this.#bytes -= entry.bytes;
    this.#bodies.delete(entry.id);
  }

  /** Drops oldest entries until `samples`/`bytes` more fit; returns the samples dropped. */
  async #trim(samples: number, bytes: number): Promise<number> {
    let dropped = 0;
    while (this.#entries.length > 0 && (this.#samples + samples > this.#options.maxSamples || this.#bytes + bytes > this.#options.maxBytes)) {
      const oldest = this.#entries[0]!;
      dropped += oldest.samples;
      await this.remove([oldest]);
    }
    if (dropped > 0) {
      this.#options.logger.warn({ dropped, maxSamples: this.#options.maxSamples, maxBytes: this.#options.maxBytes }, 'remote_write buffer full: dropped the oldest samples');
    }
    return dropped;
  }

  async #body(entry: BufferEntry): Promise<Uint8Array | null> {
    const dir = this.#options.dir;
    if (dir === null) return this.#bodies.get(entry.id) ?? null;
    const file = path.join(dir, fileName(entry.id));
    try {
      return parseFile(await readFile(file), fileName(entry.id)).body;
    } catch (error) {
      // Gone: another holder of the folder (an old target after a reload) delivered it already.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      await this.#setAside(file, error);
      return null;
    }
  }

  async #setAside(file: string, error: unknown): Promise<void> {
    this.#corruptFiles += 1;
    const aside = `${file}.corrupt`;
    this.#options.logger.warn({ file, movedTo: aside, error: (error as Error).message }, 'remote_write: unreadable buffer file moved aside');
    try {
      await rename(file, aside);
    } catch (renameError) {
      this.#options.logger.warn({ file, error: (renameError as Error).message }, 'remote_write: could not move a corrupt buffer file aside; deleting it');
      await rm(file, { force: true });
    }
  }
}

function fileName(id: number): string {
  return `${String(id).padStart(16, '0')}${FILE_SUFFIX}`;
}

function entryId(name: string): number | null {
  const match = /^(\d{16})\.rwb$/.exec(name);
  return match === null ? null : Number(match[1]);
}

/** Written to a temporary name, flushed, then renamed: a crash leaves either the whole file or none. */
async function writeEntryFile(dir: string, entry: BufferEntry, body: Uint8Array): Promise<void> {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  let offset = MAGIC.length;
  offset = header.writeUInt32LE(entry.samples, offset);
  offset = header.writeDoubleLE(entry.timestampMs, offset);
  offset = header.writeUInt32LE(body.length, offset);
  createHash('sha256').update(body).digest().copy(header, offset);
  const file = path.join(dir, fileName(entry.id));
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writev([header, body]);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

function parseFile(data: Buffer, name: string): { header: { samples: number; timestampMs: number; bodyLength: number }; body: Buffer } {
  if (data.length < HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BufferFileError(`${name}: not a remote_write buffer file (bad header)`);
  }
  let offset = MAGIC.length;
  const samples = data.readUInt32LE(offset);
  const timestampMs = data.readDoubleLE((offset += 4));
  const bodyLength = data.readUInt32LE((offset += 8));
  const digest = data.subarray((offset += 4), offset + 32);
  const body = data.subarray(HEADER_BYTES);
  if (body.length !== bodyLength) throw new BufferFileError(`${name}: truncated (${body.length} of ${bodyLength} body bytes)`);
  if (!createHash('sha256').update(body).digest().equals(digest)) throw new BufferFileError(`${name}: checksum mismatch`);
  return { header: { samples, timestampMs, bodyLength }, body };
}
