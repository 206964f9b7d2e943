import path from 'node:path';
import { DEFAULT_INTERFACE_STATS, INTERFACE_STATS, isInterfaceStat, type InterfaceStat } from '../interfaceStats.js';
import {
  ConfigIssues, describe, isObject, join, MAX_TIMER_MS, readBoolean, readDuration, readEnum, readObject,
  readOptionalString, readLabelValue, readLabelValueMap, readPositiveInteger, readRegex, readString, readStringList,
  type RawObject,
} from './fields.js';
import { readHttpClient } from './httpClientConfig.js';
import { LABEL_PRESETS } from './presets.js';
import { FIXED_LABEL_NAMES, PROCESS_LABEL_NAMES } from './metricLabels.js';
import type {
  ApiServerConfig, CollectorsConfig, Config, ConfigEnvironment, HealthConfig, LabelsConfig, NameFilter, NamespaceLabelRule, ProcMetricConfig,
  PushgatewayConfig, RemoteWriteConfig,
} from './configTypes.js';

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

const TOP_LEVEL_KEYS = [
  'interface_metrics', 'proc_metrics', 'collectors', 'namespaces_filter', 'device_filter', 'threads', 'api_server',
  'netns_dirs', 'interval', 'read_timeout', 'reader', 'labels', 'hostname', 'push', 'health', 'splay',
  'jitter', 'self_metrics', 'log_level', 'web_config_file',
] as const;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_PART = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_INTERVAL_MS = 15_000;
/** Like the original, loopback is left out unless device_filter is configured. */
const DEFAULT_DEVICE_FILTER = { whitelist: null, blacklist: /^lo$/u };
const DEFAULT_API_SERVER = { address: '127.0.0.1', port: 8080, telemetryPath: '/metrics' };

/** Environment variables that override a top-level key (documented in the config reference). */
export const ENV_OVERRIDES: Record<string, string[]> = {
  NETNS_EXPORTER_INTERVAL: ['interval'],
  NETNS_EXPORTER_THREADS: ['threads'],
  NETNS_EXPORTER_READER: ['reader'],
  NETNS_EXPORTER_LOG_LEVEL: ['log_level'],
  NETNS_EXPORTER_HOSTNAME: ['hostname'],
  NETNS_EXPORTER_PUSHGATEWAY_URL: ['push', 'pushgateway', 'url'],
  NETNS_EXPORTER_REMOTE_WRITE_URL: ['push', 'remote_write', 'url'],
};

export function parseConfig(raw: unknown, environment: ConfigEnvironment): ConfigResult {
  const issues = new ConfigIssues();
  const root = readObject(applyEnvOverrides(raw, environment.env), '', TOP_LEVEL_KEYS, issues);
  const hostname = readLabelValue(root.hostname, 'hostname', environment.hostname, issues);
  const intervalMs = readDuration(root.interval, 'interval', DEFAULT_INTERVAL_MS, issues);
  const push = readPush(root.push, hostname, environment, issues);
  const pushConfigured = push.pushgateway !== null || push.remoteWrite !== null;
  const config: Config = {
    interfaceMetrics: readInterfaceMetrics(root.interface_metrics, issues),
    procMetrics: readProcMetrics(root.proc_metrics, issues),
    collectors: readCollectors(root.collectors, issues),
    namespacesFilter: readFilter(root.namespaces_filter, 'namespaces_filter', issues),
    deviceFilter: root.device_filter === undefined ? DEFAULT_DEVICE_FILTER : readFilter(root.device_filter, 'device_filter', issues),
    threads: readPositiveInteger(root.threads, 'threads', 4, issues, 1024),
    apiServer: readApiServer(root.api_server, pushConfigured, issues),
    netnsDirs: readNetnsDirs(root.netns_dirs, issues),
    intervalMs,
    readTimeoutMs: readDuration(root.read_timeout, 'read_timeout', defaultReadTimeoutMs(intervalMs), issues),
    reader: readEnum(root.reader, 'reader', ['auto', 'nsenter', 'setns'] as const, 'auto', issues),
    labels: readLabels(root.labels, issues),
    hostname,
    push,
    health: readHealth(root.health, intervalMs, issues),
    splayMs: readDuration(root.splay, 'splay', 0, issues, true),
    jitterMs: readDuration(root.jitter, 'jitter', 0, issues, true),
    selfMetrics: readSelfMetrics(root.self_metrics, issues),
    logLevel: readEnum(root.log_level, 'log_level', LOG_LEVELS, 'info', issues),
    webConfigFile: readOptionalString(root.web_config_file, 'web_config_file', issues) || null,
  };
  if (config.webConfigFile !== null && !path.isAbsolute(config.webConfigFile)) issues.add('web_config_file', 'must be an absolute path');
  if (config.readTimeoutMs > config.intervalMs) {
    issues.add('read_timeout', `must not exceed interval (${config.intervalMs} ms)`);
  }
  if (config.push.pushgateway !== null) checkGroupingLabels(config, config.push.pushgateway, root.labels, issues);
  if (config.intervalMs + config.jitterMs > MAX_TIMER_MS) {
    issues.add('jitter', `interval plus jitter must be at most 24d (${MAX_TIMER_MS} ms, the longest a timer can wait)`);
  }
  return issues.list.length > 0 ? { ok: false, errors: namingEnvOverrides(issues.list, environment.env) } : { ok: true, config };
}

