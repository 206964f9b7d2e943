import { parseDuration } from './duration.js';

/**
 * A tiny schema walker: each reader takes a raw YAML value and its dotted path, returns the typed
 * value (or a fallback), and records `path: reason` for every problem so all are reported at once.
 */
export class ConfigIssues {
  readonly list: string[] = [];
  add(path: string, reason: string): void {
    this.list.push(`${path}: ${reason}`);
  }
}

export type RawObject = Record<string, unknown>;

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a mapping and reports keys it does not know (typos are the commonest config bug). */
export function readObject(
  value: unknown,
  path: string,
  known: readonly string[],
  issues: ConfigIssues,
): RawObject {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    issues.add(path, `expected a mapping, got ${describe(value)}`);
    return {};
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) issues.add(join(path, key), `unknown key (known: ${known.join(', ')})`);
  }
  return value;
}

export function readString(value: unknown, path: string, fallback: string, issues: ConfigIssues): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  issues.add(path, `expected a string, got ${describe(value)}`);
  return fallback;
}

/** Label values come from the config (hostname, grouping, external_labels): a sane length, checked. */
const MAX_LABEL_VALUE_LENGTH = 1024;

export function readLabelValue(value: unknown, path: string, fallback: string, issues: ConfigIssues): string {
  const text = readString(value, path, fallback, issues);
  if (text.length <= MAX_LABEL_VALUE_LENGTH) return text;
  issues.add(path, `longer than ${MAX_LABEL_VALUE_LENGTH} characters (${text.length}); label values are limited to ${MAX_LABEL_VALUE_LENGTH}`);
  return fallback;
}

/** A mapping of label names to label values, each value bounded as readLabelValue does. */
export function readLabelValueMap(value: unknown, path: string, issues: ConfigIssues): Record<string, string> {
  const map = readStringMap(value, path, issues);
  for (const [name, text] of Object.entries(map)) map[name] = readLabelValue(text, join(path, name), '', issues);
  return map;
}

export function readOptionalString(value: unknown, path: string, issues: ConfigIssues): string | null {
  if (value === undefined || value === null) return null;
  return readString(value, path, '', issues);
}

export function readBoolean(value: unknown, path: string, fallback: boolean, issues: ConfigIssues): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  issues.add(path, `expected true or false, got ${describe(value)}`);
  return fallback;
}

export function readPositiveInteger(
  value: unknown,
  path: string,
  fallback: number,
  issues: ConfigIssues,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined || value === null) return fallback;
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number <= 0 || number > max) {
    issues.add(path, `expected a whole number from 1 to ${max}, got ${describe(value)}`);
    return fallback;
  }
  return number;
}

/**
 * The longest delay a Node timer holds (2^31-1 ms, 24.8 days): above it setTimeout fires after 1 ms,
 * so an interval or a timeout past it would run back to back instead of waiting.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration ("15s", "1m", "500ms" or seconds); `allowZero` for delays such as splay. */
export function readDuration(
  value: unknown,
  path: string,
  fallbackMs: number,
  issues: ConfigIssues,
  allowZero = false,
): number {
  if (value === undefined || value === null) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === null || ms < 0 || (!allowZero && ms === 0)) {
    const expected = allowZero ? 'a duration of 0 or more' : 'a positive duration';
    issues.add(path, `expected ${expected} such as "15s", "500ms" or "1m", got ${describe(value)}`);
    return fallbackMs;
  }
  if (ms > MAX_TIMER_MS) {
    issues.add(path, `at most 24d (${MAX_TIMER_MS} ms, the longest a timer can wait), got ${describe(value)}`);
    return fallbackMs;
  }
  return ms;
}

export function readRegex(value: unknown, path: string, issues: ConfigIssues): RegExp | null {
  const source = readOptionalString(value, path, issues);
  if (source === null || source === '') return null;
  try {
    return new RegExp(source, 'u');
  } catch (error) {
    issues.add(path, `invalid regular expression: ${(error as Error).message}`);
    return null;
  }
}

export function readStringList(
  value: unknown,
  path: string,
  fallback: readonly string[],
  issues: ConfigIssues,
): string[] {
  if (value === undefined || value === null) return [...fallback];
  if (!Array.isArray(value)) {
    issues.add(path, `expected a list, got ${describe(value)}`);
    return [...fallback];
  }
  return value.map((item, index) => readString(item, `${path}[${index}]`, '', issues));
}

/** A mapping of string to string (headers, labels). */
export function readStringMap(value: unknown, path: string, issues: ConfigIssues): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    issues.add(path, `expected a mapping of names to strings, got ${describe(value)}`);
    return {};
  }
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) result[key] = readString(item, join(path, key), '', issues);
  return result;
}

export function readEnum<T extends string>(
  value: unknown,
  path: string,
  allowed: readonly T[],
  fallback: T,
  issues: ConfigIssues,
): T {
  if (value === undefined || value === null) return fallback;
  const text = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof text === 'string' && (allowed as readonly string[]).includes(text)) return text as T;
  issues.add(path, `expected one of ${allowed.join(', ')}, got ${describe(value)}`);
  return fallback;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
