import { execFileSync } from 'node:child_process';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, startServer, type RunningServer } from './servers.js';

/** Debian's squid.conf: its ACLs are what an operator's proxy has before anyone tunes it. */
const DEBIAN_CONFIG = '/etc/squid/squid.conf';
const NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';

export interface Squid extends RunningServer {
  /** The proxy URL, with `user:password@` when the proxy wants authentication. */
  proxyUrl: (credentials?: { user: string; password: string }) => string;
  /** Access log lines so far: "METHOD URL STATUS", e.g. "CONNECT pushgateway.test:443 200". */
  requests: () => string[];
}

/**
 * A real squid on a loopback port with Debian's default rules (`deny CONNECT !SSL_ports`: tunnels
 * only to 443; plain http to 80 and 1025–65535; `allow localhost`), run from a temporary folder.
 * `hosts` is squid's whole name table (its `hosts_file`): tests name receivers on loopback
 * addresses, and squid never asks a DNS server. `users` turns on basic authentication (the
 * package's basic_ncsa_auth with an htpasswd file of MD5-crypt hashes made by openssl).
 */
export async function startSquid(options: { hosts: Record<string, string>; users?: Record<string, string> }): Promise<Squid> {
  // A port of our choosing: squid's http_port cannot take 0 and report what it got.
  const server = await startServer('squid', (port, dir) => {
    writeFileSync(path.join(dir, 'hosts'), Object.entries(options.hosts).map(([name, address]) => `${address} ${name}\n`).join(''));
    const auth: string[] = [];
    if (options.users) {
      const lines = Object.entries(options.users).map(([user, password]) => `${user}:${execFileSync('openssl', ['passwd', '-1', password], { encoding: 'utf8' }).trim()}\n`);
      writeFileSync(path.join(dir, 'htpasswd'), lines.join(''));
      auth.push(
        `auth_param basic program ${NCSA_AUTH} ${path.join(dir, 'htpasswd')}`,
        'auth_param basic realm netns-exporter test proxy',
        'acl authenticated proxy_auth REQUIRED',
        'http_access deny !authenticated',
      );
    }
    writeFileSync(path.join(dir, 'squid.conf'), squidConfig(port, dir, auth));
    // squid drops root for the `proxy` user, which must write its logs here.
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'proxy'], { encoding: 'utf8' })));
    chownSync(dir, uid!, gid!);
    return ['-N', '-f', path.join(dir, 'squid.conf')];
  }, { readyPath: '/', label: 'squid', port: await freePort() });
  return {
    ...server,
    proxyUrl: (credentials) => credentials
      ? `http://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${server.port}`
      : server.url,
    requests: () => {
      let text = '';
      try {
        text = readFileSync(path.join(server.dir, 'access.log'), 'utf8');
      } catch {
        return [];
      }
      // squid's native format: time elapsed client result/status bytes method URL user hierarchy type
      return text.split('\n').filter(Boolean).map((line) => {
        const fields = line.trim().split(/\s+/);
        return `${fields[5]} ${fields[6]} ${fields[3]?.split('/')[1]}`;
      });
    },
  };
}

/**
 * Debian's config, comments dropped, with the port, files and name table of this run. The auth
 * rule goes right before `http_access allow localhost`, after Debian's own deny rules.
 */
function squidConfig(port: number, dir: string, auth: readonly string[]): string {
  const debian = readFileSync(DEBIAN_CONFIG, 'utf8').split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '' && !/^(http_port|coredump_dir|include)\b/.test(line));
  const allowLocalhost = debian.indexOf('http_access allow localhost');
  if (allowLocalhost < 0) throw new Error(`${DEBIAN_CONFIG} has no "http_access allow localhost" to keep`);
  debian.splice(allowLocalhost, 0, ...auth);
  const file = (name: string) => path.join(dir, name);
  return [
    ...debian,
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${file('squid.pid')}`,
    `access_log stdio:${file('access.log')}`,
    'buffered_logs off',
    `cache_log ${file('cache.log')}`,
    'cache_store_log none',
    `coredump_dir ${dir}`,
    'cache deny all',
    'cache_effective_user proxy',
    `hosts_file ${file('hosts')}`,
    // Names not in the hosts file must not leave the machine: the only DNS server is loopback.
    'dns_nameservers 127.0.0.1',
    'visible_hostname netns-exporter-test-proxy',
    'pinger_enable off',
    'netdb_filename none',
    'shutdown_lifetime 0 seconds',
    '',
  ].join('\n');
}
