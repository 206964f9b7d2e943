import { execFileSync } from 'node:child_process';

/**
 * Real namespaces for tests, named with a per-process prefix so parallel runs never collide, and
 * removed at exit even when a test throws (the exit hook runs synchronously).
 */
export const TEST_PREFIX = `nxt${process.pid}-`;
const created = new Set<string>();
const createdLinks = new Set<string>();

export function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function addNamespace(suffix: string): string {
  const name = `${TEST_PREFIX}${suffix}`;
  sh('ip', ['netns', 'add', name]);
  created.add(name);
  // No IPv6 autoconfiguration chatter (router solicitations, MLD): counters move only with the
  // traffic a test sends, so they can be compared with the kernel's after the fact.
  for (const scope of ['all', 'default']) inNs(name, ['sysctl', '-q', '-w', `net.ipv6.conf.${scope}.disable_ipv6=1`]);
  return name;
}

export function deleteNamespace(name: string): void {
  try {
    sh('ip', ['netns', 'delete', name]);
  } catch {
    // already gone
  }
  created.delete(name);
}

/**
 * Many bare namespaces at once (`ip -batch`: 1,000 in well under a second), for collections that
 * must take real time. No sysctl tuning: nothing is sent in them. Returns their names.
 */
export function addBareNamespaces(tag: string, count: number): string[] {
  const names = Array.from({ length: count }, (_, index) => `${TEST_PREFIX}${tag}-${String(index).padStart(5, '0')}`);
  execFileSync('ip', ['-batch', '-'], { input: names.map((name) => `netns add ${name}\n`).join(''), stdio: ['pipe', 'ignore', 'pipe'] });
  for (const name of names) created.add(name);
  return names;
}

/** A veth pair with one end in each namespace (either may be null: the host). Names ≤ 15 chars. */
export function addVeth(a: { ns: string | null; dev: string }, b: { ns: string | null; dev: string }): void {
  sh('ip', ['link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev]);
  createdLinks.add(a.dev);
  for (const end of [a, b]) if (end.ns !== null) sh('ip', ['link', 'set', end.dev, 'netns', end.ns]);
}

export function inNs(ns: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, ...args]);
}

/** The kernel's own counter, read as the issue asks: ip netns exec NS cat /sys/class/net/DEV/statistics/X. */
export function kernelStat(ns: string, device: string, stat: string): number {
  return Number(inNs(ns, ['cat', `/sys/class/net/${device}/statistics/${stat}`]).trim());
}

export function cleanupNamespaces(): void {
  // One batch for plain names, not a process per namespace: a test may have made a thousand. ip's
  // batch syntax would split odd names (spaces, quotes), so those go one by one. -force goes on
  // past one that is already gone.
  const plain = [...created].filter((name) => /^[\w.-]+$/.test(name));
  if (plain.length > 0) {
    try {
      execFileSync('ip', ['-force', '-batch', '-'], { input: plain.map((name) => `netns delete ${name}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      // some were already gone; the rest were deleted
    }
  }
  for (const name of [...created].filter((name) => !plain.includes(name))) deleteNamespace(name);
  created.clear();
  for (const link of createdLinks) {
    try {
      sh('ip', ['link', 'delete', link]);
    } catch {
      // moved into a namespace that is gone now, or already deleted
    }
  }
  createdLinks.clear();
}

process.on('exit', cleanupNamespaces);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanupNamespaces();
    process.exit(130);
  });
}
