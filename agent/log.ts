import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { redactConfig } from '../shared/config/redact.js';
import { textDestination } from './logText.js';

export type { Logger };

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOutput {
  logger: Logger;
  /** Reopens the log file by its name (after logrotate moved it); nothing to do on stderr. */
  reopen(): void;
}

/**
 * JSON lines on stderr (stdout is kept for --dry-run's exposition), or appended to `file`; or the
 * human format (agent/logText.ts). `format` null means text on a terminal (stderr is a TTY and no
 * file is named), JSON everywhere else: services, pipes, journald, log shippers.
 * Secrets are wrapped in Secret, which serialises as "<secret>"; a `config` field is also
 * passed through redactConfig, which hides URL passwords and header values.
 */
export function createLogger(level: string, file: string | null, format: LogFormat | null = null): LogOutput {
  const destination = file === null
    ? pino.destination({ fd: 2, sync: true })
    : pino.destination({ dest: file, mkdir: true, sync: true, mode: logFileMode(file) });
  const text = (format ?? (file === null && process.stderr.isTTY ? 'text' : 'json')) === 'text';
  const logger = pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { config: redactConfig },
  }, text ? textDestination(destination) : destination);
  return {
    logger,
    reopen: () => {
      if (file !== null) destination.reopen();
    },
  };
}

/**
 * Logs tell who talks to what: a new log file (also the one a reopen after logrotate creates) is
 * 0600, or 0640 in a setgid folder (one that hands its group to new files, the usual way to let a
 * log readers' group in). An existing file keeps its mode: the agent never widens it.
 */
function logFileMode(file: string): number {
  const folder = path.dirname(file);
  mkdirSync(folder, { recursive: true, mode: 0o750 });
  return (statSync(folder).mode & 0o2000) !== 0 ? 0o640 : 0o600;
}
