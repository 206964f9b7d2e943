import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A loopback port free now, chosen by the kernel. Only for a port that must be known before anything
 * listens on it (a server started later, as after an outage; the agent's own listeners; a port where
 * nothing listens): another process may take it in between. Servers started now bind port 0.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `netns-exporter-${label}-`));
}

export interface RunningServer {
  port: number;
  url: string;
  dir: string;
  process: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a real server (prometheus, prometheus-pushgateway, victoria-metrics) on loopback and waits
 * until it listens. Without `options.port` it binds port 0 and the port the kernel gave it is read
 * back, so no other process can take the port between choosing and binding it. `args` receives the
 * port (0 then) and a fresh temporary folder; the folder goes away on stop().
 */
export async function startServer(
  command: string,
  args: (port: number, dir: string) => string[],
  options: { readyPath: string; label: string; scheme?: 'http' | 'https'; port?: number; dir?: string; host?: string },
): Promise<RunningServer> {
  const dir = options.dir ?? tempDir(options.label);
  const child = spawn(command, args(options.port ?? 0, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let log = '';
  child.stdout?.on('data', (chunk) => (log += chunk));
  child.stderr?.on('data', (chunk) => (log += chunk));
  const host = options.host ?? '127.0.0.1';
  const port = await waitUntilListening(child, host, options.port ?? null, () => log);
  const url = `${options.scheme ?? 'http'}://${host}:${port}`;
  const stop = async () => {
    running.delete(child);
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  return { port, url, dir, process: child, output: () => log, stop };
}

/**
 * Waits until the server listens: on `port` when it was given, else on whichever port it bound. The
 * bound port is read from /proc (the server's socket inodes in its listening TCP sockets): Prometheus
 * and the Pushgateway log it, but VictoriaMetrics only logs the ":0" it was given.
 */
async function waitUntilListening(child: ChildProcess, host: string, port: number | null, log: () => string): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${log().slice(-2000)}`);
    const listening = port === null ? listeningPort(child.pid!) : (await canConnect(host, port)) ? port : null;
    if (listening !== null) return listening;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not listen${port === null ? '' : ` on ${port}`} within 20 s: ${log().slice(-2000)}`);
}

/** The TCP port process `pid` listens on, or null while it listens on none. */
function listeningPort(pid: number): number | null {
  const sockets = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkOrEmpty(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined) sockets.add(inode);
    }
    for (const table of ['tcp', 'tcp6']) {
      // sl local_address rem_address st ... inode: the local port in hex, st 0A is LISTEN.
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[3] === '0A' && sockets.has(fields[9] ?? '')) return parseInt(fields[1]!.split(':')[1]!, 16);
      }
    }
  } catch {
    // the process is starting or gone: not listening (yet)
  }
  return null;
}

function readlinkOrEmpty(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return '';
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The real Pushgateway from Debian's prometheus-pushgateway, with its data in a temporary folder. */
export function startPushgateway(extraArgs: string[] = [], options: { scheme?: 'http' | 'https'; port?: number; host?: string } = {}): Promise<RunningServer> {
  return startServer(
    'prometheus-pushgateway',
    // An empty persistence file: Debian's default (/var/lib/prometheus/pushgateway.data) would be
    // shared by every test gateway and leak groups between tests.
    (port) => [
      `--web.listen-address=${options.host ?? '127.0.0.1'}:${port}`,
      ...(extraArgs.some((arg) => arg.startsWith('--persistence.file')) ? [] : ['--persistence.file=']),
      ...extraArgs,
    ],
    { readyPath: '/-/ready', label: 'pushgateway', ...options },
  );
}

/** The real Prometheus from Debian, as a remote_write receiver, storage in a temporary folder. */
export function startPrometheus(options: { port?: number; dir?: string; host?: string; extraArgs?: string[]; scheme?: 'http' | 'https' } = {}): Promise<RunningServer> {
  const { extraArgs = [], ...serverOptions } = options;
  return startServer(
    'prometheus',
    (port, dir) => {
      // An empty scrape config: this Prometheus only receives remote_write.
      writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
      return [
      `--web.listen-address=${options.host ?? '127.0.0.1'}:${port}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      '--web.enable-remote-write-receiver',
      ...extraArgs,
      ];
    },
    { readyPath: '/-/ready', label: 'prometheus', ...serverOptions },
  );
}
