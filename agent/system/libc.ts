import { createRequire } from 'node:module';

/**
 * The one module outside agent/readers/ that calls libc (the lint fence in eslint.config.js names
 * it): calls Node has no binding for, made by the agent's main thread (the buffer folder's flock,
 * the descriptor limit), and discovery's statx, whose Node binding allocates a Stats per call.
 * libc is loaded through koffi on first use, so an agent that never needs a call here never loads it.
 */

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;

class SystemCallError extends Error {
  readonly code = 'ESYSCALL';
  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

const RLIMIT_NOFILE = 7;

export interface FileLimit {
  soft: number;
  hard: number;
}

interface RlimitStruct {
  rlim_cur: number | bigint;
  rlim_max: number | bigint;
}

interface Bound {
  errno(): number;
  flock(fd: number, operation: number): number;
  getrlimit(resource: number, limit: [RlimitStruct]): number;
  setrlimit(resource: number, limit: RlimitStruct): number;
  mallopt(parameter: number, value: number): number;
  mallocTrim(pad: number): number;
  statx(dirfd: number, file: string, flags: number, mask: number, buffer: Buffer): number;
  poll(fds: Buffer, count: number, timeoutMs: number): number;
}

let bound: Bound | null = null;

function libc(): Bound {
  if (bound !== null) return bound;
  // koffi is CommonJS with a native addon; require keeps it out of the ESM graph until asked for.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const flock = lib.func('int flock(int fd, int operation)');
  // Named once for the prototypes below (struct rlimit: two rlim_t).
  koffi.struct('netns_exporter_rlimit', { rlim_cur: 'uint64', rlim_max: 'uint64' });
  const getrlimit = lib.func('int getrlimit(int resource, _Out_ netns_exporter_rlimit *rlim)');
  const setrlimit = lib.func('int setrlimit(int resource, const netns_exporter_rlimit *rlim)');
  const mallopt = lib.func('int mallopt(int param, int value)');
  const mallocTrim = lib.func('int malloc_trim(size_t pad)');
  const statx = lib.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)');
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  bound = {
    errno: () => koffi.errno(),
    flock: (fd, operation) => flock(fd, operation) as number,
    getrlimit: (resource, limit) => getrlimit(resource, limit) as number,
    setrlimit: (resource, limit) => setrlimit(resource, limit) as number,
    mallopt: (parameter, value) => mallopt(parameter, value) as number,
    mallocTrim: (pad) => mallocTrim(pad) as number,
    statx: (dirfd, file, flags, mask, buffer) => statx(dirfd, file, flags, mask, buffer) as number,
    poll: (fds, count, timeoutMs) => poll(fds, count, timeoutMs) as number,
  };
  return bound;
}

/**
 * flock(LOCK_EX | LOCK_NB) on an open file: true when this open file now holds the lock, false
 * when another open file (another process, or another open of the same file here) holds it. The
 * kernel releases it when the file is closed or the process ends however it ends (kill -9, OOM),
 * so a lock can never outlive its owner, whatever pid the next owner gets.
 */
