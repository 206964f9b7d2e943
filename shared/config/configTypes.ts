import type { InterfaceStat } from '../interfaceStats.js';
import type { Secret } from './secret.js';

export interface NameFilter {
  whitelist: RegExp | null;
  blacklist: RegExp | null;
}

export interface ProcMetricConfig {
  name: string;
  /** Path relative to /proc, as in the original (`sys/net/netfilter/nf_conntrack_count`). */
  file: string;
  type: 'counter' | 'gauge';
}

/** A label whose value is taken from the namespace name (e.g. `router` from `qrouter-<uuid>`). */
export interface NamespaceLabelRule {
  label: string;
  regex: RegExp;
  /** `$1`-style replacement applied to the match; the label is omitted when the regex does not match. */
  replacement: string;
}

export interface LabelsConfig {
  /** Label name carrying the host name, or null for none. */
  hostname: string | null;
  /** Label name carrying the interface's first address, or null for none. */
  deviceIp: string | null;
  fromNamespace: NamespaceLabelRule[];
}

export interface ApiServerConfig {
  /** Served when configured explicitly, or when no push target is (the original's pull mode). */
  enabled: boolean;
  address: string;
  port: number;
  telemetryPath: string;
  requestTimeoutMs: number;
}

export interface TlsConfig {
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  serverName: string | null;
  insecureSkipVerify: boolean;
}

export interface BasicAuth {
  username: string;
  password: Secret;
}

/** What every HTTP push target shares: Prometheus' http_config conventions. */
export interface HttpClientConfig {
  url: URL;
  timeoutMs: number;
  /** Longest wait a server's Retry-After is honoured for. */
  maxRetryAfterMs: number;
  basicAuth: BasicAuth | null;
  bearerToken: Secret | null;
  tls: TlsConfig;
  /** Explicit proxy; when null, HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment apply. */
  proxyUrl: URL | null;
  headers: Record<string, string>;
}

export interface PushgatewayConfig extends HttpClientConfig {
  job: string;
  /** Grouping key labels after `job`; always holds `instance`. */
  grouping: Record<string, string>;
  method: 'put' | 'post';
  deleteOnShutdown: boolean;
  gzip: boolean;
}

interface RemoteWriteBufferConfig {
  maxSamples: number;
  /** With a folder, unsent batches are kept on disk and survive a restart. */
  dir: string | null;
  maxBytes: number;
}

export interface RemoteWriteConfig extends HttpClientConfig {
  externalLabels: Record<string, string>;
  maxSamplesPerSend: number;
  buffer: RemoteWriteBufferConfig;
  minBackoffMs: number;
  maxBackoffMs: number;
  sendMetadata: boolean;
}

export interface HealthConfig {
  /** Own listener for /healthz; null serves /healthz on the api_server only (when that runs). */
  listen: { host: string; port: number } | null;
  maxAgeMs: number;
  /** Unhealthy when more than this share of the namespaces found failed (vanished ones aside). */
  maxFailedRatio: number;
  /** GET /healthz needs no basic-auth credentials even when the web config sets basic_auth_users. */
  allowUnauthenticated: boolean;
}

/** The per-namespace collectors beyond interfaces (issue 14); each reads a few /proc files. */
export interface CollectorsConfig {
  /** /proc/net/snmp, netstat and snmp6; `fields` picks the `Protocol_Field` names written. */
  netstat: { enabled: boolean; fields: RegExp };
  /** /proc/net/sockstat and sockstat6. */
  sockstat: { enabled: boolean };
  /** nf_conntrack_count, nf_conntrack_max and /proc/net/stat/nf_conntrack. */
  conntrack: { enabled: boolean };
}

export interface Config {
  interfaceMetrics: InterfaceStat[];
  procMetrics: ProcMetricConfig[];
  collectors: CollectorsConfig;
  namespacesFilter: NameFilter;
  deviceFilter: NameFilter;
  threads: number;
  apiServer: ApiServerConfig;
  netnsDirs: string[];
  intervalMs: number;
  readTimeoutMs: number;
  /** auto: setns once a self-test at start proves it on the host, else nsenter. */
  reader: 'auto' | 'nsenter' | 'setns';
  labels: LabelsConfig;
  hostname: string;
  push: {
    pushgateway: PushgatewayConfig | null;
    remoteWrite: RemoteWriteConfig | null;
  };
  health: HealthConfig;
  /** Random delay before the first cycle, at most this long, so a fleet does not push in step. */
  splayMs: number;
  /** Each cycle starts up to this much later than the interval says. */
  jitterMs: number;
  selfMetrics: { process: boolean };
  logLevel: string;
  /** The exporter-toolkit web config securing the listeners (TLS, basic auth); null: none. */
  webConfigFile: string | null;
}

/** What validation may consult besides the YAML: injected so the schema stays pure and testable. */
export interface ConfigEnvironment {
  hostname: string;
  env: Record<string, string | undefined>;
  /** Reads a secret file (password_file, bearer_token_file); throws when it cannot. */
  readFile: (file: string) => string;
  /** Throws when a TLS file (ca_file, cert_file, key_file) cannot be opened for reading; absent, none is checked. */
  checkFile?: (file: string) => void;
}
