import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { childFileLimit } from '../system/fileLimit.js';

export type ShellRun =
  | { kind: 'done'; stdout: string; stderr: string; exitCode: number }
  | { kind: 'timeout' }
  | { kind: 'worker-died'; message: string }
  | { kind: 'spawn-error'; message: string };

/** More output than any namespace's ip JSON: a runaway command is cut off instead of eating memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const NUL = 0;
const NUL_BYTE = Buffer.of(NUL);

/**
 * What the shells start with, whatever the agent inherited: a fixed PATH (a directory an operator's
 * environment put first cannot stand in for ip or nsenter), the C locale, and nothing else (no
 * BASH_ENV or ENV, whose file a non-interactive bash or sh would source).
 */
export const SHELL_ENVIRONMENT: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
};
/**
 * No start-up files: Node gives the shell socket stdio, so bash takes itself for a shell started by
 * rshd and sources /etc/bash.bashrc and ~/.bashrc when SHLVL is unset (under systemd, Docker, cron).
 */
export const BASH_WITHOUT_STARTUP_FILES = ['bash', '--norc', '--noprofile'] as const;

/** Where the command finds the namespace file the worker opened for it. */
export const NAMESPACE_FD_PATH = '/proc/self/fd/3';

/**
 * A long-lived bash that runs `command` once per namespace file written to its stdin (NUL-terminated,
 * since names may hold newlines; as bytes, since they need not be UTF-8), with the file open as
 * descriptor 3 (NAMESPACE_FD_PATH) and its name in "$f". A file that cannot be opened fails the run
 * without running the command. After each run it writes NUL, the exit code
 * and NUL on stdout, and NUL on stderr, which frames both streams (ip's JSON never holds a NUL).
 * It runs in its own process group, so a timeout kills the command and everything it started.
 */
export class ShellWorker {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  #pending: ((run: ShellRun) => void) | null = null;
  #stdout: Buffer[] = [];
  #stdoutBytes = 0;
  #stderr: Buffer[] = [];
  #stderrDone = false;
  #dead: string | null = null;

  constructor(command: string) {
    const childLimit = childFileLimit();
    const loop = [
      // The descriptor limit the agent raised for itself is not the children's: they get the usual one back.
      ...(childLimit === null ? [] : [`ulimit -Sn ${childLimit} 2>/dev/null`]),
      "while IFS= read -r -d '' f; do",
      `  ${command} </dev/null 3<"$f"`,
      "  printf '\\0%d\\0' \"$?\"",
      "  printf '\\0' >&2",
      'done',
    ].join('\n');
    const [bash, ...flags] = BASH_WITHOUT_STARTUP_FILES;
    this.#child = spawn(bash, [...flags, '-c', loop, 'bash'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: SHELL_ENVIRONMENT,
      cwd: '/',
    });
    // An idle worker must not keep the agent (or a test run) alive; a pending read's timer does.
    this.#child.unref();
    for (const stream of [this.#child.stdin, this.#child.stdout, this.#child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    this.#child.stdin.on('error', () => undefined);
    this.#child.stdout.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    this.#child.stderr.on('data', (chunk: Buffer) => this.#onStderr(chunk));
    this.#child.on('error', (error: NodeJS.ErrnoException) => this.#die(error.code ?? error.message, 'spawn-error'));
    this.#child.on('exit', (code, signal) => this.#die(`exited (${code ?? signal})`, 'worker-died'));
  }

  /** Whether the worker can take another read (it is alive and not busy). */
  get usable(): boolean {
    return this.#dead === null && this.#pending === null;
  }

  run(file: string | Buffer, timeoutMs: number): Promise<ShellRun> {
    if (this.#dead !== null) return Promise.resolve({ kind: 'worker-died', message: this.#dead });
    if (this.#pending !== null) throw new Error('ShellWorker is busy');
    return new Promise<ShellRun>((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        finish({ kind: 'timeout' });
      }, timeoutMs);
      const finish = (run: ShellRun) => {
        clearTimeout(timer);
        this.#pending = null;
        resolve(run);
      };
      this.#pending = finish;
      this.#stdout = [];
      this.#stdoutBytes = 0;
      this.#stderr = [];
      this.#stderrDone = false;
      this.#child.stdin.write(Buffer.concat([Buffer.from(file), NUL_BYTE]));
    });
  }

  /** Ends the worker's loop (stdin closes) and waits for it to exit, so its CPU is accounted to us. */
  async close(graceMs = 1_000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#dead === null) this.#dead = 'killed';
    try {
      if (this.#child.pid !== undefined) process.kill(-this.#child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  #onStdout(chunk: Buffer): void {
    this.#stdout.push(chunk);
    this.#stdoutBytes += chunk.length;
    if (this.#stdoutBytes > MAX_OUTPUT_BYTES) {
      this.kill();
      this.#pending?.({ kind: 'worker-died', message: 'output over 64 MiB' });
      return;
    }
    if (chunk.includes(NUL)) this.#tryFinish();
  }

  #onStderr(chunk: Buffer): void {
    const end = chunk.indexOf(NUL);
    if (end >= 0) {
      this.#stderr.push(chunk.subarray(0, end));
      this.#stderrDone = true;
      this.#tryFinish();
    } else if (this.#stderr.length < 16) {
      this.#stderr.push(chunk);
    }
  }

  /** Complete once stdout holds NUL code NUL and stderr its NUL. */
  #tryFinish(): void {
    if (this.#pending === null || !this.#stderrDone) return;
    const out = Buffer.concat(this.#stdout);
    const start = out.indexOf(NUL);
    const end = start < 0 ? -1 : out.indexOf(NUL, start + 1);
    if (end < 0) return;
    this.#pending({
      kind: 'done',
      stdout: out.subarray(0, start).toString('utf8'),
      stderr: Buffer.concat(this.#stderr).toString('utf8'),
      exitCode: Number(out.subarray(start + 1, end).toString('ascii')),
    });
  }

  #die(message: string, kind: 'worker-died' | 'spawn-error'): void {
    if (this.#dead === null || this.#dead === 'killed') this.#dead = message;
    this.#pending?.({ kind, message });
  }
}
