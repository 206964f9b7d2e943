import type { Config } from '../../shared/config/configTypes.js';
import type { Logger } from '../log.js';
import { buildInfo } from '../version.js';
import type { PushTarget } from './target.js';

/**
 * One target per configured push destination; each pushes and fails on its own. Each target's
 * module (got, hpagent, protobufjs, snappy) is loaded only when configured: a pull-only agent or a
 * --dry-run does not wait for modules it never uses. `previous` are the running targets when a
 * reload rebuilds them.
 */
export async function createTargets(config: Config, logger: Logger, previous: readonly PushTarget[] = []): Promise<PushTarget[]> {
  const targets: PushTarget[] = [];
  const version = buildInfo().version;
  if (config.push.pushgateway !== null) {
    const { PushgatewayTarget } = await import('./pushgateway.js');
    targets.push(new PushgatewayTarget(config.push.pushgateway, { logger, version }));
  }
  if (config.push.remoteWrite !== null) {
    const { RemoteWriteTarget } = await import('./remoteWrite.js');
    // On SIGHUP the running target hands its buffer (and its folder's lock) to the new one.
    const predecessor = previous.find((target): target is InstanceType<typeof RemoteWriteTarget> => target instanceof RemoteWriteTarget);
    targets.push(new RemoteWriteTarget(config.push.remoteWrite, { logger, version, ...(predecessor ? { predecessor } : {}) }));
  }
  return targets;
}
