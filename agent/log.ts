import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stderr (stdout is kept for --dry-run's exposition), or appended to `file`.
 * Secrets are wrapped in Secret, which serialises as "<secret>", so nothing here needs redaction.
 */
export function createLogger(level: string, file: string | null): Logger {
  const destination = file === null ? pino.destination({ fd: 2, sync: true }) : pino.destination({ dest: file, mkdir: true, sync: true });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
