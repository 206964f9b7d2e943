#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
// A small young generation: each cycle's read results survive its scavenges, which otherwise grow
// the main thread's semi-spaces to 16 MiB each (tens of MB of RSS at 1,000 namespaces). One V8
// platform thread instead of four (GC helpers, background compiles): each is a stack and a malloc
// arena of its own, and the agent's own threads keep the cores busy. The Dockerfile's entrypoint
// and the Debian package's wrapper pass the same flags.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../shared/config/configTypes.js';
import { parseCli, UsageError, USAGE, type CliOptions } from './cli.js';
import { listenerSpecs } from '../shared/reloadPlan.js';
import { Collection, namespacesAtStart } from './collect.js';
import { loadConfig } from './config.js';
import { discoverNamespaces } from './discover.js';
import { collectionProblems, evaluateHealth, type CycleSummary } from './health.js';
import { settledBy } from './deadline.js';
import { Listeners } from './listeners.js';
import { createLogger, type Logger, type LogOutput } from './log.js';
import { AgentLoop } from './loop.js';
import { loadForReload, reload, ReloadQueue } from './reload.js';
import { readerOptions } from './readers/options.js';
import { createTargets } from './targets/createTargets.js';
import type { PushTarget } from './targets/target.js';
import { childFileLimit, raiseFileLimit } from './system/fileLimit.js';
import { limitMallocArenas, releaseFreedMemory } from './system/libc.js';
import { buildInfo } from './version.js';
import { WebConfigError, WebConfigSource } from './webConfigFile.js';
import { WebSecurity } from './webSecurity.js';

/** Exit codes: 0 done, 1 a runtime failure (a push in --once, a port in use), 2 bad usage or config. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/**
 * The whole shutdown after SIGTERM/SIGINT, from the signal to the exit: below the 10 s after which
 * `docker stop` and `podman stop` send SIGKILL, so the agent leaves by itself.
 */
const SHUTDOWN_DEADLINE_MS = 8_000;
/** Of that, kept back for closing the listeners and writing the last log line. */
const SHUTDOWN_RESERVE_MS = 500;
/**
 * glibc's malloc arenas, at most (limitMallocArenas): two serve the main thread and the rest with
 * little contention, as MALLOC_ARENA_MAX=2 does for JVMs and Node in containers.
 */
const MALLOC_ARENAS = 2;

export async function main(argv: readonly string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`netns-exporter: ${error.message} (see --help)\n`);
    return EXIT_USAGE;
  }
  if (cli.mode === 'help') return write(process.stdout, USAGE, 0);
  if (cli.mode === 'version') return write(process.stdout, `netns-exporter ${buildInfo().version}\n`, 0);

  const loaded = loadConfig(cli.configPath, cli.configExplicit, { threads: cli.threads, logLevel: cli.logLevel });
  if (!loaded.ok) return write(process.stderr, loaded.errors.map((line) => `netns-exporter: config error: ${line}\n`).join(''), EXIT_USAGE);
  const { config } = loaded;
  const output = createLogger(config.logLevel, cli.logFile, cli.logFormat);
  const { logger } = output;
  if (cli.mode === 'check-config') {
    // Building the targets reads their TLS files, which --check-config must vouch for too.
    if (!(await startTargets(await createTargets(config, logger), 'validate'))) return EXIT_USAGE;
    const web = openWebConfig(webConfigPath(config, cli), logger);
    if (web === null) return EXIT_USAGE;
    for (const warning of webConfigWarnings(config, web)) process.stderr.write(`netns-exporter: warning: ${warning}\n`);
    return write(process.stdout, `config OK (${loaded.source}${web.file === null ? '' : `, web config ${web.file}`})\n`, 0);
  }
  logger.debug({ source: loaded.source, config }, 'configuration loaded');
  // Before any reader starts: the setns reader sizes the namespaces it keeps open by this limit.
  const fileLimit = raiseFileLimit();
  logger.debug({ nofile_soft: fileLimit?.soft, nofile_hard: fileLimit?.hard, children_nofile: childFileLimit() }, 'descriptor limit');
  // Before the reader threads and libuv's pool first allocate; an operator's own MALLOC_ARENA_MAX stands.
  if (process.env.MALLOC_ARENA_MAX === undefined) logger.debug({ malloc_arenas: limitMallocArenas(MALLOC_ARENAS) ? MALLOC_ARENAS : 'unchanged' }, 'malloc arenas');
  if (cli.mode === 'dry-run') return dryRun(config, logger);
  if (cli.mode === 'once') return once(config, logger);
  if (cli.mode === 'delete') return deleteGroup(config, logger);
  return run(config, cli, output);
}

