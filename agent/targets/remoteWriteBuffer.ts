import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { FolderLock } from './folderLock.js';

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
  /** Samples of the oldest files removed to make room on a full disk. */
  diskFullSamples: number;
  /** Samples of files whose body did not check out (a header that does not check out says nothing about its samples). */
  corruptSamples: number;
  /** Files found unreadable and moved aside. */
  corruptFiles: number;
  /** Samples of files removed by someone else (buffer.dir deleted while running, or a file of it). */
  deletedSamples: number;
  /** Entries held in memory only: not written yet, or not writable (disk full). */
  memoryEntries: number;
}

/** A batch taken from the head: one or more consecutive entries with their bodies. */
export interface BufferBatch {
  entries: BufferEntry[];
  bodies: Uint8Array[];
  samples: number;
  /**
   * One entry found at start in a read-only folder: it may have been delivered before the restart
   * (its file could not be removed then), so it goes alone and a 400 for it is a resend.
   */
  maybeDelivered: boolean;
}

/** Entries a buffer hands to its successor (a new target after SIGHUP): the ones it holds in memory only. */
export interface HandedEntry {
  body: Uint8Array;
  samples: number;
  timestampMs: number;
}

const FILE_SUFFIX = '.rwb';
const CORRUPT_SUFFIX = '.corrupt';
/** Only the newest few set-aside files are kept for a post-mortem: a disk going bad must not fill the folder. */
export const MAX_CORRUPT_FILES = 5;

class BufferFileError extends Error {
  override readonly name = 'BufferFileError';
  readonly code = 'EBUFFERFILE';
  /** Samples the file held, when its header checked out (so the count can be trusted). */
  constructor(message: string, readonly samples: number | null = null) {
    super(message);
  }
}

export class RemoteWriteBuffer {
  readonly #options: BufferOptions;
  readonly #entries: BufferEntry[] = [];
  /** Bodies of entries held in memory: all of them without a folder, else those not written (yet). */
  readonly #bodies = new Map<number, Uint8Array>();
  #nextId = 1;
  #samples = 0;
  #bytes = 0;
  #droppedSamples = 0;
  #diskFullSamples = 0;
  #corruptSamples = 0;
  #corruptFiles = 0;
  #deletedSamples = 0;
  #lock: FolderLock | null = null;
  /** This buffer owns the folder (opened, not handed over): a lost lock is taken again. */
  #owner = false;
  /** Delivered (or dropped) entries whose files could not be removed (a read-only folder): never sent again, removed when it can be. */
  readonly #undeleted = new Set<number>();
  /** Entries found at start in a read-only folder: perhaps delivered before the restart. */
  readonly #maybeDelivered = new Set<number>();
  /** The overflow going on: samples dropped and appends that dropped since it began. */
  #fullEpisode: { dropped: number; appends: number; sinceMs: number } | null = null;
  /** The error code of the last failed removal, so a read-only folder warns once, not every cycle. */
  #removeError: string | null = null;
  /** The error code of the last failed write, so a full disk warns once, not every cycle. */
  #writeError: string | null = null;

  constructor(options: BufferOptions) {
    this.#options = options;
  }

