import { constants, readFileSync } from 'node:fs';
import type { CollectorFileRead, CollectorFilesRaw } from '../../shared/snapshot.js';
import { NotRegularFileError, readRegularFile } from '../regularFile.js';

/**
 * A proc file is opened without following a link in its last part (O_NOFOLLOW) and without waiting
 * (O_NONBLOCK: a FIFO would block the open until a writer came), and read only when it is a regular
 * file: a FIFO or a device could hold the thread in the kernel, where nothing can end it.
 */
export const PROC_OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A collector file whole, opened as proc_metrics files are; null when it does not exist (the module is not loaded, IPv6 is off). */
function readWholeFile(file: string): CollectorFileRead {
  try {
    return readRegularFile(file, PROC_OPEN_FLAGS, (fd) => readFileSync(fd, 'utf8'));
  } catch (error) {
    if (error instanceof NotRegularFileError) return { error: error.message };
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (syscall === 'open') return code === 'ENOENT' ? null : { error: `cannot open: ${code}` };
    return { error: `cannot read: ${code ?? (error as Error).message}` };
  }
}

/** How long host-wide collector files read once serve the reads that follow: far less than a cycle. */
const HOST_WIDE_MAX_AGE_MS = 1_000;

/**
 * The host-wide collector files (those a collector declares `hostWide`), read in the
 * caller's own namespace at most once a second instead of in every namespace: each lookup under
 * /proc/sys/net/netfilter costs ~150 µs on a host with many namespaces. Synchronous, like the read
 * it replaces; `read` must run where the caller's namespace is its own (the setns worker calls
 * this only at home, before a batch).
 */
export class HostWideFiles {
  readonly #files: readonly string[];
  readonly #path: (file: string) => string;
  #raw: CollectorFilesRaw = {};
  #readAt = -Infinity;

  constructor(files: readonly string[], path: (file: string) => string) {
    this.#files = files;
    this.#path = path;
  }

  current(now = performance.now()): CollectorFilesRaw {
    if (this.#files.length > 0 && now - this.#readAt >= HOST_WIDE_MAX_AGE_MS) {
      this.#raw = Object.fromEntries(this.#files.map((file) => [file, readWholeFile(this.#path(file))]));
      this.#readAt = now;
    }
    return this.#raw;
  }
}
