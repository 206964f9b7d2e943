import { readFileSync } from 'node:fs';
import { getFileLimit, setFileLimit, type FileLimit } from './libc.js';

/**
 * The kernel's default soft limit (INR_OPEN_CUR), which systemd also gives services: programs that
 * still use select(2) break past it, so the agent's children get it back.
 */
const SELECT_SAFE_LIMIT = 1024;

/** What the agent's own processes (nsenter, bash, ip) start with; null until raiseFileLimit ran. */
let forChildren: number | null = null;

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit: each namespace the setns reader keeps open holds
 * a socket and a few files. Node itself already raises it when it starts and keeps no record of the
 * limit it was given; then the children get SELECT_SAFE_LIMIT (or the hard limit, if lower).
 * Returns the limit in force afterwards. Never throws: the reader sizes itself by what it has.
 */
export function raiseFileLimit(procRoot = '/proc'): FileLimit | null {
  const before = readFileLimit(procRoot);
  if (before === null) return null;
  forChildren = before.soft < before.hard ? before.soft : Math.min(SELECT_SAFE_LIMIT, before.hard);
  // libc (koffi) only when there is something to raise: Node normally leaves nothing.
  if (before.soft >= before.hard) return before;
  try {
    setFileLimit({ soft: before.hard, hard: before.hard });
    return getFileLimit();
  } catch {
    return before;
  }
}

/** The soft limit the agent's child processes should run with; null when nothing was raised. */
export function childFileLimit(): number | null {
  return forChildren;
}

/** RLIMIT_NOFILE as /proc/self/limits shows it ("Max open files  1024  524288  files"). */
export function readFileLimit(procRoot = '/proc'): FileLimit | null {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/self/limits`, 'utf8');
  } catch {
    return null;
  }
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (match === null) return null;
  const value = (field: string) => (field === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(field));
  return { soft: value(match[1]!), hard: value(match[2]!) };
}
