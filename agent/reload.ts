import type { Config } from '../shared/config/configTypes.js';
import { FamilyTable } from '../shared/metrics/familyTable.js';
import { listenerSpecs, planReload, type ReloadAction, type ReloadPlan } from '../shared/reloadPlan.js';
import { loadConfig, type LoadedConfig } from './config.js';
import type { Listeners } from './listeners.js';
import type { Logger } from './log.js';
import type { AgentLoop, AgentParts } from './loop.js';
import { Collection } from './collect.js';
import { readerOptions } from './readers/options.js';
import { createTargets } from './targets/createTargets.js';
import type { PushgatewayTarget } from './targets/pushgateway.js';
import type { PushTarget } from './targets/target.js';

/** Time the old targets get to stop, and the old group to be deleted. */
const RETIRE_MS = 5_000;

export interface ReloadDeps {
  loop: AgentLoop;
  listeners: Listeners;
  logger: Logger;
  /** Reads the config file again, with the command line's overrides. */
  load: () => LoadedConfig;
  /** Starts new targets (reads their TLS files); false, with the reason written, when one cannot. */
  startTargets: (targets: readonly PushTarget[]) => Promise<boolean>;
  /** Points the listeners' security layer at the new config's web config file and health exemption. */
  webConfig: (next: Config) => void;
}

/** What the handlers build up: the parts the loop takes next. */
interface ReloadWork {
  old: Config;
  next: Config;
  plan: ReloadPlan;
  parts: AgentParts;
}

/**
 * One handler per action of the reload step (shared/reloadPlan.ts); each changes `work.parts` or the
 * running agent. Returns false when the reload must stop with the running configuration kept.
 */
const HANDLERS: Record<ReloadAction, (work: ReloadWork, deps: ReloadDeps) => Promise<boolean>> = {
  'rebuild-targets': async (work, deps) => {
    const targets = await createTargets(work.next, deps.logger, deps.loop.targets);
    if (!(await deps.startTargets(targets))) {
      deps.logger.error('SIGHUP: new push targets cannot start; the running configuration stays');
      return false;
    }
    work.parts.targets = targets;
    return true;
  },
  'replace-reader': async (work, deps) => {
    // Started by its first cycle: reader auto takes its self-test on that cycle's namespaces.
    work.parts.collection = new Collection(work.next.reader, readerOptions(work.next, deps.logger));
    return true;
  },
  'rebind-listeners': async (work, deps) => {
    for (const problem of await deps.listeners.rebind(listenerSpecs(work.next))) deps.logger.error(`SIGHUP: ${problem}`);
    return true;
  },
  'apply-web-config': async (work, deps) => {
    deps.webConfig(work.next);
    return true;
  },
  'set-log-level': async (work, deps) => {
    deps.logger.level = work.next.logLevel;
    return true;
  },
  'rebuild-series': async (work) => {
    // The new table's series are sent anew; remote_write marks stale only the label sets that went.
    work.parts.families = new FamilyTable();
    return true;
  },
};

/**
 * Reloads the config file: refuses a bad one (the running config stays), carries out the reload
 * step's actions, hands the new parts to the loop and stops what they replaced.
 */
export async function reload(deps: ReloadDeps): Promise<void> {
  const { loop, logger } = deps;
  const loaded = deps.load();
  if (!loaded.ok) {
    logger.error({ errors: loaded.errors }, 'SIGHUP: new configuration refused; the running one stays');
    return;
  }
  const work: ReloadWork = { old: loop.config, next: loaded.config, plan: planReload(loop.config, loaded.config), parts: { config: loaded.config, collection: loop.collection, targets: [...loop.targets], ...(loop.families ? { families: loop.families } : {}) } };
  for (const action of work.plan.actions) {
    if (!(await HANDLERS[action](work, deps))) return;
  }
  const old = await loop.replaceParts(work.parts);
  if (old.collection !== work.parts.collection) await old.collection.stop().catch(() => undefined);
  await retireTargets(old.targets.filter((target) => !work.parts.targets.includes(target)), work.plan, logger);
  if (work.plan.restart.length > 0) logger.warn({ keys: work.plan.restart }, `SIGHUP: these keys need a restart to take effect: ${work.plan.restart.join(', ')}`);
  logger.info({ source: loaded.source, actions: work.plan.actions }, 'SIGHUP: configuration reloaded');
}

/**
 * Stops the targets a reload replaced. The old Pushgateway group is deleted only when the new config
 * pushes elsewhere (and delete_on_shutdown asks for it): otherwise the new target pushes to it.
 */
async function retireTargets(dropped: readonly PushTarget[], plan: ReloadPlan, logger: Logger): Promise<void> {
  const deadline = Date.now() + RETIRE_MS;
  await Promise.allSettled(dropped.map(async (target) => {
    if (!isPushgateway(target)) return target.stop(deadline);
    const group = plan.oldGroup;
    if (group !== null && group.delete) {
      const outcome = await target.deleteGroup(deadline);
      if (outcome.ok) logger.info({ target: target.name, group: group.url.pathname }, 'SIGHUP: the group moved; deleted the old group from the Pushgateway');
      else logger.warn({ target: target.name, group: group.url.pathname, error: outcome.error }, 'SIGHUP: the group moved; could not delete the old group from the Pushgateway');
    } else if (group !== null) {
      logger.warn({ target: target.name, group: group.url.pathname }, 'SIGHUP: the group moved; the old group is left on the Pushgateway at its last values (delete_on_shutdown is off): delete it with `netns-exporter --delete` under the old config');
    }
    return target.stop(deadline, false);
  }));
}

function isPushgateway(target: PushTarget): target is PushgatewayTarget {
  return target.name === 'pushgateway';
}

/**
 * Runs reloads one at a time: a SIGHUP while one runs is queued and runs after it (several queued
 * ones run once: each reads the file as it is then). None is lost, none runs beside another.
 */
export class ReloadQueue {
  readonly #task: () => Promise<void>;
  readonly #onError: (error: Error) => void;
  #running: Promise<void> | null = null;
  #queued = false;

  constructor(task: () => Promise<void>, onError: (error: Error) => void) {
    this.#task = task;
    this.#onError = onError;
  }

  /** 'queued' when a reload was running: this one follows it. */
  request(): 'started' | 'queued' {
    if (this.#running !== null) {
      this.#queued = true;
      return 'queued';
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
    });
    return 'started';
  }

  /** Resolves when no reload is running or queued. */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #drain(): Promise<void> {
    do {
      this.#queued = false;
      await this.#task().catch(this.#onError);
    } while (this.#queued);
  }
}

/** A reload never stops the agent: whatever goes wrong in loading is a refused config. */
export function loadForReload(...args: Parameters<typeof loadConfig>): LoadedConfig {
  try {
    return loadConfig(...args);
  } catch (error) {
    return { ok: false, errors: [`${args[0]}: ${(error as Error).message}`] };
  }
}
