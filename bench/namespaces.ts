import { execFile, execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';

/**
 * Namespaces for benchmarks, created and removed in bulk. Every name starts with `nxb<pid>-`, so
 * benchmarks running at the same time never touch each other's namespaces, and a whitelist on the
 * prefix keeps everyone else's out of the figures. Each namespace holds a veth pair whose two ends
 * are both inside it: nothing is ever left behind on the host when a namespace goes.
 */
export const BENCH_PREFIX = `nxb${process.pid}-`;

/** Where `ip netns add` puts the namespace files. */
export const NETNS_DIR = '/run/netns';

export interface BenchNamespace {
  name: string;
  path: string;
}

export interface NamespacePoolOptions {
  /** Told apart from other pools of the same process: names are `nxb<pid>-<tag>-<index>`. */
  tag: string;
  /**
   * Bring lo and the veth pair up and give the pair addresses, so `ip -j -s -s addr show` prints what
   * a real namespace would (addresses, link-local IPv6) instead of three bare DOWN devices. Costs one
   * `ip -n` process per namespace.
   */
  configure?: boolean;
  /** Namespaces configured at once. */
  concurrency?: number;
  ip?: string;
  /**
   * Put one end of each veth pair on the host, named `<hostEnds><index>` (15 bytes at most): it
   * lives exactly as long as the namespace does, so its disappearance says the kernel freed the
   * namespace (nothing kept it alive). Empty: both ends inside.
   */
  hostEnds?: string;
}

/** Every pool with namespaces still on the host, so an exit or a signal can remove them. */
const livePools = new Set<NamespacePool>();
let hooksInstalled = false;

/**
 * A growing set of bench namespaces: `grow(n)` tops it up to n (so 300 → 1000 → 3000 reuses the
 * first ones), `remove()` deletes them all. Creation runs through `ip -batch -`: one process for
 * hundreds of `netns add` and `link add` lines instead of one process each.
 */
export class NamespacePool {
  readonly prefix: string;
  readonly #options: Required<NamespacePoolOptions>;
  readonly #names: string[] = [];

  constructor(options: NamespacePoolOptions) {
    if (!/^[a-z0-9]+$/.test(options.tag)) throw new Error(`namespace pool tag must be [a-z0-9]+, got ${JSON.stringify(options.tag)}`);
    this.#options = { configure: true, concurrency: 4, ip: 'ip', hostEnds: '', ...options };
    if (`${this.#options.hostEnds}99999`.length > 15) throw new Error(`hostEnds ${JSON.stringify(options.hostEnds)} leaves no room for an index in a 15-byte device name`);
    if (this.#options.hostEnds !== '' && this.#options.configure) throw new Error('hostEnds: configure the namespaces yourself (veth0 is on the host)');
    this.prefix = `${BENCH_PREFIX}${options.tag}-`;
  }

  get size(): number {
    return this.#names.length;
  }

  get namespaces(): BenchNamespace[] {
    return this.#names.map((name) => ({ name, path: path.join(NETNS_DIR, name) }));
  }

  /** A `namespaces_filter.whitelist_pattern` that matches this pool's namespaces and nobody else's. */
  get whitelistPattern(): string {
    return `^${this.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
  }

  /** Creates namespaces until the pool holds `total`; returns them all. */
  async grow(total: number): Promise<BenchNamespace[]> {
    if (!Number.isInteger(total) || total < 0) throw new Error(`namespace count must be a whole number ≥ 0, got ${total}`);
    installExitHooks();
    livePools.add(this);
    const fresh: string[] = [];
    for (let index = this.#names.length; index < total; index += 1) fresh.push(`${this.prefix}${String(index).padStart(5, '0')}`);
    if (fresh.length === 0) return this.namespaces;
    // Recorded before the batch runs: if it fails half way, the exit hook still removes what it made.
    this.#names.push(...fresh);
    await runBatch(this.#options.ip, fresh.map((name) => `netns add ${name}`), false);
    // A separate batch: ip keeps its netlink socket in the namespace of the last `netns add`.
    // `up` on the peer makes this ip (6.1) fail with ENOTCONN, hence the configure step below.
    const first = this.#names.length - fresh.length;
    await runBatch(this.#options.ip, fresh.map((name, index) => (this.#options.hostEnds === ''
      ? `link add name veth0 netns ${name} type veth peer name veth1 netns ${name}`
      : `link add name ${this.hostEnd(first + index)} type veth peer name veth1 netns ${name}`)), false);
    if (this.#options.configure) {
      const limit = pLimit(this.#options.concurrency);
      await Promise.all(fresh.map((name) => limit(() => runBatch(this.#options.ip, CONFIGURE_LINES, false, ['-n', name]))));
    }
    return this.namespaces;
  }

  /** The host's end of the veth pair of the pool's `index`th namespace (with `hostEnds`). */
  hostEnd(index: number): string {
    return `${this.#options.hostEnds}${index}`;
  }

  /** Deletes every namespace of the pool (its veth pair goes with it). Never throws for one already gone. */
  async remove(): Promise<void> {
    const names = this.#names.splice(0);
    livePools.delete(this);
    if (names.length > 0) await runBatch(this.#options.ip, names.map((name) => `netns delete ${name}`), true);
  }

  /** The synchronous form, for the exit hook (no event loop left to await on). */
  removeSync(): void {
    const names = this.#names.splice(0);
    livePools.delete(this);
    if (names.length === 0) return;
    try {
      execFileSync(this.#options.ip, ['-force', '-batch', '-'], { input: names.map((name) => `netns delete ${name}`).join('\n'), stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      // some were gone already; -force carried on with the rest
    }
  }
}

/** Both namespaces of the pair see the same addresses: namespaces are isolated, so no clash. */
const CONFIGURE_LINES = [
  'link set lo up',
  'link set veth0 up',
  'link set veth1 up',
  'addr add 10.0.0.1/30 dev veth0',
  'addr add 10.0.0.2/30 dev veth1',
];

/** Runs a pool for the length of `work` and removes it afterwards, whatever happens. */
export async function withNamespaces<T>(options: NamespacePoolOptions, work: (pool: NamespacePool) => Promise<T>): Promise<T> {
  const pool = new NamespacePool(options);
  try {
    return await work(pool);
  } finally {
    await pool.remove();
  }
}

function runBatch(ip: string, lines: readonly string[], force: boolean, before: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [...before, ...(force ? ['-force'] : []), '-batch', '-'];
    const child = execFile(ip, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error === null || force) resolve();
      else reject(new Error(`ip ${args.join(' ')} failed (${lines.length} lines, first: ${JSON.stringify(lines[0])}): ${stderr.trim().split('\n').slice(0, 3).join(' | ') || error.message}`));
    });
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

function removeAllSync(): void {
  for (const pool of [...livePools]) pool.removeSync();
}

/**
 * Once per process: remove whatever is left at exit, and on SIGINT/SIGTERM (a benchmark stopped with
 * Ctrl-C would otherwise leave thousands of namespaces behind).
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', removeAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Namespaces of this process still on the host (for checks: none should be left after remove). */
export async function listOwnNamespaces(prefix = BENCH_PREFIX): Promise<string[]> {
  const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith(prefix)).sort();
}
