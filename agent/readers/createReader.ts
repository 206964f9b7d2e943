import type { Config } from '../../shared/config/configTypes.js';
import { discoverNamespaces } from '../discover.js';
import type { Logger } from '../log.js';
import { availableParallelism } from 'node:os';
import { AutoReader } from './auto.js';
import { NsenterReader } from './nsenter.js';
import type { NamespaceReader } from './reader.js';

/** The configured reader; `auto` (the default) proves setns on the host before it uses it. */
export async function createReader(config: Config, logger: Logger, procRoot = '/proc'): Promise<NamespaceReader> {
  const nsenter = () => new NsenterReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics, collectors: config.collectors, threads: config.threads });
  if (config.reader === 'nsenter') return nsenter();
  // A worker reads one namespace at a time on its own CPU; more workers than cores only queue. The
  // fallback keeps its own bound of `threads`.
  const workers = Math.min(config.threads, availableParallelism());
  if (config.reader === 'auto') {
    // The namespaces this agent would read: the self-test proves the reader on one of them.
    const candidates = async () => (await discoverNamespaces({ netnsDirs: config.netnsDirs, filter: config.namespacesFilter, procRoot })).namespaces;
    return new AutoReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics, collectors: config.collectors, threads: config.threads, workers, logger, candidates });
  }
  // Loaded only when chosen: koffi and the worker code cost start-up time nobody else should pay.
  const { SetnsReader } = await import('./setns.js');
  return new SetnsReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics, collectors: config.collectors, fallback: nsenter(), logger, workers });
}
