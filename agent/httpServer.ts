import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HealthReport } from './health.js';
import type { Logger } from './log.js';
import type { WebSecurity } from './webSecurity.js';

const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

export interface HttpRoutes {
  /** Serves the last registry (pull mode of the original); null on the health-only listener. */
  metrics: { path: string; render: () => Promise<{ contentType: string; body: string } | null> } | null;
  health: () => HealthReport;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  requestTimeoutMs: number;
  routes: HttpRoutes;
  logger: Logger;
  /** The web config's layer (TLS, basic auth, headers, rate limit); null: none. */
  security?: WebSecurity | null;
}

/**
 * Connections held open at once per listener. The clients are a scraper, a load balancer's health
 * check and the odd curl; a cap keeps a flood of sockets from taking the descriptors that discovery
 * and the readers need (with a low open-file limit, 190 idle clients once made both fail).
 */
const MAX_CONNECTIONS = 32;

/**
 * The agent's small HTTP listener: GET/HEAD only, no request body is ever read, and Node's own
 * header and request timeouts shed slow or oversized clients so a flood cannot wedge the agent.
 * At the connection cap, the oldest connection with no request in progress (idle or still sending
 * its headers) makes room for the new one: a slow client cannot lock the health check out.
 */
export class AgentHttpServer {
  readonly #options: HttpServerOptions;
  #server: Server | null = null;
  /**
   * Open connections, oldest first, by peer address and port, each with its TCP socket and whether
   * a request is being answered on it. By peer, since a request's socket is the TLS socket on top.
   */
  readonly #connections = new Map<string, { socket: Socket; busy: boolean }>();
  #tls = false;

  constructor(options: HttpServerOptions) {
    this.#options = options;
  }

  /** Whether this listener speaks TLS (decided at start from the web config). */
  get tls(): boolean {
    return this.#tls;
  }

  async start(): Promise<AddressInfo> {
    const options: ServerOptions = {
      requestTimeout: this.#options.requestTimeoutMs,
      headersTimeout: Math.min(this.#options.requestTimeoutMs, 10_000),
      maxHeaderSize: 16 * 1024,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: 1_000,
    };
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      const state = this.#connections.get(peer(request.socket));
      if (state !== undefined) state.busy = true;
      response.once('close', () => {
        if (state !== undefined) state.busy = false;
      });
      this.#handle(request, response).catch((error: Error) => {
        this.#options.logger.error({ err: error.message }, 'http handler failed');
        if (!response.headersSent) send(response, request, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else response.destroy();
      });
    };
    const security = this.#options.security ?? null;
    const start = security?.tlsAtStart() ?? null;
    let server: Server;
    if (security !== null && start !== null) {
      const { tls } = start;
      const tlsServer = createTlsServer({ ...options, ...tls.context, requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized, handshakeTimeout: 10_000 }, handler);
      const applied = { generation: start.generation };
      // Ahead of the TLS server's own listener, which wraps the socket with the context in force.
      tlsServer.prependListener('connection', () => security.refreshTls(tlsServer, applied));
      tlsServer.on('secureConnection', (socket: TLSSocket) => {
        if (!security.admitTlsClient(socket)) socket.destroy();
      });
      tlsServer.on('tlsClientError', (error, socket) => security.countHandshakeFailure(handshakePeer(socket), error));
      server = tlsServer;
      this.#tls = true;
    } else {
      server = createServer(options, handler);
    }
    server.keepAliveTimeout = 5_000;
    server.maxRequestsPerSocket = 100;
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // Answered, then closed from this side: a client that never closes must not keep the socket.
      const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    return server.address() as AddressInfo;
  }

  #admit(socket: Socket): void {
    const key = peer(socket);
    this.#connections.set(key, { socket, busy: false });
    socket.once('close', () => this.#connections.delete(key));
    if (this.#connections.size <= MAX_CONNECTIONS) return;
    for (const [openKey, state] of this.#connections) {
      if (openKey !== key && !state.busy) {
        state.socket.destroy();
        this.#connections.delete(openKey);
        return;
      }
    }
    socket.destroy();
    this.#connections.delete(key);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = requestPath(request.url ?? '');
    const security = this.#options.security ?? null;
    if (security !== null) {
      const verdict = await security.check(request, path, { name: `${this.#options.host}:${this.#options.port}`, tls: this.#tls });
      for (const [name, value] of Object.entries(verdict.headers)) response.setHeader(name, value);
      if (verdict.refusal !== null) {
        for (const [name, value] of Object.entries(verdict.refusal.headers)) response.setHeader(name, value);
        return send(response, request, verdict.refusal.status, 'text/plain; charset=utf-8', verdict.refusal.body);
      }
    }
    if (path === null) return send(response, request, 400, 'text/plain; charset=utf-8', 'malformed request target\n');
    const { metrics, health } = this.#options.routes;
    const known = path === '/healthz' || path === '/' || (metrics !== null && path === metrics.path);
    if (!known) return send(response, request, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, request, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path === '/healthz') {
      const report = health();
      return send(response, request, report.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
    }
    if (path === '/') return send(response, request, 200, 'text/html; charset=utf-8', indexPage(metrics?.path ?? null));
    const rendered = await metrics!.render();
    if (rendered === null) return send(response, request, 503, 'text/plain; charset=utf-8', 'no collection finished yet\n');
    return send(response, request, 200, rendered.contentType, rendered.body);
  }
}

/**
 * The path of an origin-form target ("/healthz?x") or of an absolute-form one, as a proxy sends it
 * ("http://host/healthz"); null when the target is neither. Paths are compared as they are, so
 * "//healthz" is not "/healthz": a URL parser would read it as host "healthz" and path "/".
 */
function requestPath(target: string): string | null {
  if (target.startsWith('/')) return target.split('?', 1)[0]!;
  if (!/^https?:\/\//i.test(target)) return null;
  try {
    return new URL(target).pathname;
  } catch {
    return null;
  }
}

/**
 * The client's address after a failed handshake: the TLS socket is torn down by then, but the TCP
 * socket under it (Node's `_parent`) kept the address it was admitted with.
 */
function handshakePeer(socket: TLSSocket): string | undefined {
  return socket.remoteAddress ?? (socket as TLSSocket & { _parent?: Socket })._parent?.remoteAddress;
}

/** A connection's key: unique among the open ones, and the same for a TCP socket and the TLS socket on it. */
function peer(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

function send(response: ServerResponse, request: IncomingMessage, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function indexPage(metricsPath: string | null): string {
  const link = metricsPath === null ? '' : `<li><a href="${metricsPath}">Metrics</a></li>`;
  return `<!doctype html><html><head><title>netns-exporter</title></head><body><h1>netns-exporter</h1><ul>${link}<li><a href="/healthz">Health</a></li></ul></body></html>\n`;
}
