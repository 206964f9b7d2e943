import { pino, type Logger } from 'pino';
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
 * Secrets are wrapped in Secret, which serialises as "<secret>", so nothing here needs redaction.
 */
export function createLogger(level: string, file: string | null, format: LogFormat | null = null): LogOutput {
  const destination = file === null ? pino.destination({ fd: 2, sync: true }) : pino.destination({ dest: file, mkdir: true, sync: true });
  const text = (format ?? (file === null && process.stderr.isTTY ? 'text' : 'json')) === 'text';
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, text ? textDestination(destination) : destination);
  return {
    logger,
    reopen: () => {
      if (file !== null) destination.reopen();
    },
  };
}