async function dryRun(config: Config, logger: Logger): Promise<number> {
  const { collection, discoveryErrorsAtStart } = await startedCollection(config, logger);
  const loop = new AgentLoop({ config, collection, targets: [] }, { logger, build: buildInfo(), discoveryErrorsAtStart });
  const { registry, summary } = await loop.runCycle(false, false);
  process.stdout.write(await registry.metrics());
  await loop.stop(Date.now() + SHUTDOWN_DEADLINE_MS);
  return reportProblems(summary, config) ? EXIT_FAILURE : 0;
}

/**
 * A one-shot run that collected what would make /healthz fail (no namespace read, a folder that
 * could not be listed) fails too: one line per problem, cause and fix in it. True when there were any.
 */
function reportProblems(summary: CycleSummary, config: Config): boolean {
  const problems = collectionProblems(summary, config.health.maxFailedRatio);
  for (const problem of problems) process.stderr.write(`netns-exporter: ${problem}\n`);
  return problems.length > 0;
}

async function once(config: Config, logger: Logger): Promise<number> {
  const targets = await createTargets(config, logger);
  if (targets.length === 0) {
    return write(process.stderr, 'netns-exporter: --once needs push.pushgateway or push.remote_write (use --dry-run to print)\n', EXIT_USAGE);
  }
  if (!(await startTargets(targets))) return EXIT_USAGE;
  const { collection, discoveryErrorsAtStart } = await startedCollection(config, logger);
  const loop = new AgentLoop({ config, collection, targets }, { logger, build: buildInfo(), discoveryErrorsAtStart });
  const { pushes, summary } = await loop.runCycle(true);
  const failed = reportProblems(summary, config);
  for (const { target, outcome } of pushes) {
    if (outcome.ok) logger.info({ target, attempts: outcome.attempts, duration_ms: Math.round(outcome.durationMs) }, 'pushed');
    else process.stderr.write(`netns-exporter: push to ${target} failed: ${onceFailureText(target, outcome.error ?? '', config)}\n`);
  }
  // One-shot pushes never delete their group: stopping the targets is the long-running agent's job.
  return pushes.every(({ outcome }) => outcome.ok) && !failed ? 0 : EXIT_FAILURE;
}

/**
 * A target's error speaks for the long-running agent ("samples stay buffered" until the next cycle);
 * a one-shot run ends here, so say where the samples of this run really end up.
 */
function onceFailureText(target: string, error: string, config: Config): string {
  const dir = config.push.remoteWrite?.buffer.dir ?? null;
  if (target !== 'remote_write') return error;
  const fate = dir === null
    ? 'the samples of this run are lost: set push.remote_write.buffer.dir to keep them for the next run'
    : `the samples of this run stay in ${dir}; the next run sends them`;
  return `${error.replace(/; samples stay buffered$/, '')}; ${fate}`;
}

/** Retiring a node: its group would otherwise stay on the gateway at its last values forever. */
async function deleteGroup(config: Config, logger: Logger): Promise<number> {
  if (config.push.pushgateway === null) {
    return write(process.stderr, 'netns-exporter: --delete needs push.pushgateway in the config\n', EXIT_USAGE);
  }
  const { PushgatewayTarget } = await import('./targets/pushgateway.js');
  // stop() must not delete a second time, whatever delete_on_shutdown says.
  const target = new PushgatewayTarget({ ...config.push.pushgateway, deleteOnShutdown: false }, { logger, version: buildInfo().version });
  if (!(await startTargets([target]))) return EXIT_USAGE;
  const outcome = await target.deleteGroup(Date.now() + config.intervalMs);
  await target.stop(Date.now());
  if (!outcome.ok) return write(process.stderr, `netns-exporter: delete from pushgateway failed: ${outcome.error}\n`, EXIT_FAILURE);
  logger.info({ target: target.name, attempts: outcome.attempts, grouping: config.push.pushgateway.grouping }, 'deleted this node\'s group (or it was absent)');
  return 0;
}

