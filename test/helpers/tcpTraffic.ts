import { spawn, type ChildProcess } from 'node:child_process';
import type { CollectorFilesRaw } from '../../shared/snapshot.js';
import { addNamespace, addVeth, inNs } from './netns.js';

const SERVER_IP = '10.199.14.1';
const CLIENT_IP = '10.199.14.2';
const LISTEN_PORT = 5514;
export const CLOSED_PORT = 5515;

/** Two test namespaces joined by a veth: `server` (10.199.14.1, tracks connections) and `client`. */
export interface TcpPair {
  server: string;
  client: string;
  serverIp: string;
}

export function addTcpPair(suffix = 'tcp'): TcpPair {
  const server = addNamespace(`${suffix}s`);
  const client = addNamespace(`${suffix}c`);
  const devices = { server: `nx${process.pid % 10000}s`, client: `nx${process.pid % 10000}c` };
  addVeth({ ns: server, dev: devices.server }, { ns: client, dev: devices.client });
  for (const [ns, dev, ip] of [[server, devices.server, SERVER_IP], [client, devices.client, CLIENT_IP]] as const) {
    inNs(ns, ['ip', 'addr', 'add', `${ip}/30`, 'dev', dev]);
    inNs(ns, ['ip', 'link', 'set', dev, 'up']);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  // A namespace tracks connections only once a stateful rule asks for it.
  inNs(server, ['iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  return { server, client, serverIp: SERVER_IP };
}

/**
 * A listener in `server` that never accepts (its thread is blocked after listen() with backlog 1),
 * so further connections overflow its accept queue. Resolves once it listens; stop() kills it.
 */
export async function startStuckListener(pair: TcpPair): Promise<{ stop: () => void }> {
  const script = `require('net').createServer().listen({ host: '${pair.serverIp}', port: ${LISTEN_PORT}, backlog: 1 }, () => {
    process.stdout.write('listening\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
  });`;
  const child = spawn('ip', ['netns', 'exec', pair.server, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('listening')) resolve(); });
    child.once('exit', (code) => reject(new Error(`listener in ${pair.server} exited with ${code}`)));
  });
  return { stop: () => stop(child) };
}

/**
 * From `client`: `connections` connections to the stuck listener (held for `holdMs`, so SYNs are
 * dropped and retransmitted) and one to a closed port (refused with a reset).
 */
export function connectFromClient(pair: TcpPair, connections: number, holdMs: number): void {
  const script = `const net = require('net');
    const sockets = [];
    for (let i = 0; i < ${connections}; i++) sockets.push(net.connect(${LISTEN_PORT}, '${pair.serverIp}').on('error', () => {}));
    net.connect(${CLOSED_PORT}, '${pair.serverIp}').on('error', () => {});
    setTimeout(() => { for (const s of sockets) s.destroy(); process.exit(0); }, ${holdMs});`;
  inNs(pair.client, [process.execPath, '-e', script]);
}

/** The kernel's own view of the collector files, as the issue asks: `ip netns exec NS cat FILE`. */
export function kernelCollectorFiles(ns: string, files: readonly string[]): CollectorFilesRaw {
  return Object.fromEntries(files.map((file) => {
    try {
      return [file, inNs(ns, ['cat', `/proc/${file}`])];
    } catch {
      return [file, null];
    }
  }));
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
}

