import { constants } from 'node:fs';
import { open, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { tryLockExclusive } from '../system/libc.js';

const LOCK_FILE = '.lock';
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Another live process (or another owner in this one) holds the folder. */
class BufferLockedError extends Error {
  override readonly name = 'BufferLockedError';
  readonly code = 'EBUFFERLOCKED';
}

/**
 * One writer per folder. The kernel decides who holds it: an flock on `.lock`, which ends with its
 * process however that ends, so a lock left by a kill -9 is free even when the next start gets the
 * same pid (a container's pid 2). The pid written into the file is only information for the error
 * a second agent gets; a `.lock` nobody holds an flock on (one left by 0.1.0) never blocks.
 */
export class FolderLock {
  private constructor(readonly file: string, readonly handle: FileHandle, readonly inode: number) {}

  static async acquire(dir: string): Promise<FolderLock> {
    const file = path.join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      // Held open read-only (flock needs no more): a file open for writing would keep an operator
      // from remounting the folder read-only, and a read-only folder still takes the lock.
      // A read-only folder without a lock file cannot get one: the folder itself is locked then.
      const handle = await open(file, constants.O_RDONLY | constants.O_CREAT, 0o600)
        .catch((error: NodeJS.ErrnoException) => (READ_ONLY_CODES.has(error.code ?? '') ? open(dir, constants.O_RDONLY | constants.O_DIRECTORY) : Promise.reject(error)));
      const locked = (await handle.stat()).isDirectory() ? dir : file;
      let held = false;
      try {
        if (!tryLockExclusive(handle.fd)) {
          const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
          const who = Number.isInteger(owner) && owner > 0 ? `process ${owner}${owner === process.pid ? ' (this one)' : ''}` : 'another process';
          throw new BufferLockedError(`in use by ${who}: one agent per buffer folder (lock file ${file})`);
        }
        // The owner before us removes the file on release: a lock on a removed file guards nothing.
        const inode = (await handle.stat()).ino;
        if ((await stat(locked).catch(() => null))?.ino !== inode) continue;
        // Only information for a second agent's error; a read-only folder goes without it.
        await writeFile(file, `${process.pid}\n`).catch(() => undefined);
        held = true;
        return new FolderLock(locked, handle, inode);
      } finally {
        if (!held) await handle.close();
      }
    }
    throw new BufferLockedError(`lock file ${file} keeps being replaced: another agent is starting on this folder`);
  }

  /** False when the lock file (or its folder) was removed or replaced behind our back. */
  async intact(): Promise<boolean> {
    return (await stat(this.file).catch(() => null))?.ino === this.inode;
  }

  /** Removes the file while still holding it (so no one locks a name about to vanish), then lets go. */
  async release(): Promise<void> {
    if (path.basename(this.file) === LOCK_FILE && await this.intact()) await unlink(this.file).catch(() => undefined);
    await this.handle.close();
  }
}
