import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { PushgatewayTarget } from '../agent/targets/pushgateway.js';
import { parseConfig } from '../shared/config/schema.js';
import { cycleFamilies } from '../shared/metrics/families.js';
import { cycleExposition } from '../shared/metrics/exposition.js';
import { startPushgateway } from '../test/helpers/servers.js';
import { syntheticSnapshot } from '../test/helpers/snapshot.js';
import { fixed, formatTable } from './figures.js';

const NAMESPACES = 1000;
const DEVICES = 4;
const ROUNDS = 5;

/**
 * Pushgateway cost of a large node: 1000 namespaces × 4 devices (≈33k series with the default
 * statistics) built in memory, encoded (text format, gzip) and PUT to a real local gateway, with
 * and without gzip. The median of ROUNDS pushes each; the first round of each creates the group.
 */
export async function benchPushgateway(): Promise<string[]> {
  const config = benchConfig();
  const gateway = await startPushgateway(['--persistence.file=']);
  const lines: string[] = [];
  try {
    const names = Array.from({ length: NAMESPACES }, (_, index) => `qrouter-${index.toString(16).padStart(8, '0')}-5f6e-4c1a-9d2b-${(index * 7919).toString(16).padStart(12, '0')}`);
    const rows: string[][] = [];
    for (const gzip of [true, false]) {
      const target = new PushgatewayTarget(
        { ...config.push.pushgateway!, url: new URL(gateway.url), gzip },
        { logger: pino({ level: 'silent' }), version: 'bench' },
      );
      await target.start();
      const rounds: { buildMs: number; textMs: number; gzipMs: number; pushMs: number; bytes: number; textBytes: number; series: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const snapshot = syntheticSnapshot({ names, devices: DEVICES, offset: round * 10 });
        let started = performance.now();
        const registry = cycleExposition(cycleFamilies(snapshot, config, { version: 'bench', revision: '', nodeversion: process.version }, null));
        const buildMs = performance.now() - started;
        started = performance.now();
        const text = await registry.metrics();
        const textMs = performance.now() - started;
        started = performance.now();
        const sentBytes = gzip ? gzipSync(text).length : Buffer.byteLength(text);
        const gzipMs = performance.now() - started;
        const outcome = await target.push({ registry }, Date.now() + 30_000);
        if (!outcome.ok) throw new Error(`push failed: ${outcome.error}`);
        const series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
        rounds.push({ buildMs, textMs, gzipMs, pushMs: outcome.durationMs, bytes: sentBytes, textBytes: Buffer.byteLength(text), series });
      }
      await target.stop(Date.now() + 5_000);
      const median = (pick: (r: (typeof rounds)[number]) => number) => [...rounds.map(pick)].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
      rows.push([
        gzip ? 'gzip' : 'plain', String(rounds[0]!.series), fixed(median((r) => r.buildMs), 1), fixed(median((r) => r.textMs), 1), fixed(median((r) => r.gzipMs), 1),
        fixed(median((r) => r.pushMs - r.textMs - r.gzipMs), 1), fixed(rounds[0]!.pushMs, 1), fixed(median((r) => r.pushMs), 1), fixed(median((r) => r.buildMs + r.pushMs), 1),
        fixed(median((r) => r.textBytes) / 1024, 0), fixed(median((r) => r.bytes) / 1024, 0),
      ]);
    }
    lines.push(...formatTable(
      ['body', 'series', 'registry ms', 'text ms', 'gzip ms', '≈HTTP ms', '1st push ms', 'push ms', 'total ms', 'text KiB', 'sent KiB'],
      rows,
    ));
    lines.push(`${NAMESPACES} namespaces × ${DEVICES} devices, default statistics; median of ${ROUNDS} rounds (1st push creates the group)`);
    lines.push('push ms = the target\'s whole push: registry.metrics() + gzip (when on) + PUT to prometheus-pushgateway on loopback until it answers;');
    lines.push('≈HTTP ms = push − text − gzip (mostly the gateway parsing and storing the body); total = registry + push');
  } finally {
    await gateway.stop();
  }
  return lines;
}

function benchConfig() {
  const result = parseConfig(
    { hostname: 'bench-node', push: { pushgateway: { url: 'http://127.0.0.1:1' } } },
    { hostname: 'bench-node', env: {}, readFile: () => '' },
  );
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.config;
}