/**
 * An error in a value that came from an environment variable names the variable as well as the
 * key: the operator looks for the mistake in the unit's Environment= or the container's -e, not in
 * the file.
 */
function namingEnvOverrides(errors: readonly string[], env: Record<string, string | undefined>): string[] {
  const overridden = Object.entries(ENV_OVERRIDES)
    .filter(([variable]) => env[variable] !== undefined && env[variable] !== '')
    .map(([variable, keyPath]) => ({ variable, key: keyPath.join('.') }));
  return errors.map((error) => {
    const source = overridden.find(({ key }) => error.startsWith(`${key}: `) || error.startsWith(`${key}.`));
    return source === undefined ? error : `${source.key} (from ${source.variable})${error.slice(source.key.length)}`;
  });
}

/**
 * 5 s, or half a short interval: the default must never be what makes a valid interval invalid,
 * and a hung read then still leaves the push half the interval.
 */
function defaultReadTimeoutMs(intervalMs: number): number {
  return Math.min(5_000, intervalMs / 2);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

function applyEnvOverrides(raw: unknown, env: Record<string, string | undefined>): unknown {
  if (!isObject(raw) && raw !== undefined && raw !== null) return raw;
  const copy: RawObject = structuredClone((raw ?? {}) as RawObject);
  for (const [variable, keyPath] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    let target = copy;
    for (const key of keyPath.slice(0, -1)) {
      if (!isObject(target[key])) target[key] = {};
      target = target[key] as RawObject;
    }
    target[keyPath[keyPath.length - 1]!] = value;
  }
  return copy;
}

function readInterfaceMetrics(value: unknown, issues: ConfigIssues): InterfaceStat[] {
  const names = readStringList(value, 'interface_metrics', DEFAULT_INTERFACE_STATS, issues);
  const stats: InterfaceStat[] = [];
  names.forEach((name, index) => {
    if (!isInterfaceStat(name)) {
      issues.add(`interface_metrics[${index}]`, `unknown statistic ${JSON.stringify(name)} (known: ${INTERFACE_STATS.join(', ')})`);
    } else if (!stats.includes(name)) {
      stats.push(name);
    }
  });
  return stats;
}

function readProcMetrics(value: unknown, issues: ConfigIssues): ProcMetricConfig[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value)) {
    issues.add('proc_metrics', `expected a mapping of metric names to {file: ...}, got ${describe(value)}`);
    return [];
  }
  const metrics: ProcMetricConfig[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const at = join('proc_metrics', name);
    if (!METRIC_NAME_PART.test(name)) issues.add(at, 'metric name must match [a-zA-Z_][a-zA-Z0-9_]*');
    const fields = readObject(entry, at, ['file', 'type'], issues);
    const file = readProcPath(fields.file, join(at, 'file'), issues);
    const type = readEnum(fields.type, join(at, 'type'), ['counter', 'gauge'] as const, 'counter', issues);
    if (file !== null) metrics.push({ name, file, type });
  }
  return metrics;
}

