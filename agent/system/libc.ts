import { createRequire } from 'node:module';

/**
 * The libc calls the agent makes outside its readers, bound with koffi on first use: a process that
 * never needs them never loads it. The lint fence names this file as the one FFI module outside
 * agent/readers/.
 */

const RLIMIT_NOFILE = 7;

export interface FileLimit {
  soft: number;
  hard: number;
}

interface Bound {
  getrlimit: (resource: number, limit: [FileLimitStruct]) => number;
  setrlimit: (resource: number, limit: FileLimitStruct) => number;
  errno: () => number;
}

interface FileLimitStruct {
  rlim_cur: number | bigint;
  rlim_max: number | bigint;
}

let bound: Bound | null = null;

function libc(): Bound {
  if (bound !== null) return bound;
  // koffi is CommonJS with a native addon; require keeps it out of the ESM graph until asked for.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  // Named once for the prototypes below (struct rlimit: two rlim_t).
  koffi.struct('netns_exporter_rlimit', { rlim_cur: 'uint64', rlim_max: 'uint64' });
  bound = {
    getrlimit: lib.func('int getrlimit(int resource, _Out_ netns_exporter_rlimit *rlim)') as Bound['getrlimit'],
    setrlimit: lib.func('int setrlimit(int resource, const netns_exporter_rlimit *rlim)') as Bound['setrlimit'],
    errno: () => koffi.errno(),
  };
  return bound;
}

/** RLIMIT_NOFILE of this process, from getrlimit(2). */
export function getFileLimit(): FileLimit {
  const out: [FileLimitStruct] = [{ rlim_cur: 0, rlim_max: 0 }];
  if (libc().getrlimit(RLIMIT_NOFILE, out) !== 0) throw new Error(`getrlimit(RLIMIT_NOFILE) failed: errno ${libc().errno()}`);
  return { soft: Number(out[0].rlim_cur), hard: Number(out[0].rlim_max) };
}

/** setrlimit(2) for RLIMIT_NOFILE; throws with the errno when the kernel refuses. */
export function setFileLimit(limit: FileLimit): void {
  if (libc().setrlimit(RLIMIT_NOFILE, { rlim_cur: limit.soft, rlim_max: limit.hard }) !== 0) {
    throw new Error(`setrlimit(RLIMIT_NOFILE, ${limit.soft}:${limit.hard}) failed: errno ${libc().errno()}`);
  }
}
