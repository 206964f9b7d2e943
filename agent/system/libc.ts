import { createRequire } from 'node:module';

/**
 * The one module outside agent/readers/ that calls libc (the lint fence in eslint.config.js names
 * it): calls Node has no binding for, made by the agent's main thread. libc is loaded through
 * koffi on first use, so an agent that never needs a call here never loads it.
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

interface Bound {
  errno(): number;
  flock(fd: number, operation: number): number;
}

let bound: Bound | null = null;

function libc(): Bound {
  if (bound !== null) return bound;
  // koffi is CommonJS with a native addon; require keeps it out of the ESM graph until asked for.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const flock = lib.func('int flock(int fd, int operation)');
  bound = { errno: () => koffi.errno(), flock: (fd, operation) => flock(fd, operation) as number };
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
