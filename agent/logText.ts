/**
 * The human log format: one line per event, `time LEVEL message key=value …`, made from the JSON
 * line pino wrote, so both formats carry the same fields. A few lines of our own instead of
 * pino-pretty and its dependency tree: this is all an operator at a terminal needs.
 *
 *   2026-11-25T10:00:00.000Z INFO  listening address=127.0.0.1 port=8080
 *   2026-11-25T10:00:15.412Z WARN  namespace read failed netns=qrouter-1 reason=timeout error="no answer within 5000 ms"
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields every line has (shown first, unlabelled) or that say nothing to a reader (the pid). */
const FRAME = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export function formatLogLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVELS[record.level as number] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !FRAME.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [String(record.time ?? ''), level.padEnd(5), String(record.msg ?? ''), ...fields].join(' ').trimEnd() + '\n';
}

/** Bare when it cannot be misread (no spaces, quotes or `=`), else JSON-quoted; objects as JSON. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** A pino destination that writes the human format to `inner` (stderr or the log file). */
export function textDestination<T extends { write(text: string): unknown }>(inner: T): { write(line: string): void } {
  return {
    write(line: string): void {
      inner.write(formatLogLine(line.endsWith('\n') ? line.slice(0, -1) : line));
    },
  };
}
