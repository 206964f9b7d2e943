import { isIP } from 'node:net';

/**
 * Which proxy a request to `target` goes through when the config names none: the conventions of
 * Go's net/http (what Prometheus and the Pushgateway's own clients follow), because operators set
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY once for the whole host. Pure, so it is tested on literals.
 *
 * - https targets use HTTPS_PROXY, http targets HTTP_PROXY (upper case wins over lower case);
 * - NO_PROXY is a comma list of `*`, host names (matching sub-domains too, with or without a leading
 *   dot), IP addresses, CIDR blocks (IPv4), each optionally with `:port`;
 * - as in Go, `localhost` and loopback addresses never go through an environment proxy: a local
 *   gateway must keep working on a host whose HTTPS_PROXY points at the corporate egress.
 */
export function proxyFromEnvironment(target: URL, env: Record<string, string | undefined>): URL | null {
  const name = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = pick(env, name);
  if (value === undefined) return null;
  const host = hostOf(target);
  if (host === 'localhost' || isLoopback(host)) return null;
  if (bypassesProxy(target, pick(env, 'NO_PROXY') ?? '')) return null;
  try {
    // Go accepts "proxy:3128" without a scheme and means http.
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new Error(`${name} is not a valid proxy URL`);
  }
}

/** True when NO_PROXY (`noProxy`) exempts `target`. */
export function bypassesProxy(target: URL, noProxy: string): boolean {
  const host = hostOf(target);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const { entryHost, entryPort } = splitEntry(entry);
    if (entryPort !== null && entryPort !== port) continue;
    if (entryHost.includes('/')) {
      if (inCidr(host, entryHost)) return true;
      continue;
    }
    const bare = entryHost.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

function pick(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name] ?? env[name.toLowerCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function splitEntry(entry: string): { entryHost: string; entryPort: string | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { entryHost: bracketed[1]!, entryPort: bracketed[2] ?? null };
  if (isIP(entry) === 6 || entry.includes('/')) return { entryHost: entry, entryPort: null };
  const withPort = /^(.*):(\d+)$/.exec(entry);
  return withPort ? { entryHost: withPort[1]!, entryPort: withPort[2]! } : { entryHost: entry, entryPort: null };
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || base === undefined || isIP(base) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4(host) & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
}

function ipv4(address: string): number {
  return address.split('.').reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}
