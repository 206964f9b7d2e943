import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A free loopback port, chosen by the kernel. */
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
 * Starts a real server (prometheus, prometheus-pushgateway) on loopback and waits until `readyPath`
 * answers. `args` receives the port and a fresh temporary folder; both go away on stop().
 */
export async function startServer(
  command: string,
  args: (port: number, dir: string) => string[],
  options: { readyPath: string; label: string; scheme?: 'http' | 'https'; port?: number; dir?: string; host?: string },
): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? tempDir(options.label);
  const child = spawn(command, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let log = '';
  child.stdout?.on('data', (chunk) => (log += chunk));
  child.stderr?.on('data', (chunk) => (log += chunk));
  const host = options.host ?? '127.0.0.1';
  const url = `${options.scheme ?? 'http'}://${host}:${port}`;
  await waitForPort(host, port, child, () => log);
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

async function waitForPort(host: string, port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${log().slice(-2000)}`);
    if (await canConnect(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not listen on ${port} within 20 s: ${log().slice(-2000)}`);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
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
      ...(options.extraArgs ?? []),
      ];
    },
    { readyPath: '/-/ready', label: 'prometheus', ...options },
  );
}