async function run(config: Config, cli: CliOptions, output: LogOutput): Promise<number> {
  const { logger } = output;
  // logrotate's postrotate sends SIGUSR1 (or SIGHUP): the next lines go to a new file of the old name.
  // Installed before anything slow: until a listener exists, SIGUSR1 opens Node's inspector, which
  // a process that runs as root must never do.
  const reopenLog = (signal: NodeJS.Signals) => {
    output.reopen();
    if (cli.logFile !== null) logger.info({ signal, file: cli.logFile }, 'log file reopened');
  };
  process.on('SIGUSR1', () => reopenLog('SIGUSR1'));
  const build = buildInfo();
  const web = openWebConfig(webConfigPath(config, cli), logger);
  if (web === null) return EXIT_USAGE;
  const security = new WebSecurity(web, { allowUnauthenticatedHealth: config.health.allowUnauthenticated, logger });
  const targets = await createTargets(config, logger);
  if (!(await startTargets(targets))) return EXIT_USAGE;
  // reader: auto proves setns here, so the line below can say which reader reads.
  const { collection, discoveryErrorsAtStart } = await startedCollection(config, logger);
  // Once a cycle has pushed, the holes its freed buffers left in malloc's heaps go back to the kernel.
  const loop = new AgentLoop({ config, collection, targets }, { logger, build, selfMetrics: () => security.selfMetrics(), discoveryErrorsAtStart, afterCycle: () => void releaseFreedMemory() });
  const listeners = listenersOf(loop, logger, security);
  try {
    await listeners.start(listenerSpecs(config));
  } catch (error) {
    return write(process.stderr, `netns-exporter: cannot listen: ${(error as Error).message}\n`, EXIT_FAILURE);
  }
  logger.info({ version: build.version, reader: collection.inUse, reader_configured: config.reader, targets: targets.map((t) => t.name) }, 'netns-exporter running');
  loop.start();

  const reloads = new ReloadQueue(
    () => reload({
      loop, listeners, logger, startTargets,
      webConfig: (next) => {
        web.reload(webConfigPath(next, cli));
        security.allowUnauthenticatedHealth = next.health.allowUnauthenticated;
      },
      load: () => loadForReload(cli.configPath, cli.configExplicit, { threads: cli.threads, logLevel: cli.logLevel }),
    }),
    (error) => logger.error({ err: error.message }, 'SIGHUP: reload failed; the running configuration stays'),
  );
  process.on('SIGHUP', () => {
    reopenLog('SIGHUP');
    // Read again whether or not the agent config changes (or loads): the web config is its own file.
    web.reload(web.file);
    if (reloads.request() === 'queued') logger.info('SIGHUP: a reload is running; this one follows it');
  });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
  const overdue = setTimeout(() => exitNow(logger, 'shutdown deadline passed'), SHUTDOWN_DEADLINE_MS);
  const finished = await loop.stop(deadline - SHUTDOWN_RESERVE_MS);
  await settledBy(listeners.stop(), deadline);
  await security.stop();
  clearTimeout(overdue);
  // A part still busy (a reader thread stuck in the kernel) would also hold process.exit(), which
  // waits for every thread: leave without it.
  if (!finished) exitNow(logger, 'a part did not stop within the shutdown deadline');
  logger.info('stopped');
  return 0;
}

/**
 * Leaves at once, whatever a thread does: SIGKILL to ourselves (exit status 137), since exit()
 * would wait for a worker thread blocked in a read. The log says why.
 */
