import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../log.js';
import { NsenterReader } from './nsenter.js';
import type { NamespaceReader } from './reader.js';

/** The configured reader; nsenter is the default the design names. */
export async function createReader(config: Config, logger: Logger): Promise<NamespaceReader> {
  const nsenter = new NsenterReader({ timeoutMs: config.readTimeoutMs, procMetrics: config.procMetrics });
  // reader: setns → SetnsReader (agent/readers/setns.ts), falling back to nsenter when it cannot load.
  void logger;
  return nsenter;
}
