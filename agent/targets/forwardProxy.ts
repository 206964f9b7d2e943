import http from 'node:http';
import tls from 'node:tls';

/**
 * An http.Agent for `http://` receivers behind a forward proxy: each request goes to the proxy as an
 * absolute-URI request (`PUT http://gw:9091/metrics/job/x HTTP/1.1`), as curl, Go and Prometheus send
 * it. hpagent's HttpProxyAgent tunnels plain http with CONNECT instead, which squid's default ACLs
 * ("CONNECT only to port 443") refuse with 403. `https://` receivers still go through CONNECT
 * (hpagent's HttpsProxyAgent): the proxy must not see their bodies or credentials.
 */
export class ForwardProxyAgent extends http.Agent {
  readonly #proxy: URL;
  readonly #authorization: string | null;

  constructor(proxy: URL, options: http.AgentOptions) {
    super(options);
    this.#proxy = proxy;
    this.#authorization = proxy.username === '' && proxy.password === ''
      ? null
      : `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
    if (proxy.protocol === 'https:') {
      // TLS to the proxy itself; the request inside is still plain http for the proxy to forward.
      this.createConnection = () => tls.connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: this.#proxyPort(), servername: proxy.hostname });
    }
  }

  /** Node's Agent hook (not in its typings): rewrites the request for the proxy before it is written. */
  addRequest(request: http.ClientRequest, options: http.RequestOptions): void {
    const host = String(options.host ?? options.hostname ?? 'localhost');
    const port = options.port !== undefined && Number(options.port) !== 80 ? `:${options.port}` : '';
    request.path = `http://${host.includes(':') ? `[${host}]` : host}${port}${request.path}`;
    if (this.#authorization !== null) request.setHeader('proxy-authorization', this.#authorization);
    const proxyHost = this.#proxy.hostname.replace(/^\[|\]$/g, '');
    const base = http.Agent.prototype as unknown as { addRequest(request: http.ClientRequest, options: http.RequestOptions): void };
    base.addRequest.call(this, request, { ...options, host: proxyHost, hostname: proxyHost, port: this.#proxyPort() });
  }

  #proxyPort(): number {
    return Number(this.#proxy.port || (this.#proxy.protocol === 'https:' ? 443 : 80));
  }
}
