/**
 * Pure helpers of the benchmarks: reading what /usr/bin/time and the shell's `times` print, picking
 * the median run, laying out tables and checking the targets. Kept apart from the code that
 * spawns processes so they can be tested on literal input.
 */

/** What one measured process (with its children) cost. */
export interface Cost {
  wallMs: number;
  /** CPU time of the process and every child it waited for. */
  userMs: number;
  sysMs: number;
  /** Peak resident set of the largest single process in the tree (getrusage's ru_maxrss), or null. */
  maxRssKb: number | null;
}

/** The format handed to `/usr/bin/time -f`: elapsed s, user s, system s, max RSS KiB. */
export const TIME_FORMAT = 'NXBTIME %e %U %S %M';

/** Reads the line TIME_FORMAT produced; GNU time may print "Command exited with non-zero status" first. */
export function parseTimeOutput(text: string): Omit<Cost, 'wallMs'> {
  const match = /NXBTIME (\S+) (\S+) (\S+) (\d+)/.exec(text);
  if (match === null) throw new Error(`no NXBTIME line in /usr/bin/time output: ${JSON.stringify(text.slice(0, 200))}`);
  return { userMs: Number(match[2]) * 1000, sysMs: Number(match[3]) * 1000, maxRssKb: Number(match[4]) };
}

/**
 * Reads the POSIX shell's `times`: the first line is the shell's own user/system time, the second
 * that of its children ("0m1.234s 0m0.567s"); both are summed.
 */
export function parseShellTimes(text: string): Omit<Cost, 'wallMs'> {
  const values = [...text.matchAll(/(\d+)m([\d.]+)s/g)].map((match) => (Number(match[1]) * 60 + Number(match[2])) * 1000);
  if (values.length < 4) throw new Error(`expected two lines of "times" output, got ${JSON.stringify(text.slice(0, 200))}`);
  const [ownUser, ownSys, childUser, childSys] = values as [number, number, number, number];
  return { userMs: ownUser + childUser, sysMs: ownSys + childSys, maxRssKb: null };
}

/** The run with the median wall time (the lower middle one for an even count). */
export function medianRun<T extends { wallMs: number }>(runs: readonly T[]): T {
  if (runs.length === 0) throw new Error('median of no runs');
  const byWall = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  return byWall[Math.floor((byWall.length - 1) / 2)]!;
}

/** Fixed-width columns, numbers right-aligned, for a terminal. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => cells
    .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
    .join('  ')
    .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)];
}

export function fixed(value: number | null, digits = 0): string {
  return value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

/** One count's median agent run beside its median bare loop. */
export interface CorePoint {
  count: number;
  agent: Cost;
  bare: Cost;
}

export interface TargetCheck {
  target: string;
  met: boolean | null;
  detail: string;
}

/** The three targets of the issue, judged on the measured points (null: not measured at this size). */
export function checkTargets(points: readonly CorePoint[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const slower = points.filter((point) => point.agent.wallMs > point.bare.wallMs);
  checks.push({
    target: 'agent run no slower than the bare loop',
    met: points.length === 0 ? null : slower.length === 0,
    detail: points.map((point) => `${point.count}: ${(point.agent.wallMs / point.bare.wallMs).toFixed(2)}×`).join(', '),
  });
  const sorted = [...points].sort((a, b) => a.count - b.count);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first !== undefined && last !== undefined && last.count > first.count) {
    const growth = (last.agent.wallMs / last.count) / (first.agent.wallMs / first.count);
    checks.push({
      target: `ms per namespace flat from ${first.count} to ${last.count} (within 25 %)`,
      met: growth <= 1.25,
      detail: sorted.map((point) => `${point.count}: ${(point.agent.wallMs / point.count).toFixed(2)} ms`).join(', ') + ` (×${growth.toFixed(2)})`,
    });
  } else {
    checks.push({ target: 'ms per namespace flat', met: null, detail: 'needs two sizes' });
  }
  const at1000 = points.find((point) => point.count === 1000);
  checks.push({
    target: 'peak RSS under 150 MB at 1,000 namespaces',
    met: at1000?.agent.maxRssKb == null ? null : at1000.agent.maxRssKb < 150 * 1024,
    detail: at1000?.agent.maxRssKb == null ? 'not measured' : `${(at1000.agent.maxRssKb / 1024).toFixed(1)} MB`,
  });
  return checks;
}

export function describeCheck(check: TargetCheck): string {
  const verdict = check.met === null ? 'n/a ' : check.met ? 'MET ' : 'MISS';
  return `${verdict}  ${check.target}: ${check.detail}`;
}
