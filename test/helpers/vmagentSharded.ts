import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { startVictoriaMetrics } from './remoteWrite.js';
import { startServer, tempDir, type RunningServer } from './servers.js';

/**
 * The central tier that scales out, from Debian's packages on loopback: haproxy → two `vmagent`s →
 * two `victoria-metrics` storage nodes. vmagent 1.79 has no -remoteWrite.shardByURL: each vmagent
 * writes to both storage URLs, each URL with a relabel config keeping the series whose
 * `hashmod` of their labels is that shard's, so a series lands on the same shard whichever vmagent
 * took it.
 */
export interface ShardedTier {
  /** What the agents are configured with: haproxy's write URL. */
  writeUrl: string;
  storage: RunningServer[];
  /** Stops vmagent `index` with SIGTERM (it flushes what it holds first). */
  stopAgent(index: number): Promise<void>;
  /** Starts vmagent `index` again on its port. */
  startAgent(index: number): Promise<void>;
  /** haproxy's log, for failure messages. */
  log(): string;
  /** haproxy, the agents' one address, and the tier's folder. */
  front: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

/** The labels a series' shard is hashed from: every label the agent's series carry. */
const SHARD_LABELS = ['__name__', 'instance', 'netns', 'device', 'series', 'host', 'router', 'deviceIP', 'operstate', 'address', 'link_type', 'state', 'reason', 'target', 'reader'];

export async function startShardedTier(): Promise<ShardedTier> {
  const dir = tempDir('vmagent-sharded');
  const storage = [await startVictoriaMetrics(), await startVictoriaMetrics()];
  const relabel = storage.map((_, shard) => {
    const file = path.join(dir, `shard${shard}.yml`);
    writeFileSync(file, [
      `- action: hashmod`,
      `  source_labels: [${SHARD_LABELS.join(', ')}]`,
      `  modulus: ${storage.length}`,
      `  target_label: __tmp_shard`,
      `- action: keep`,
      `  source_labels: [__tmp_shard]`,
      `  regex: "${shard}"`,
      '',
    ].join('\n'));
    return file;
  });
  const ports = [await freePort(), await freePort()];
  const agents: (RunningServer | null)[] = [null, null];
  const startAgent = async (index: number): Promise<void> => {
    agents[index] = await startServer('vmagent', () => [
      `-httpListenAddr=127.0.0.1:${ports[index]}`,
      ...storage.flatMap((server, shard) => [`-remoteWrite.url=${server.url}/api/v1/write`, `-remoteWrite.urlRelabelConfig=${relabel[shard]}`]),
      // Its queue on disk: what it acknowledged survives a restart (not a kill -9 of the page cache).
      `-remoteWrite.tmpDataPath=${path.join(dir, `vmagent${index}`)}`,
      '-remoteWrite.flushInterval=200ms',
      '-loggerLevel=ERROR',
    ], { readyPath: '/health', label: `vmagent${index}`, port: ports[index]! });
  };
  await startAgent(0);
  await startAgent(1);
  const front = await freePort();
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(config, [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 10s',
    '  timeout server 10s',
    '  retries 3',
    '  option redispatch',
    'frontend write',
    `  bind 127.0.0.1:${front}`,
    '  default_backend vmagents',
    'backend vmagents',
    '  balance roundrobin',
    '  option httpchk GET /health',
    ...ports.map((port, index) => `  server vmagent${index} 127.0.0.1:${port} check inter 200ms fall 1 rise 2`),
    '',
  ].join('\n'));
  let haproxyLog = '';
  const haproxy: ChildProcess = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy.stdout!.on('data', (chunk) => (haproxyLog += chunk));
  haproxy.stderr!.on('data', (chunk) => (haproxyLog += chunk));
  await waitForPort(front, () => haproxyLog);
  return {
    writeUrl: `http://127.0.0.1:${front}/api/v1/write`,
    storage,
    async stopAgent(index) {
      await agents[index]?.stop();
      agents[index] = null;
    },
    startAgent,
    log: () => haproxyLog,
    front: haproxy,
    dir,
    async stop() {
      haproxy.kill('SIGTERM');
      for (const agent of agents) await agent?.stop();
      for (const server of storage) await server.stop();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`haproxy did not listen on ${port}: ${log().slice(-1000)}`);
}
