import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../log.js';
import type { PushTarget } from './target.js';

/** One target per configured push destination; each pushes and fails on its own. */
export function createTargets(config: Config, logger: Logger): PushTarget[] {
  const targets: PushTarget[] = [];
  // push.pushgateway → PushgatewayTarget (agent/targets/pushgateway.ts)
  // push.remote_write → RemoteWriteTarget (agent/targets/remoteWrite.ts)
  void config;
  void logger;
  return targets;
}
