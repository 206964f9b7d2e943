#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation: each cycle's read results survive its scavenges, which otherwise grow
// the main thread's semi-spaces to 16 MiB each (tens of MB of RSS at 1,000 namespaces). The
// Dockerfile's entrypoint passes the same flags.
import type { Config } from '../shared/config/types.js';
import { parseCli, UsageError, USAGE, type CliOptions } from './cli.js';
import { loadConfig } from './config.js';
import { evaluateHealth } from './health.js';
import { AgentHttpServer, type HttpRoutes } from './httpServer.js';
import { createLogger, type Logger } from './log.js';
import { AgentLoop } from './loop.js';
import { createReader } from './readers/create.js';
import type { NamespaceReader } from './readers/reader.js';
import { createTargets } from './targets/create.js';
import type { PushTarget } from './targets/target.js';
import { buildInfo } from './version.js';

/** Exit codes: 0 done, 1 a runtime failure (a push in --once, a port in use), 2 bad usage or config. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** How long SIGTERM waits for the cycle in flight and the targets' shutdown work. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(argv: readonly string[]): Promise<number> {
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
  const logger = createLogger(config.logLevel, cli.logFile);
  if (cli.mode === 'check-config') {
    // Building the targets reads their TLS files, which --check-config must vouch for too.
    if (!(await startTargets(await createTargets(config, logger), 'validate'))) return EXIT_USAGE;
    return write(process.stdout, `config OK (${loaded.source})\n`, 0);
  }
  logger.debug({ source: loaded.source, config }, 'configuration loaded');
  if (cli.mode === 'dry-run') return dryRun(config, logger);
  if (cli.mode === 'once') return once(config, logger);
  return run(config, loaded.pushFingerprint, cli, logger);
}

async function dryRun(config: Config, logger: Logger): Promise<number> {
  const loop = new AgentLoop({ config, reader: await startedReader(config, logger), targets: [] }, { logger, build: buildInfo() });
  const { registry } = await loop.runCycle(false, false);
  process.stdout.write(await registry.metrics());
  await loop.stop(0);
  return 0;
}

async function once(config: Config, logger: Logger): Promise<number> {
  const targets = await createTargets(config, logger);
  if (targets.length === 0) {
    return write(process.stderr, 'netns-exporter: --once needs push.pushgateway or push.remote_write (use --dry-run to print)\n', EXIT_USAGE);
  }
  if (!(await startTargets(targets))) return EXIT_USAGE;
  const loop = new AgentLoop({ config, reader: await startedReader(config, logger), targets }, { logger, build: buildInfo() });
  const { pushes } = await loop.runCycle(true);
  for (const { target, outcome } of pushes) {
    if (outcome.ok) logger.info({ target, attempts: outcome.attempts, duration_ms: Math.round(outcome.durationMs) }, 'pushed');
    else process.stderr.write(`netns-exporter: push to ${target} failed: ${outcome.error}\n`);
  }
  // One-shot pushes never delete their group: stopping the targets is the long-running agent's job.
  return pushes.every(({ outcome }) => outcome.ok) ? 0 : EXIT_FAILURE;
}

async function run(config: Config, pushFingerprint: string, cli: CliOptions, logger: Logger): Promise<number> {
  const build = buildInfo();
  const targets = await createTargets(config, logger);
  if (!(await startTargets(targets))) return EXIT_USAGE;
  // reader: auto proves setns here, so the line below can say which reader reads.
  const reader = await startedReader(config, logger);
  const loop = new AgentLoop({ config, reader, targets }, { logger, build });
  const servers = await startServers(config, loop, logger);
  if (servers === null) return EXIT_FAILURE;
  let fingerprint = pushFingerprint;
  logger.info({ version: build.version, reader: reader.inUse, reader_configured: config.reader, targets: targets.map((t) => t.name) }, 'netns-exporter running');
  loop.start();

  process.on('SIGHUP', () => {
    const reloaded = loadConfig(cli.configPath, cli.configExplicit, { threads: cli.threads, logLevel: cli.logLevel });
    if (!reloaded.ok) {
      logger.error({ errors: reloaded.errors }, 'SIGHUP: new configuration refused; the running one stays');
      return;
    }
    void (async () => {
      const keepTargets = reloaded.pushFingerprint === fingerprint;
      const newTargets = keepTargets ? [...loop.targets] : await createTargets(reloaded.config, logger);
      if (!keepTargets && !(await startTargets(newTargets))) {
        logger.error('SIGHUP: new push targets cannot start; the running configuration stays');
        return;
      }
      fingerprint = reloaded.pushFingerprint;
      logger.level = reloaded.config.logLevel;
      loop.replaceParts({ config: reloaded.config, reader: await createReader(reloaded.config, logger), targets: newTargets });
      logger.info({ source: reloaded.source }, 'SIGHUP: configuration reloaded; applies from the next cycle');
    })().catch((error: Error) => logger.error({ err: error.message }, 'SIGHUP: reload failed; the running configuration stays'));
  });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  await loop.stop(SHUTDOWN_GRACE_MS);
  await Promise.all(servers.map((server) => server.stop()));
  logger.info('stopped');
  return 0;
}

/**
 * The configured reader, started: setns workers running, reader: auto's self-test done. The
 * collection duration then measures the collection, not the start-up.
 */
