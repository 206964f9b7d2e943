/**
 * Removes a password embedded in a URL before it is shown anywhere. Up to the last "@": a password
 * in a URL that failed to parse may hold "@" or ":" itself, and hiding too much is harmless.
 */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^/@:]*):.*@/s, '//$1:<secret>@');
}

/**
 * The config as it may be logged or printed. Secret values already print as "<secret>"; this also
 * hides a password inside any URL (url, proxy_url, an env override) and every header value (an API
 * key travels in a header as often as not), and shows patterns by their source.
 */
export function redactConfig(config: unknown): unknown {
  return JSON.parse(JSON.stringify(config, function redact(this: unknown, key: string, value: unknown) {
    if (value instanceof RegExp) return value.source;
    if (typeof value === 'string') return redactUrl(value);
    if (key === 'headers' && typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.keys(value).map((name) => [name, '<secret>']));
    }
    return value;
  })) as unknown;
}