function exitNow(logger: Logger, why: string): never {
  logger.error({ deadline_ms: SHUTDOWN_DEADLINE_MS }, `${why}; exiting now`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not end the process');
}

/**
 * The collection with its reader started: setns workers running, reader auto's self-test taken on
 * the namespaces discovery finds now. The collection duration then measures the collection, not
 * the start-up.
 */
async function startedCollection(config: Config, logger: Logger): Promise<{ collection: Collection; discoveryErrorsAtStart: number }> {
  const collection = new Collection(config.reader, readerOptions(config, logger));
  const discovery = { netnsDirs: config.netnsDirs, filter: config.namespacesFilter, procRoot: '/proc' };
  const { namespaces, failed } = config.reader === 'auto' ? await namespacesAtStart(() => discoverNamespaces(discovery), logger) : { namespaces: [], failed: 0 };
  await collection.start(namespaces);
  return { collection, discoveryErrorsAtStart: failed };
}

/** --web.config.file wins over web_config_file. */
function webConfigPath(config: Config, cli: CliOptions): string | null {
  return cli.webConfigFile ?? config.webConfigFile;
}

/** The web config, loaded; null (after one `config error:` line per problem) when it cannot be used. */
function openWebConfig(file: string | null, logger: Logger): WebConfigSource | null {
  try {
    return new WebConfigSource(file, logger);
  } catch (error) {
    if (!(error instanceof WebConfigError)) throw error;
    process.stderr.write(error.lines.map((line) => `netns-exporter: config error: web config ${line}\n`).join(''));
    return null;
  }
}

/**
 * What a valid web config may still get wrong for this agent: basic auth on the load balancer's
 * listener without the exemption turns every node's health check into a 401, and a required client
 * certificate applies to the health check's connections too.
 */
function webConfigWarnings(config: Config, web: WebConfigSource): string[] {
  const { config: settings, tls } = web.current();
  const listen = config.health.listen;
  if (listen === null) return [];
  const at = `health.listen (${listen.host}:${listen.port})`;
  const warnings: string[] = [];
  if (Object.keys(settings.users).length > 0 && !config.health.allowUnauthenticated) {
    warnings.push(`basic_auth_users guards /healthz on ${at}: a load balancer's health check without credentials gets 401 and takes every node out; set health.allow_unauthenticated: true, or give the check credentials`);
  }
  const clientAuth = tls?.config.clientAuth;
  if (clientAuth === 'RequireAnyClientCert' || clientAuth === 'RequireAndVerifyClientCert') {
    warnings.push(`client_auth_type ${clientAuth} applies to ${at} too: the load balancer's health check must present a client certificate (haproxy: check-ssl crt ...)`);
  }
  return warnings;
}

/** The pull server (api_server) and the health listener, answering from the loop's latest state. */
function listenersOf(loop: AgentLoop, logger: Logger, security: WebSecurity): Listeners {
  return new Listeners({
    health: () => evaluateHealth({
      nowMs: Date.now(),
      maxAgeMs: loop.config.health.maxAgeMs,
      maxFailedRatio: loop.config.health.maxFailedRatio,
      targets: loop.targets.map((target) => target.state()),
      lastCycle: loop.lastCycle,
      reader: loop.collection.inUse,
      held: loop.collection.held,
    }),
    render: async () => {
      const registry = loop.lastRegistry;
      return registry === null ? null : { contentType: registry.contentType, body: await registry.metrics() };
    },
  }, logger, security);
}

/**
 * Starting a target reads its TLS files: one that cannot be used is a config error (exit 2).
 * Validating (--check-config) tries every target, so each one's problem is reported in one run;
 * starting stops at the first, leaving the rest unstarted.
 */
async function startTargets(targets: readonly PushTarget[], how: 'start' | 'validate' = 'start'): Promise<boolean> {
  let ok = true;
  for (const target of targets) {
    try {
      if (how === 'start') await target.start();
      else target.validate();
    } catch (error) {
      const message = (error as Error).message;
      process.stderr.write(`netns-exporter: config error: ${message.startsWith('push.') ? message : `push.${target.name}: ${message}`}\n`);
      ok = false;
      if (how === 'start') break;
    }
  }
  return ok;
}

function write(stream: NodeJS.WriteStream, text: string, code: number): number {
  stream.write(text);
  return code;
}

/** Runs main as the process: its code becomes the exit code. The `netns-exporter` command (bin.ts). */
export function runAsProgram(argv: readonly string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
      // Keep-alive sockets and worker threads must not hold a finished one-shot run open.
      setTimeout(() => process.exit(code), 100).unref();
    },
    (error: Error) => {
      process.stderr.write(`netns-exporter: unexpected error: ${error.message}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}

/** True when this file is the script node was started with, not a module imported by another. */
function startedAsScript(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// Run as a file (`node dist/agent/main.js`, the container image's entrypoint) this starts the agent;
// imported (by bin.ts, by tests), it does nothing.
if (startedAsScript()) runAsProgram(process.argv.slice(2));