/** node_exporter's default `--collector.netstat.fields`. */
export const DEFAULT_NETSTAT_FIELDS = '^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)'
  + '|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)'
  + '|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)'
  + '|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$';

/**
 * Conntrack is on by default: a full table drops a router's traffic silently, and it adds two
 * gauges and eight counters per namespace. netstat (~40 series with the default fields) and
 * sockstat (~14) would double or triple a typical namespace's series, so they are opt-in.
 */

const DEFAULT_COLLECTORS_ENABLED = { netstat: false, sockstat: false, conntrack: true } as const;

function readCollectors(value: unknown, issues: ConfigIssues): CollectorsConfig {
  const fields = readObject(value, 'collectors', ['netstat', 'sockstat', 'conntrack'], issues);
  const netstat = readObject(fields.netstat, 'collectors.netstat', ['enabled', 'fields'], issues);
  const enabled = (raw: unknown, name: keyof CollectorsConfig): boolean =>
    readBoolean(raw, `collectors.${name}.enabled`, DEFAULT_COLLECTORS_ENABLED[name], issues);
  if (netstat.fields === '') issues.add('collectors.netstat.fields', 'must not be empty (".*" writes every field)');
  return {
    netstat: {
      enabled: enabled(netstat.enabled, 'netstat'),
      fields: readRegex(netstat.fields, 'collectors.netstat.fields', issues) ?? new RegExp(DEFAULT_NETSTAT_FIELDS, 'u'),
    },
    sockstat: { enabled: enabled(readObject(fields.sockstat, 'collectors.sockstat', ['enabled'], issues).enabled, 'sockstat') },
    conntrack: { enabled: enabled(readObject(fields.conntrack, 'collectors.conntrack', ['enabled'], issues).enabled, 'conntrack') },
  };
}

/**
 * Proc paths are relative to /proc (as in the original); "/proc/x" is accepted. Only files under
 * /proc/sys/ and /proc/net/ are what the feature is for: elsewhere /proc holds links out of it
 * (self/root, <pid>/cwd, <pid>/fd) and root-only files (kcore, environ) no metric should export.
 */
function readProcPath(value: unknown, at: string, issues: ConfigIssues): string | null {
  const raw = readOptionalString(value, at, issues);
  if (raw === null || raw.trim() === '') {
    issues.add(at, `required: ${PROC_PATH_RULE}`);
    return null;
  }
  const relative = raw.startsWith('/proc/') ? raw.slice('/proc/'.length) : raw;
  if (path.posix.isAbsolute(relative) || relative.split('/').includes('..')) {
    issues.add(at, `path ${JSON.stringify(raw)} escapes /proc`);
    return null;
  }
  const normalised = path.posix.normalize(relative);
  if (!/^(?:sys|net)\/[^/]/.test(normalised) || /[\u0000-\u001f]/.test(normalised)) {
    issues.add(at, `${PROC_PATH_RULE}, got ${JSON.stringify(raw)}`);
    return null;
  }
  return normalised;
}

const PROC_PATH_RULE = 'must be a file under /proc/sys/ or /proc/net/ (such as sys/net/netfilter/nf_conntrack_count)';

function readFilter(value: unknown, at: string, issues: ConfigIssues): NameFilter {
  const fields = readObject(value, at, ['whitelist_pattern', 'blacklist_pattern'], issues);
  return {
    whitelist: readRegex(fields.whitelist_pattern, join(at, 'whitelist_pattern'), issues),
    blacklist: readRegex(fields.blacklist_pattern, join(at, 'blacklist_pattern'), issues),
  };
}

