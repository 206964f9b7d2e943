import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from './servers.js';

/** The built agent, run as users run it: the `netns-exporter` command's entry. */
export const AGENT = new URL('../../agent/bin.js', import.meta.url).pathname;

export function writeConfig(config: unknown, label = 'config'): string {
  const file = path.join(tempDir(label), 'config.yaml');
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

export interface AgentRun {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `wrap`: a command that runs the agent, such as setpriv dropping privileges. */
export function runAgent(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; wrap?: string[] } = {}): AgentRun {
  const started = Date.now();
  const [command, ...rest] = [...(options.wrap ?? []), process.execPath, AGENT, ...args];
  const result = spawnSync(command!, rest, {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
}

/** Starts a long-running agent; `output()` holds its log so far. */
export function startAgent(args: string[], env: Record<string, string> = {}, wrap: string[] = []): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const [command, ...rest] = [...wrap, process.execPath, AGENT, ...args];
  const child = spawn(command!, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.on('exit', () => child.kill('SIGKILL'));
  return { child, output: () => log, exited };
}

/**
 * Polls `probe` until it returns something other than null or false (a thrown error counts as not
 * yet), then returns it; on timeout throws naming `what`, with the tail of `context()` (a log).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  options: { timeoutMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}\n${options.context?.().slice(-3000) ?? ''}`);
}
