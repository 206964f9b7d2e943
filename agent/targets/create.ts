import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../log.js';
import { buildInfo } from '../version.js';
import { PushgatewayTarget } from './pushgateway.js';
import { RemoteWriteTarget } from './remoteWrite.js';
import type { PushTarget } from './target.js';

/** One target per configured push destination; each pushes and fails on its own. */
export function createTargets(config: Config, logger: Logger): PushTarget[] {
  const targets: PushTarget[] = [];
  if (config.push.pushgateway !== null) {
    targets.push(new PushgatewayTarget(config.push.pushgateway, { logger, version: buildInfo().version }));
  }
  if (config.push.remoteWrite !== null) {
    targets.push(new RemoteWriteTarget(config.push.remoteWrite, { logger, version: buildInfo().version }));
  }
  void config;
  void logger;
  return targets;
}