function readApiServer(value: unknown, pushConfigured: boolean, issues: ConfigIssues): ApiServerConfig {
  const fields = readObject(value, 'api_server', ['server_address', 'server_port', 'telemetry_path', 'request_timeout', 'enabled'], issues);
  const explicit = value !== undefined && value !== null;
  const telemetryPath = readString(fields.telemetry_path, 'api_server.telemetry_path', DEFAULT_API_SERVER.telemetryPath, issues);
  if (!telemetryPath.startsWith('/')) issues.add('api_server.telemetry_path', 'must start with "/"');
  if (telemetryPath === '/healthz') issues.add('api_server.telemetry_path', '"/healthz" is the health endpoint');
  return {
    enabled: readBoolean(fields.enabled, 'api_server.enabled', explicit || !pushConfigured, issues),
    address: readString(fields.server_address, 'api_server.server_address', DEFAULT_API_SERVER.address, issues),
    port: readPort(fields.server_port, 'api_server.server_port', DEFAULT_API_SERVER.port, issues),
    telemetryPath,
    requestTimeoutMs: readDuration(fields.request_timeout, 'api_server.request_timeout', 10_000, issues),
  };
}

function readPort(value: unknown, at: string, fallback: number, issues: ConfigIssues): number {
  if (value === 0 || value === '0') return 0;
  return readPositiveInteger(value, at, fallback, issues, 65535);
}

function readNetnsDirs(value: unknown, issues: ConfigIssues): string[] {
  const dirs = readStringList(value, 'netns_dirs', ['/run/netns'], issues);
  dirs.forEach((dir, index) => {
    if (!path.isAbsolute(dir)) issues.add(`netns_dirs[${index}]`, `must be an absolute path, got ${JSON.stringify(dir)}`);
  });
  if (dirs.length === 0) issues.add('netns_dirs', 'must name at least one folder');
  return dirs;
}

function readLabels(value: unknown, issues: ConfigIssues): LabelsConfig {
  const fields = readObject(value, 'labels', ['preset', 'hostname', 'device_ip', 'from_namespace'], issues);
  const presetName = readEnum(fields.preset, 'labels.preset', Object.keys(LABEL_PRESETS) as (keyof typeof LABEL_PRESETS)[], 'general', issues);
  const preset = LABEL_PRESETS[presetName];
  const labels: LabelsConfig = {
    hostname: readLabelName(fields.hostname, 'labels.hostname', preset.hostname, issues),
    deviceIp: readLabelName(fields.device_ip, 'labels.device_ip', preset.deviceIp, issues),
    fromNamespace: fields.from_namespace === undefined
      ? preset.fromNamespace.map((rule) => ({ ...rule }))
      : readNamespaceRules(fields.from_namespace, issues),
  };
  const names = [labels.hostname, labels.deviceIp, ...labels.fromNamespace.map((rule) => rule.label)].filter((n) => n !== null);
  for (const name of names) {
    if (['netns', 'device', 'operstate', 'address', 'link_type'].includes(name)) {
      issues.add('labels', `label ${JSON.stringify(name)} is already used by the exporter`);
    }
  }
  return labels;
}

/** `false`/null turns a label off; a string names it. */
function readLabelName(value: unknown, at: string, fallback: string | null, issues: ConfigIssues): string | null {
  if (value === undefined) return fallback;
  if (value === false || value === null) return null;
  if (value === true) return fallback ?? null;
  const name = readString(value, at, '', issues);
  if (!LABEL_NAME.test(name) || name.startsWith('__')) {
    issues.add(at, `invalid label name ${JSON.stringify(name)}`);
    return null;
  }
  return name;
}

function readNamespaceRules(value: unknown, issues: ConfigIssues): NamespaceLabelRule[] {
  if (value === null) return [];
  if (!Array.isArray(value)) {
    issues.add('labels.from_namespace', `expected a list of {label, regex, replacement}, got ${describe(value)}`);
    return [];
  }
  const rules: NamespaceLabelRule[] = [];
  value.forEach((entry, index) => {
    const at = `labels.from_namespace[${index}]`;
    const fields = readObject(entry, at, ['label', 'regex', 'replacement'], issues);
    const label = readLabelName(fields.label, join(at, 'label'), null, issues);
    const regex = readRegex(fields.regex, join(at, 'regex'), issues);
    if (label === null) issues.add(join(at, 'label'), 'required');
    if (regex === null) issues.add(join(at, 'regex'), 'required');
    const replacement = readLabelValue(fields.replacement, join(at, 'replacement'), '$1', issues);
    if (label !== null && regex !== null) rules.push({ label, regex, replacement });
  });
  return rules;
}

