import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { familiesFromValues } from '../../shared/metrics/familyTable.js';
import { cycleExposition } from '../../shared/metrics/exposition.js';
import { pino } from 'pino';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import type { Logger } from '../../agent/log.js';
import type { CycleOutput, PushTarget } from '../../agent/targets/target.js';
import type { RemoteWriteConfig } from '../../shared/config/configTypes.js';
import { decodeWriteRequest } from '../../shared/remoteWrite/decode.js';
import { REMOTE_WRITE_METRICS } from '../../shared/remoteWrite/metrics.js';
import type { Label } from '../../shared/remoteWrite/series.js';
import { configFrom } from './config.js';
import { snapshotOf } from './samples.js';
import { startServer, type RunningServer } from './servers.js';

/** A validated push.remote_write section, defaults filled as the agent would. */
export function remoteWriteConfig(url: string, section: Record<string, unknown> = {}): RemoteWriteConfig {
  const config = configFrom({ push: { remote_write: { url, ...section } } }).push.remoteWrite;
  if (config === null) throw new Error('remote_write config missing');
  return config;
}

/** A logger whose lines the test can read. */
export function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** A synthetic cycle: one gauge per (series label, value), at `timestampMs`. */
export function syntheticCycle(timestampMs: number, metric: string, values: Record<string, number>): CycleOutput {
  const families = familiesFromValues([{
    name: metric, help: 'test series', type: 'gauge', labelNames: ['series'],
    values: Object.entries(values).map(([series, value]) => ({ labels: { series }, value })),
  }]);
  return { snapshot: snapshotOf([], timestampMs), registry: cycleExposition(families), families };
}

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: Buffer;
  atMs: number;
}

/**
 * A loopback receiver whose answer the test scripts: `respond` gets the request number (from 1)
 * and writes the response, or leaves it hanging to simulate a stalled receiver.
 */
export async function faultServer(respond: (index: number, res: ServerResponse) => void): Promise<{ url: string; requests: ReceivedRequest[]; close: () => Promise<void> }> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks), atMs: Date.now() });
      respond(requests.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The samples of a received request, decoded: `labels as {name: value}` and values. */
export function decodeBody(body: Buffer) {
  return decodeWriteRequest(snappy.uncompress(body)).timeseries.map((series) => ({
    labels: Object.fromEntries(series.labels.map((label) => [label.name, label.value])),
    samples: series.samples,
  }));
}

interface PromResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** An instant query against a real Prometheus; throws on an API error. */
export async function promQuery(baseUrl: string, query: string, timeMs?: number, headers: Record<string, string> = {}): Promise<PromResult[]> {
  const params = new URLSearchParams({ query });
  if (timeMs !== undefined) params.set('time', String(timeMs / 1000));
  const response = await fetch(`${baseUrl}/api/v1/query?${params}`, { headers });
  const json = (await response.json()) as { status: string; error?: string; data: { result: PromResult[] } };
  if (json.status !== 'success') throw new Error(`query ${query} failed: ${json.error}`);
  return json.data.result;
}

/** Every raw sample of the series `selector` in the last 10 minutes before `timeMs`: [timestampMs, value]. */
export async function rawSamples(baseUrl: string, selector: string, timeMs: number, headers: Record<string, string> = {}): Promise<Map<string, [number, number][]>> {
  const result = await promQuery(baseUrl, `${selector}[10m]`, timeMs, headers);
  return new Map(result.map((series) => [
    series.metric.series ?? JSON.stringify(series.metric),
    (series.values ?? []).map(([at, value]) => [Math.round(at * 1000), Number(value)] as [number, number]),
  ]));
}

/** PromQL string literal: backslash and double quote escaped. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Debian's VictoriaMetrics, a second remote_write receiver, storage in a temporary folder. */
export function startVictoriaMetrics(): Promise<RunningServer> {
  return startServer(
    'victoria-metrics',
    (port, dir) => [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dir}`,
      // Recent samples are hidden from queries by default (30 s); tests query what they just wrote.
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=ERROR',
    ],
    { readyPath: '/health', label: 'victoria-metrics' },
  );
}

/** A remote_write target's figures as its self-metrics show them (all 0 for another target). */
export function remoteWriteFigures(target: PushTarget): { samples: number; sentSamples: number; rejectedSamples: number; tooLargeSamples: number } {
  const metrics = target.selfMetrics();
  const value = (name: string, labels: Record<string, string> = {}) => metrics.find((metric) => metric.spec.name === name)?.values
    .find((entry) => Object.entries(labels).every(([key, wanted]) => entry.labels[key] === wanted))?.value ?? 0;
  const M = REMOTE_WRITE_METRICS;
  return {
    samples: value(M.bufferedSamples.name),
    sentSamples: value(M.samplesSent.name),
    rejectedSamples: value(M.samplesDropped.name, { reason: 'rejected' }),
    tooLargeSamples: value(M.samplesDropped.name, { reason: 'too_large' }),
  };
}

/** Sorted by name (byte order, as Go compares), empty values dropped, one label per name. */
export function normaliseLabels(labels: Readonly<Record<string, string>>): Label[] {
  return Object.entries(labels)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The spec's own schema (prompb), parsed from .proto text by protobufjs' parser: a decoder and
 * encoder independent of the agent's hand-written one. Sample.value is `double` here.
 */
export const SPEC_WRITE_REQUEST = protobuf.parse(`
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
`).root.lookupType('prometheus.WriteRequest');
