import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TIME_FORMAT, parseShellTimes, parseTimeOutput, type Cost } from './figures.js';

export interface MeasureOptions {
  /** Where the command's stdout goes (the agent's exposition); /dev/null when absent. */
  stdoutPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Where GNU time lives; the fallback (the shell's `times`, no RSS) is used when it is missing. */
  timeCommand?: string;
}

export interface Measured extends Cost {
  exitCode: number | null;
  stderr: string;
  /** How CPU and RSS were taken, for the report. */
  method: 'gnu-time' | 'shell-times';
}

/**
 * Runs a command to the end and measures it with its children: wall time from here, CPU time and
 * peak RSS from GNU time (getrusage of the waited-for tree). Without GNU time the POSIX shell's
 * `times` gives the CPU time and RSS stays unknown.
 */
export async function measureCommand(command: string, args: readonly string[], options: MeasureOptions = {}): Promise<Measured> {
  const timeCommand = options.timeCommand ?? '/usr/bin/time';
  const report = path.join(tmpdir(), `nxb-time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const useTime = existsSync(timeCommand);
  const argv = useTime
    ? [timeCommand, '-f', TIME_FORMAT, '-o', report, command, ...args]
    : ['sh', '-c', '"$@"; status=$?; times > "$NXB_TIMES"; exit $status', 'sh', command, ...args];
  const out = openSync(options.stdoutPath ?? '/dev/null', 'w');
  try {
    const started = performance.now();
    const { exitCode, stderr } = await run(argv, out, { ...(options.env ?? process.env), NXB_TIMES: report });
    const wallMs = performance.now() - started;
    const text = existsSync(report) ? readFileSync(report, 'utf8') : '';
    const cost = useTime ? parseTimeOutput(text) : parseShellTimes(text);
    return { wallMs, ...cost, exitCode, stderr, method: useTime ? 'gnu-time' : 'shell-times' };
  } finally {
    closeSync(out);
    rmSync(report, { force: true });
  }
}

function run(argv: readonly string[], stdoutFd: number, env: NodeJS.ProcessEnv): Promise<{ exitCode: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, { stdio: ['ignore', stdoutFd, 'pipe'], env });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString();
    });
    child.on('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    child.on('close', (exitCode) => resolve({ exitCode, stderr }));
  });
}