function readPush(value: unknown, hostname: string, environment: ConfigEnvironment, issues: ConfigIssues) {
  const fields = readObject(value, 'push', ['pushgateway', 'remote_write'], issues);
  return {
    pushgateway: fields.pushgateway == null ? null : readPushgateway(fields.pushgateway, hostname, environment, issues),
    remoteWrite: fields.remote_write == null ? null : readRemoteWrite(fields.remote_write, hostname, environment, issues),
  };
}

const HTTP_CLIENT_KEYS = ['url', 'timeout', 'max_retry_after', 'basic_auth', 'bearer_token', 'bearer_token_file', 'bearer_token_env', 'tls_config', 'proxy_url', 'headers'];

function readPushgateway(value: unknown, hostname: string, environment: ConfigEnvironment, issues: ConfigIssues): PushgatewayConfig {
  const at = 'push.pushgateway';
  const fields = readObject(value, at, [...HTTP_CLIENT_KEYS, 'job', 'grouping', 'method', 'delete_on_shutdown', 'gzip'], issues);
  const job = readLabelValue(fields.job, join(at, 'job'), 'netns_exporter', issues);
  if (job === '') issues.add(join(at, 'job'), 'must not be empty');
  const grouping = { instance: hostname, ...readLabelValueMap(fields.grouping, join(at, 'grouping'), issues) };
  for (const name of Object.keys(grouping)) {
    if (!LABEL_NAME.test(name) || name === 'job' || name.startsWith('__')) {
      issues.add(join(at, `grouping.${name}`), 'invalid grouping label name (job is set by push.pushgateway.job)');
    }
  }
  return {
    ...readHttpClient(fields, at, environment, issues),
    job,
    grouping,
    method: readEnum(fields.method, join(at, 'method'), ['put', 'post'] as const, 'put', issues),
    deleteOnShutdown: readBoolean(fields.delete_on_shutdown, join(at, 'delete_on_shutdown'), false, issues),
    gzip: readBoolean(fields.gzip, join(at, 'gzip'), true, issues),
  };
}

function readRemoteWrite(value: unknown, hostname: string, environment: ConfigEnvironment, issues: ConfigIssues): RemoteWriteConfig {
  const at = 'push.remote_write';
  const fields = readObject(value, at, [
    ...HTTP_CLIENT_KEYS, 'external_labels', 'max_samples_per_send', 'buffer', 'min_backoff', 'max_backoff', 'send_metadata',
  ], issues);
  const externalLabels = fields.external_labels === undefined
    ? { instance: hostname }
    : readLabelValueMap(fields.external_labels, join(at, 'external_labels'), issues);
  for (const name of Object.keys(externalLabels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) issues.add(join(at, `external_labels.${name}`), 'invalid label name');
  }
  const buffer = readObject(fields.buffer, join(at, 'buffer'), ['max_samples', 'dir', 'max_bytes'], issues);
  const dir = readOptionalString(buffer.dir, join(at, 'buffer.dir'), issues);
  if (dir !== null && !path.isAbsolute(dir)) issues.add(join(at, 'buffer.dir'), 'must be an absolute path');
  const minBackoffMs = readDuration(fields.min_backoff, join(at, 'min_backoff'), 30, issues);
  const maxBackoffMs = readDuration(fields.max_backoff, join(at, 'max_backoff'), 5_000, issues);
  if (maxBackoffMs < minBackoffMs) issues.add(join(at, 'max_backoff'), 'must not be below min_backoff');
  return {
    ...readHttpClient(fields, at, environment, issues),
    externalLabels,
    // vmagent's block size, not Prometheus' 2,000: an agent sends a whole cycle at once, and each
    // request costs ~1 ms of CPU in the HTTP client whatever its size (1,000 namespaces: 3, not 15).
    maxSamplesPerSend: readPositiveInteger(fields.max_samples_per_send, join(at, 'max_samples_per_send'), 10_000, issues),
    buffer: {
      maxSamples: readPositiveInteger(buffer.max_samples, join(at, 'buffer.max_samples'), 1_000_000, issues),
      dir,
      maxBytes: readPositiveInteger(buffer.max_bytes, join(at, 'buffer.max_bytes'), 256 * 1024 * 1024, issues),
    },
    minBackoffMs,
    maxBackoffMs,
    sendMetadata: readBoolean(fields.send_metadata, join(at, 'send_metadata'), true, issues),
  };
}

