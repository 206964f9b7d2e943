import type { Config } from './config/configTypes.js';
import { Secret } from './config/secret.js';
import { familiesKeepTable } from './metrics/families.js';
import { groupingUrl } from './pushgateway/url.js';

/**
 * The reload step: what a SIGHUP must do to turn the running config into the new one. Pure, so every
 * part's rule is tested on two configs; agent/reload.ts carries the actions out.
 *
 * Plugging a part in: name its action in RELOAD_RULES with the rule saying when the part must be
 * rebuilt, and give the action its handler in agent/reload.ts (the compiler asks for it).
 */
const RELOAD_RULES = {
  /** Push targets are rebuilt from their whole config; hostname reaches them as grouping `instance` and external label. */
  'rebuild-targets': (old: Config, next: Config) => !sameValue(old.push, next.push),
  'replace-reader': (old: Config, next: Config) => !sameValue(readerInputs(old), readerInputs(next)),
  /**
   * The listeners' web config file (re-read on every SIGHUP anyway) and the /healthz exemption;
   * before rebind-listeners, so a listener started by the reload starts with the new file's TLS.
   */
  'apply-web-config': (old: Config, next: Config) => old.webConfigFile !== next.webConfigFile || old.health.allowUnauthenticated !== next.health.allowUnauthenticated,
  'rebind-listeners': (old: Config, next: Config) => !sameValue(listenerSpecs(old), listenerSpecs(next)),
  'set-log-level': (old: Config, next: Config) => old.logLevel !== next.logLevel,
  /** The families' series keep their label sets between cycles: a change in what those are made of needs new ones. */
  'rebuild-series': (old: Config, next: Config) => !familiesKeepTable(old, next),
} satisfies Record<string, (old: Config, next: Config) => boolean>;

export type ReloadAction = keyof typeof RELOAD_RULES;

/** Keys read once at start: a reload cannot apply them, so the log names them. */
const RESTART_RULES: { key: string; changed: (old: Config, next: Config) => boolean }[] = [
  // The random delay before the first cycle: there is no first cycle after a reload.
  { key: 'splay', changed: (old, next) => old.splayMs !== next.splayMs },
];

export interface ReloadPlan {
  actions: ReloadAction[];
  /**
   * The Pushgateway group this node pushed to, when the new config pushes elsewhere (another
   * hostname, job, grouping or gateway) or not at all: left there, it would stay at its last values
   * for ever. `delete` follows delete_on_shutdown (of the new config, else of the old).
   */
  oldGroup: { url: URL; delete: boolean } | null;
  /** Config keys that changed and take effect only at the next start. */
  restart: string[];
}

export function planReload(old: Config, next: Config): ReloadPlan {
  const actions = (Object.keys(RELOAD_RULES) as ReloadAction[]).filter((action) => RELOAD_RULES[action](old, next));
  return {
    actions,
    oldGroup: movedGroup(old, next),
    restart: RESTART_RULES.filter((rule) => rule.changed(old, next)).map((rule) => rule.key),
  };
}

function movedGroup(old: Config, next: Config): ReloadPlan['oldGroup'] {
  const before = old.push.pushgateway;
  if (before === null) return null;
  const after = next.push.pushgateway;
  const url = groupingUrl(before.url, before.job, before.grouping);
  if (after !== null && groupingUrl(after.url, after.job, after.grouping).href === url.href) return null;
  return { url, delete: (after ?? before).deleteOnShutdown };
}

/** What a reader is built from (agent/readers/create.ts). */
function readerInputs(config: Config): unknown {
  return [config.reader, config.threads, config.readTimeoutMs, config.procMetrics, config.collectors];
}

/** One HTTP listener of the agent: the role names the config key it comes from. */
export interface ListenerSpec {
  role: 'api_server' | 'health.listen';
  host: string;
  port: number;
  requestTimeoutMs: number;
  /** Where /metrics is served; null on the health-only listener. */
  metricsPath: string | null;
}

/** The listeners a config asks for: health.listen on the api_server's own address shares it. */
export function listenerSpecs(config: Config): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  const api = config.apiServer;
  if (api.enabled) {
    specs.push({ role: 'api_server', host: api.address, port: api.port, requestTimeoutMs: api.requestTimeoutMs, metricsPath: api.telemetryPath });
  }
  const listen = config.health.listen;
  if (listen !== null && !(api.enabled && listen.host === api.address && listen.port === api.port)) {
    specs.push({ role: 'health.listen', host: listen.host, port: listen.port, requestTimeoutMs: 10_000, metricsPath: null });
  }
  return specs;
}

/**
 * Deep equality for parsed config values: URLs by their text, patterns by source and flags, secrets
 * by file (a rotated file is the target's own business) or by value.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof URL || b instanceof URL) return a instanceof URL && b instanceof URL && a.href === b.href;
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  if (a instanceof Secret || b instanceof Secret) {
    return a instanceof Secret && b instanceof Secret && a.file === b.file && (a.file !== null || a.reveal() === b.reveal());
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