  /**
   * Locks the folder (one writer only: ids would collide and renames overwrite) and loads what a
   * previous run left there; a file that does not check out is moved aside, alone.
   */
  async open(): Promise<void> {
    const dir = this.#options.dir;
    if (dir === null) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.#lock = await FolderLock.acquire(dir);
    this.#owner = true;
    // Files that could not be removed once delivered (the folder went read-only) look like any other.
    const readOnly = await access(dir, constants.W_OK).then(() => false, () => true);
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      // A temp file is a write that never completed (crash between write and rename).
      if (name.endsWith(`${FILE_SUFFIX}.tmp`)) {
        await rm(file, { force: true }).catch(() => undefined);
        continue;
      }
      const id = entryId(name);
      if (id === null) continue;
      // Ids go on from the highest name seen, broken files included, so no new file reuses a name.
      this.#nextId = Math.max(this.#nextId, id + 1);
      try {
        const { header } = parseFile(await readFile(file), name);
        this.#push({ id, samples: header.samples, bytes: header.bodyLength, timestampMs: header.timestampMs });
        if (readOnly) this.#maybeDelivered.add(id);
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

  /** Lets the folder go (stop, or a hand-over to the next target on SIGHUP). */
  async close(): Promise<void> {
    // An overflow still going on is summed up too.
    this.#noteFull(0);
    this.#owner = false;
    const lock = this.#lock;
    if (lock === null) return;
    this.#lock = null;
    await lock.release();
  }

  /**
   * Adds a chunk (its compressed WriteRequest) at the tail, in memory, first dropping the oldest
   * entries until it fits; returns how many samples were dropped (the new chunk's own when it can
   * never fit). It goes to disk with `persist()`, after the send that may make that unnecessary.
   */
  async append(body: Uint8Array, samples: number, timestampMs: number): Promise<number> {
    if (samples > this.#options.maxSamples || body.length > this.#options.maxBytes) {
      this.#options.logger.warn({ samples, bytes: body.length }, 'remote_write: a chunk larger than the whole buffer was dropped');
      this.#droppedSamples += samples;
      return samples;
    }
    const dropped = await this.#trim(samples, body.length);
    const entry: BufferEntry = { id: this.#nextId++, samples, bytes: body.length, timestampMs };
    this.#bodies.set(entry.id, body);
    this.#push(entry);
    this.#droppedSamples += dropped;
    return dropped;
  }

  /**
   * Notices buffer.dir (or its lock file) removed behind the agent's back: the samples of files
   * that went with it are counted as deleted, the folder and the lock are made again, one warning
   * says so. Without it the lock would guard nothing and every later write would fail. One stat
   * when all is well; never throws (a folder that cannot be made again is tried at the next call).
   */
  async checkFolder(): Promise<void> {
    const dir = this.#options.dir;
    if (dir === null || !this.#owner) return;
    if (this.#lock !== null && await this.#lock.intact()) return;
    let samples = 0;
    let files = 0;
    for (const entry of [...this.#entries]) {
      if (this.#bodies.has(entry.id)) continue;
      if (await access(path.join(dir, fileName(entry.id))).then(() => true, () => false)) continue;
      samples += entry.samples;
      files += 1;
      this.#remove(this.#entries.indexOf(entry));
    }
    this.#deletedSamples += samples;
    const lost = this.#lock;
    this.#lock = null;
    await lost?.release().catch(() => undefined);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.#lock = await FolderLock.acquire(dir);
      this.#writeError = null;
      this.#options.logger.warn({ dir, files, samples }, 'remote_write: buffer.dir or its lock was removed while running; samples of the removed files are lost (counted as reason="deleted"); folder and lock made again');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.#writeError !== code) this.#options.logger.warn({ dir, files, samples, error: (error as Error).message }, 'remote_write: buffer.dir was removed while running and cannot be made again; undelivered samples are kept in memory');
      this.#writeError = code;
    }
  }

  /**
   * Writes the entries held only in memory to the folder, oldest first. A full disk (ENOSPC,
   * EDQUOT) removes the oldest file to make room for the newer one (counted as disk_full); an entry
   * that still cannot be written stays in memory and is sent from there. Never throws.
   */
  async persist(): Promise<void> {
    const dir = this.#options.dir;
    await this.checkFolder();
    await this.#removeUndeleted();
    // Never write into a folder this buffer does not hold (open() failed, or it was handed over).
    if (dir === null || this.#lock === null) return;
    for (const entry of [...this.#entries]) {
      const body = this.#bodies.get(entry.id);
      if (body === undefined) continue;
      let error = await writeEntryFile(dir, entry, body).then(() => null, (cause: NodeJS.ErrnoException) => cause);
      if (error !== null && isDiskFull(error)) {
        const oldest = this.#entries.find((candidate) => !this.#bodies.has(candidate.id));
        if (oldest !== undefined) {
          this.#diskFullSamples += oldest.samples;
          this.#options.logger.warn({ dir, samples: oldest.samples, error: error.code }, 'remote_write: buffer disk full; dropped the oldest buffered file to keep the newest');
          await this.remove([oldest]);
          error = await writeEntryFile(dir, entry, body).then(() => null, (cause: NodeJS.ErrnoException) => cause);
        }
      }
      if (error !== null) {
        if (this.#writeError !== (error.code ?? error.message)) {
          this.#options.logger.warn({ dir, error: error.message }, 'remote_write: cannot write the buffer folder; undelivered samples are kept in memory');
        }
        this.#writeError = error.code ?? error.message;
        return;
      }
      this.#writeError = null;
      this.#bodies.delete(entry.id);
    }
  }

  /**
   * The oldest entries whose samples add up to at most `maxSamples` (always at least one entry).
   * An entry whose file has vanished or broken is removed on the way and the next one is taken.
   */
  async peek(maxSamples: number): Promise<BufferBatch | null> {
    await this.checkFolder();
    const batch: BufferBatch = { entries: [], bodies: [], samples: 0, maybeDelivered: false };
    let index = 0;
    while (index < this.#entries.length) {
      const entry = this.#entries[index]!;
      const maybeDelivered = this.#maybeDelivered.has(entry.id);
      if (batch.entries.length > 0 && (batch.samples + entry.samples > maxSamples || maybeDelivered || batch.maybeDelivered)) break;
      const body = await this.#body(entry);
      if (body === null) {
        this.#remove(index);
        continue;
      }
      batch.entries.push(entry);
      batch.bodies.push(body);
      batch.samples += entry.samples;
      batch.maybeDelivered = maybeDelivered;
      index += 1;
    }
    return batch.entries.length === 0 ? null : batch;
  }

  /**
   * Forgets delivered (or rejected) entries; they are the head, as `peek` returned them. A file
   * that cannot be removed (a read-only folder: EROFS, or EPERM under chattr +i) is remembered as
   * gone, never sent again, and removed when the folder is writable again. Never throws.
   */
  async remove(entries: readonly BufferEntry[]): Promise<void> {
    for (const entry of entries) {
      const index = this.#entries.findIndex((candidate) => candidate.id === entry.id);
      if (index === -1) continue;
      const onDisk = !this.#bodies.has(entry.id);
      this.#remove(index);
      if (this.#options.dir !== null && onDisk) await this.#removeFile(entry.id);
    }
  }

  async #removeFile(id: number): Promise<boolean> {
    const file = path.join(this.#options.dir!, fileName(id));
    try {
      await rm(file, { force: true });
      this.#undeleted.delete(id);
      this.#removeError = null;
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.#removeError !== code) {
        this.#options.logger.warn({ dir: this.#options.dir, error: (error as Error).message }, 'remote_write: cannot remove buffer files of delivered samples; they are not sent again, and are removed once the folder is writable');
      }
      this.#removeError = code;
      this.#undeleted.add(id);
      return false;
    }
  }

  /** Removes the files of delivered entries that could not be removed before; stops at the first that still cannot. */
  async #removeUndeleted(): Promise<void> {
    if (this.#undeleted.size === 0) return;
    for (const id of [...this.#undeleted]) if (!(await this.#removeFile(id))) return;
    this.#options.logger.info({ dir: this.#options.dir }, 'remote_write: buffer files of delivered samples removed, the folder is writable again');
  }

  /**
   * Takes entries out of this buffer for its successor (a target rebuilt on SIGHUP), oldest first:
   * those held in memory, and with `withFiles` those on disk too (read back; their files are listed
   * for the caller to delete once the successor holds them). The lock stays until close().
   */
  async handOut(withFiles: boolean): Promise<{ entries: HandedEntry[]; files: string[] }> {
    const entries: HandedEntry[] = [];
    const files: string[] = [];
    for (const entry of [...this.#entries]) {
      const inMemory = this.#bodies.has(entry.id);
      if (!inMemory && !withFiles) continue;
      const body = await this.#body(entry);
      const index = this.#entries.indexOf(entry);
      if (index !== -1) this.#remove(index);
      if (body === null) continue;
      entries.push({ body, samples: entry.samples, timestampMs: entry.timestampMs });
      if (!inMemory && this.#options.dir !== null) files.push(path.join(this.#options.dir, fileName(entry.id)));
    }
    return { entries, files };
  }

  /** Takes handed entries at the tail, in memory (persist() writes them), within the bounds. */
  async adopt(entries: readonly HandedEntry[]): Promise<void> {
    for (const entry of entries) await this.append(entry.body, entry.samples, entry.timestampMs);
  }

  /** Locks the folder again after a hand-over that did not go through. */
  async relock(): Promise<void> {
    if (this.#options.dir === null || this.#lock !== null) return;
    this.#lock = await FolderLock.acquire(this.#options.dir);
    this.#owner = true;
  }

  stats(): BufferStats {
    return {
      entries: this.#entries.length,
      samples: this.#samples,
      bytes: this.#bytes,
      droppedSamples: this.#droppedSamples,
      diskFullSamples: this.#diskFullSamples,
      corruptSamples: this.#corruptSamples,
      corruptFiles: this.#corruptFiles,
      deletedSamples: this.#deletedSamples,
      memoryEntries: this.#options.dir === null ? this.#entries.length : this.#bodies.size,
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
    this.#maybeDelivered.delete(entry.id);
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
    this.#noteFull(dropped);
    return dropped;
  }

  /**
   * "Buffer full" is said once when an overflow begins (a receiver down fills the buffer and every
   * later cycle overflows it again), and once more with the totals when a cycle fits again.
   */
  #noteFull(dropped: number): void {
    const episode = this.#fullEpisode;
    if (dropped > 0 && episode === null) {
      this.#fullEpisode = { dropped, appends: 1, sinceMs: Date.now() };
      this.#options.logger.warn({ dropped, maxSamples: this.#options.maxSamples, maxBytes: this.#options.maxBytes }, 'remote_write buffer full: dropping the oldest samples to make room (counted as reason="buffer_full"; summarised when it ends)');
    } else if (dropped > 0 && episode !== null) {
      episode.dropped += dropped;
      episode.appends += 1;
    } else if (episode !== null) {
      this.#fullEpisode = null;
      this.#options.logger.info({ dropped: episode.dropped, overflows: episode.appends, seconds: Math.round((Date.now() - episode.sinceMs) / 1000) }, 'remote_write buffer no longer full');
    }
  }

  async #body(entry: BufferEntry): Promise<Uint8Array | null> {
    const inMemory = this.#bodies.get(entry.id);
    const dir = this.#options.dir;
    if (inMemory !== undefined || dir === null) return inMemory ?? null;
    const file = path.join(dir, fileName(entry.id));
    try {
      return parseFile(await readFile(file), fileName(entry.id)).body;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#deletedSamples += entry.samples;
        this.#options.logger.warn({ file, samples: entry.samples }, 'remote_write: a buffer file was removed before it was sent (counted as reason="deleted")');
        return null;
      }
      await this.#setAside(file, error);
      return null;
    }
  }

  /** Moves one bad file aside (only that one), counts what it held when that is known, keeps the newest few. */
  async #setAside(file: string, error: unknown): Promise<void> {
    this.#corruptFiles += 1;
    const samples = error instanceof BufferFileError ? error.samples : null;
    if (samples !== null) this.#corruptSamples += samples;
    const aside = `${file}${CORRUPT_SUFFIX}`;
    this.#options.logger.warn({ file, movedTo: aside, samples, error: (error as Error).message }, 'remote_write: unreadable buffer file moved aside');
    try {
      await rename(file, aside);
      await pruneCorruptFiles(path.dirname(file));
    } catch (renameError) {
      this.#options.logger.warn({ file, error: (renameError as Error).message }, 'remote_write: could not move a corrupt buffer file aside; deleting it');
      await rm(file, { force: true }).catch(() => undefined);
    }
  }
}

function isDiskFull(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}

async function pruneCorruptFiles(dir: string): Promise<void> {
  const corrupt = (await readdir(dir)).filter((name) => name.endsWith(`${FILE_SUFFIX}${CORRUPT_SUFFIX}`)).sort();
  for (const name of corrupt.slice(0, Math.max(0, corrupt.length - MAX_CORRUPT_FILES))) await rm(path.join(dir, name), { force: true });
}

/** Makes a rename or a new file in `dir` durable: without it a power cut can forget the name. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fileName(id: number): string {
  return `${String(id).padStart(16, '0')}${FILE_SUFFIX}`;
}

function entryId(name: string): number | null {
  const match = /^(\d{16})\.rwb$/.exec(name);
  return match === null ? null : Number(match[1]);
}

/**
 * Version 2: magic, samples (u32), timestamp (f64), body length (u32), sha256(body), then the
 * first 8 bytes of sha256 of everything before: a flipped bit in the header (a sample count of
 * 16.7 million) is caught and costs that one file, not the whole buffer. Version 1 files (no header
 * checksum) are still read.
 */
const MAGIC_V1 = Buffer.from('NXRW1\n', 'latin1');
const MAGIC = Buffer.from('NXRW2\n', 'latin1');
const FIELDS_BYTES = MAGIC.length + 4 + 8 + 4 + 32;
const HEADER_CHECKSUM_BYTES = 8;

function headerChecksum(fields: Buffer): Buffer {
  return createHash('sha256').update(fields).digest().subarray(0, HEADER_CHECKSUM_BYTES);
}

/** Written to a temporary name, flushed, renamed, folder flushed: a crash leaves the whole file or none; a failed write leaves nothing. */
async function writeEntryFile(dir: string, entry: BufferEntry, body: Uint8Array): Promise<void> {
  const fields = Buffer.alloc(FIELDS_BYTES);
  MAGIC.copy(fields, 0);
  let offset = MAGIC.length;
  offset = fields.writeUInt32LE(entry.samples, offset);
  offset = fields.writeDoubleLE(entry.timestampMs, offset);
  offset = fields.writeUInt32LE(body.length, offset);
  createHash('sha256').update(body).digest().copy(fields, offset);
  const file = path.join(dir, fileName(entry.id));
  const temp = `${file}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writev([fields, headerChecksum(fields), body]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(dir);
}

function parseFile(data: Buffer, name: string): { header: { samples: number; timestampMs: number; bodyLength: number }; body: Buffer } {
  const magic = data.subarray(0, MAGIC.length);
  const version = magic.equals(MAGIC) ? 2 : magic.equals(MAGIC_V1) ? 1 : 0;
  const headerBytes = FIELDS_BYTES + (version === 2 ? HEADER_CHECKSUM_BYTES : 0);
  if (version === 0 || data.length < headerBytes) throw new BufferFileError(`${name}: not a remote_write buffer file (bad header)`);
  if (version === 2 && !headerChecksum(data.subarray(0, FIELDS_BYTES)).equals(data.subarray(FIELDS_BYTES, headerBytes))) {
    throw new BufferFileError(`${name}: header checksum mismatch`);
  }
  let offset = MAGIC.length;
  const samples = data.readUInt32LE(offset);
  const timestampMs = data.readDoubleLE((offset += 4));
  const bodyLength = data.readUInt32LE((offset += 8));
  const digest = data.subarray((offset += 4), offset + 32);
  const body = data.subarray(headerBytes);
  // A version 1 header is unchecked: its sample count is only believed with a body that checks out.
  const known = version === 2 ? samples : null;
  if (body.length !== bodyLength) throw new BufferFileError(`${name}: truncated (${body.length} of ${bodyLength} body bytes)`, known);
  if (!createHash('sha256').update(body).digest().equals(digest)) throw new BufferFileError(`${name}: checksum mismatch`, known);
  return { header: { samples, timestampMs, bodyLength }, body };
}
