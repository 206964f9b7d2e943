import { mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { redactConfig } from '../shared/config/redact.js';

export type { Logger };

/**
 * JSON lines on stderr (stdout is kept for --dry-run's exposition), or appended to `file`.
 * Secrets are wrapped in Secret, which serialises as "<secret>"; a `config` field is also
 * passed through redactConfig, which hides URL passwords and header values.
 */
export function createLogger(level: string, file: string | null): Logger {
  const destination = file === null ? pino.destination({ fd: 2, sync: true }) : pino.destination({ fd: openLogFile(file), sync: true });
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { config: redactConfig },
  }, destination);
}

/**
 * Logs tell who talks to what: a new log file is 0600, or 0640 in a setgid folder (one that hands
 * its group to new files, the usual way to let a log readers' group in). An existing file keeps
 * its mode: the agent never widens it.
 */
function openLogFile(file: string): number {
  const folder = path.dirname(file);
  mkdirSync(folder, { recursive: true, mode: 0o750 });
  const mode = (statSync(folder).mode & 0o2000) !== 0 ? 0o640 : 0o600;
  return openSync(file, 'a', mode);
}
