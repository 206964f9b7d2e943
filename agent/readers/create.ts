import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../log.js';
import { availableParallelism } from 'node:os';
import { NsenterReader } from './nsenter.js';
import type { NamespaceReader } from './reader.js';

/** The configured reader; nsenter is the default the design names. */
export async function createReader(config: Config, logger: Logger): Promise<NamespaceReader> {
  const nsenter = new NsenterReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics, collectors: config.collectors, threads: config.threads });
  if (config.reader === 'nsenter') return nsenter;
  // A worker reads one namespace at a time on its own CPU; more workers than cores only queue. The
  // fallback keeps its own bound of `threads`.
  const workers = Math.min(config.threads, availableParallelism());
  // Loaded only when chosen: koffi and the worker code cost start-up time nobody else should pay.
  const { SetnsReader } = await import('./setns.js');
  return new SetnsReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics, collectors: config.collectors, fallback: nsenter, logger, workers });
}