/**
 * The Pushgateway refuses (400, every push) a group whose metrics carry a label of its grouping key,
 * and puts its own `job` and `instance` over the metrics' values: both are config errors. A label the
 * config adds that clashes with `job` or `instance` names the label's key; any other clash names
 * the grouping key.
 */
function checkGroupingLabels(config: Config, pushgateway: PushgatewayConfig, rawLabels: unknown, issues: ConfigIssues): void {
  const explicit = isObject(rawLabels) ? rawLabels : {};
  const preset = (key: string) => (explicit[key] === undefined ? 'labels.preset' : `labels.${key}`);
  const configured: { at: string; name: string }[] = [
    ...(config.labels.hostname === null ? [] : [{ at: preset('hostname'), name: config.labels.hostname }]),
    ...(config.labels.deviceIp === null ? [] : [{ at: preset('device_ip'), name: config.labels.deviceIp }]),
    ...config.labels.fromNamespace.map((rule, index) => ({
      at: explicit.from_namespace === undefined ? 'labels.preset' : `labels.from_namespace[${index}].label`, name: rule.label,
    })),
  ];
  for (const { at, name } of configured) {
    if (name === 'job' || name === 'instance') {
      issues.add(at, `${JSON.stringify(name)} is part of the Pushgateway's grouping key, which would overwrite it in every series; choose another label name`);
    }
  }
  const carried = new Set([...FIXED_LABEL_NAMES, ...(config.selfMetrics.process ? PROCESS_LABEL_NAMES : []), ...configured.map((label) => label.name)]);
  for (const name of Object.keys(pushgateway.grouping)) {
    if (name === 'instance' || !carried.has(name)) continue;
    issues.add(join('push.pushgateway', `grouping.${name}`), `the metrics carry a ${JSON.stringify(name)} label; a grouping label must not be one of them (the Pushgateway answers every push with 400)`);
  }
}

function readHealth(value: unknown, intervalMs: number, issues: ConfigIssues): HealthConfig {
  const fields = readObject(value, 'health', ['listen', 'max_age', 'max_failed_ratio', 'allow_unauthenticated'], issues);
  const listen = readOptionalString(fields.listen, 'health.listen', issues);
  return {
    listen: listen === null ? null : readListenAddress(listen, 'health.listen', issues),
    maxAgeMs: readDuration(fields.max_age, 'health.max_age', 3 * intervalMs, issues),
    maxFailedRatio: readRatio(fields.max_failed_ratio, 'health.max_failed_ratio', DEFAULT_MAX_FAILED_RATIO, issues),
    allowUnauthenticated: readBoolean(fields.allow_unauthenticated, 'health.allow_unauthenticated', false, issues),
  };
}

/**
 * More than half the namespaces failing makes the node unhealthy: below that the data is partial
 * and netns_exporter_read_errors_total is the better alert; above it, the node mostly collects
 * nothing, which a restart or an operator must see. Namespaces deleted during their read never count.
 */
const DEFAULT_MAX_FAILED_RATIO = 0.5;

function readRatio(value: unknown, at: string, fallback: number, issues: ConfigIssues): number {
  if (value === undefined || value === null) return fallback;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !(number >= 0 && number <= 1)) {
    issues.add(at, `expected a share from 0 to 1 such as 0.5, got ${describe(value)}`);
    return fallback;
  }
  return number;
}

/** "host:port", "[::1]:port" or ":port" (all addresses). */
function readListenAddress(text: string, at: string, issues: ConfigIssues): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    issues.add(at, `expected "host:port" such as "0.0.0.0:9465", got ${JSON.stringify(text)}`);
    return null;
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function readSelfMetrics(value: unknown, issues: ConfigIssues) {
  const fields = readObject(value, 'self_metrics', ['process'], issues);
  return { process: readBoolean(fields.process, 'self_metrics.process', true, issues) };
}