async function startedReader(config: Config, logger: Logger): Promise<NamespaceReader> {
  const reader = await createReader(config, logger);
  await reader.start();
  return reader;
}

/** The pull server (api_server) and the health listener; a port in use is fatal at start-up. */
async function startServers(config: Config, loop: AgentLoop, logger: Logger): Promise<AgentHttpServer[] | null> {
  const health = () => evaluateHealth({
    nowMs: Date.now(),
    maxAgeMs: loop.config.health.maxAgeMs,
    targets: loop.targets.map((target) => target.state()),
    lastCycle: loop.lastCycle,
    reader: loop.reader.inUse,
  });
  const metrics: HttpRoutes['metrics'] = {
    path: config.apiServer.telemetryPath,
    render: async () => {
      const registry = loop.lastRegistry;
      return registry === null ? null : { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
  const servers: AgentHttpServer[] = [];
  const api = config.apiServer;
  if (api.enabled) {
    servers.push(new AgentHttpServer({ host: api.address, port: api.port, requestTimeoutMs: api.requestTimeoutMs, routes: { metrics, health }, logger }));
  }
  const listen = config.health.listen;
  if (listen !== null && !(api.enabled && listen.host === api.address && listen.port === api.port)) {
    servers.push(new AgentHttpServer({ host: listen.host, port: listen.port, requestTimeoutMs: 10_000, routes: { metrics: null, health }, logger }));
  }
  for (const server of servers) {
    try {
      const address = await server.start();
      logger.info({ address: address.address, port: address.port }, 'listening');
    } catch (error) {
      process.stderr.write(`netns-exporter: cannot listen: ${(error as Error).message}\n`);
      await Promise.all(servers.map((started) => started.stop()));
      return null;
    }
  }
  return servers;
}

/** Starting a target reads its TLS files: one that cannot be read is a config error (exit 2). */
async function startTargets(targets: readonly PushTarget[], how: 'start' | 'validate' = 'start'): Promise<boolean> {
  for (const target of targets) {
    try {
      if (how === 'start') await target.start();
      else target.validate();
    } catch (error) {
      const message = (error as Error).message;
      process.stderr.write(`netns-exporter: config error: ${message.startsWith('push.') ? message : `push.${target.name}: ${message}`}\n`);
      return false;
    }
  }
  return true;
}

function write(stream: NodeJS.WriteStream, text: string, code: number): number {
  stream.write(text);
  return code;
}

main(process.argv.slice(2)).then(
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
