import { sameValue, type ListenerSpec } from '../shared/reloadPlan.js';
import { AgentHttpServer, type HttpRoutes } from './httpServer.js';
import type { Logger } from './log.js';
import type { WebSecurity } from './webSecurity.js';

/** Where the listeners' answers come from: the loop's state, read at each request. */
export interface ListenerRoutes {
  health: HttpRoutes['health'];
  render: NonNullable<HttpRoutes['metrics']>['render'];
}

interface Running {
  spec: ListenerSpec;
  server: AgentHttpServer;
}

/**
 * The agent's HTTP listeners (api_server, health.listen). At start a port in use is fatal; on
 * reload a listener whose address cannot be bound keeps the one it was to replace.
 */
export class Listeners {
  readonly #routes: ListenerRoutes;
  readonly #logger: Logger;
  /** The web config's layer, the same for every listener. */
  readonly #security: WebSecurity | null;
  #running: Running[] = [];

  constructor(routes: ListenerRoutes, logger: Logger, security: WebSecurity | null = null) {
    this.#routes = routes;
    this.#logger = logger;
    this.#security = security;
  }

  /** Starts every listener or none: the first that cannot listen stops the others and is thrown. */
  async start(specs: readonly ListenerSpec[]): Promise<void> {
    for (const spec of specs) {
      try {
        this.#running.push(await this.#listen(spec));
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  /**
   * Moves to `specs`: an unchanged listener stays as it is, a changed one is replaced, one no longer
   * configured closes. Returns one `key: reason` line per listener that could not move.
   */
  async rebind(specs: readonly ListenerSpec[]): Promise<string[]> {
    const problems: string[] = [];
    const kept: Running[] = [];
    const previous = [...this.#running];
    for (const spec of specs) {
      const same = previous.find((running) => sameValue(running.spec, spec));
      if (same !== undefined) {
        kept.push(same);
        continue;
      }
      const old = previous.find((running) => running.spec.role === spec.role);
      try {
        kept.push(await this.#replace(old, spec));
        if (old !== undefined) await old.server.stop();
      } catch (error) {
        problems.push(`${spec.role}: cannot listen on ${address(spec)} (${(error as Error).message}); the old listener stays`);
        if (old !== undefined) kept.push(old);
      }
    }
    for (const running of previous) if (!kept.includes(running)) await running.server.stop();
    this.#running = kept;
    return problems;
  }

  async stop(): Promise<void> {
    const running = this.#running;
    this.#running = [];
    await Promise.all(running.map(({ server }) => server.stop()));
  }

  /**
   * A listener on the port the old one holds cannot start beside it: the old one closes first and
   * comes back when the new one fails.
   */
  async #replace(old: Running | undefined, spec: ListenerSpec): Promise<Running> {
    try {
      return await this.#listen(spec);
    } catch (error) {
      if (old === undefined || old.spec.port !== spec.port || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
    await old.server.stop();
    try {
      return await this.#listen(spec);
    } catch (error) {
      old.server = (await this.#listen(old.spec)).server;
      throw error;
    }
  }

  async #listen(spec: ListenerSpec): Promise<Running> {
    const metrics = spec.metricsPath === null ? null : { path: spec.metricsPath, render: this.#routes.render };
    const server = new AgentHttpServer({
      host: spec.host, port: spec.port, requestTimeoutMs: spec.requestTimeoutMs, routes: { metrics, health: this.#routes.health }, logger: this.#logger,
      security: this.#security,
    });
    const bound = await server.start();
    this.#logger.info({ address: bound.address, port: bound.port, key: spec.role, tls: server.tls }, 'listening');
    return { spec, server };
  }
}

function address(spec: ListenerSpec): string {
  return spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
}