export function tryLockExclusive(fd: number): boolean {
  const lib = libc();
  for (;;) {
    if (lib.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const errno = lib.errno();
    if (errno === EWOULDBLOCK) return false;
    if (errno !== EINTR) throw new SystemCallError(`flock failed: errno ${errno}`, errno);
  }
}

/** RLIMIT_NOFILE of this process, from getrlimit(2). */
export function getFileLimit(): FileLimit {
  const out: [RlimitStruct] = [{ rlim_cur: 0, rlim_max: 0 }];
  if (libc().getrlimit(RLIMIT_NOFILE, out) !== 0) throw new SystemCallError(`getrlimit(RLIMIT_NOFILE) failed: errno ${libc().errno()}`, libc().errno());
  return { soft: Number(out[0].rlim_cur), hard: Number(out[0].rlim_max) };
}

/** setrlimit(2) for RLIMIT_NOFILE; throws with the errno when the kernel refuses. */
export function setFileLimit(limit: FileLimit): void {
  if (libc().setrlimit(RLIMIT_NOFILE, { rlim_cur: limit.soft, rlim_max: limit.hard }) !== 0) {
    throw new SystemCallError(`setrlimit(RLIMIT_NOFILE, ${limit.soft}:${limit.hard}) failed: errno ${libc().errno()}`, libc().errno());
  }
}

/** mallopt's M_ARENA_MAX: the most malloc arenas glibc makes for the process's threads. */
const M_ARENA_MAX = -8;

/**
 * Caps glibc's malloc arenas at `count`. By default glibc gives threads up to 8 per core, and each
 * keeps the memory it once held: the reader threads, libuv's pool (gzip, file I/O) and V8's helpers
 * left tens of MB resident that no one used (the README's memory figures). Called at start, before
 * those threads allocate; false where it could not be set (another libc, koffi not loading).
 */
export function limitMallocArenas(count: number): boolean {
  try {
    return libc().mallopt(M_ARENA_MAX, count) === 1;
  } catch {
    return false;
  }
}

/**
 * Hands the pages of freed malloc memory back to the kernel (glibc's malloc_trim(0), every arena):
 * free() gives back only the top of a heap, so the holes a cycle's freed buffers leave between
 * blocks still in use stay resident (5–7 MB at 1,000 namespaces with a push target, the README's
 * memory figures). The agent calls it once a cycle, after the push; it takes 0.2–1 ms. True when
 * something was released; false when nothing was, or where it cannot be called (another libc).
 */
export function releaseFreedMemory(): boolean {
  try {
    return libc().mallocTrim(0) === 1;
  } catch {
    return false;
  }
}

/** What discovery asks of a listed file: stat(2) through links, four fields of it. */
export interface FileIdentity {
  dev: number;
  ino: number;
  isFile: boolean;
  size: number;
}

const AT_FDCWD = -100;
/** STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE: the fields asked for. */
const STATX_FIELDS = 0x1 | 0x2 | 0x100 | 0x200;
const STATX_BYTES = 256;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * statx(2) for discovery: one call per listed file each cycle, written into the caller's object,
 * where fs.statSync made a Stats with four Dates (about 1 KB for the main thread's young generation
 * per file, a sixth of what a steady cycle allocated at 1,000 namespaces). `dev` is composed as
 * glibc's makedev() does, as libuv fills st_dev, so it equals Stats#dev. Null where statx cannot be
 * bound (koffi not loading, a libc without it): callers then use fs.statSync.
 */
export function bindStatx(): ((file: string, into: FileIdentity) => boolean) | null {
  let lib: Bound;
  try {
    lib = libc();
  } catch {
    return null;
  }
  const buffer = Buffer.alloc(STATX_BYTES);
  return (file, into) => {
    if (lib.statx(AT_FDCWD, file, 0, STATX_FIELDS, buffer) !== 0) return false;
    const mode = buffer.readUInt16LE(28);
    // Two halves, not readBigUInt64LE: a BigInt is a heap object, which is what this avoids.
    into.ino = buffer.readUInt32LE(32) + buffer.readUInt32LE(36) * 2 ** 32;
    into.size = buffer.readUInt32LE(40) + buffer.readUInt32LE(44) * 2 ** 32;
    into.isFile = (mode & S_IFMT) === S_IFREG;
    into.dev = makedev(buffer.readUInt32LE(136), buffer.readUInt32LE(140));
    return true;
  };
}

const POLLPRI = 0x2;
const POLLERR = 0x8;
const POLLNVAL = 0x20;

/**
 * For an open /proc/<pid>/mountinfo: whether the mount table changed since the last call (or the
 * open), as poll(2) tells without blocking (POLLPRI and POLLERR; the kernel notes what it told,
 * per open file). Null where poll cannot be bound; a failing poll, or a descriptor no longer open,
 * answers true (changed).
 */
export function bindMountTableChanged(): ((fd: number) => boolean) | null {
  let lib: Bound;
  try {
    lib = libc();
  } catch {
    return null;
  }
  // struct pollfd: int fd, short events, short revents.
  const pollfd = Buffer.alloc(8);
  return (fd) => {
    pollfd.writeInt32LE(fd, 0);
    pollfd.writeInt16LE(POLLPRI, 4);
    pollfd.writeInt16LE(0, 6);
    if (lib.poll(pollfd, 1, 0) < 0) return true;
    return (pollfd.readInt16LE(6) & (POLLPRI | POLLERR | POLLNVAL)) !== 0;
  };
}

/** glibc's makedev(): the major and minor numbers' bits interleaved into a 64-bit device number. */
export function makedev(major: number, minor: number): number {
  return (major & 0xfff) * 2 ** 8 + (minor & 0xff) + Math.floor(minor / 2 ** 8) * 2 ** 20 + Math.floor(major / 2 ** 12) * 2 ** 44;
}
