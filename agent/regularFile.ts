import { closeSync, fstatSync, openSync, type Stats } from 'node:fs';

/** What readRegularFile throws for a path that is a FIFO, a device, a folder or a socket. */
export class NotRegularFileError extends Error {
  constructor() {
    super('not a regular file');
  }
}

/**
 * Opens `file` with `flags` and hands the descriptor to `read` only when it is a regular file: a
 * FIFO or a device could hold the thread in the kernel, where nothing can end it. `flags` should
 * hold O_NONBLOCK, or opening a FIFO would wait for a writer before fstat could refuse it. The
 * descriptor is closed whatever happens; open(2)'s errors are thrown as they come (`syscall: 'open'`).
 */
export function readRegularFile<T>(file: string, flags: number, read: (fd: number, stats: Stats) => T): T {
  const { fd, stats } = openRegularFile(file, flags);
  try {
    return read(fd, stats);
  } finally {
    closeSync(fd);
  }
}

/**
 * The same guard for a descriptor kept open (the setns reader holds a namespace's files between
 * cycles): the caller closes it. Not a regular file: closed here, NotRegularFileError thrown.
 */
export function openRegularFile(file: string, flags: number): { fd: number; stats: Stats } {
  const fd = openSync(file, flags);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotRegularFileError();
    return { fd, stats };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
