/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) into "where did the time go": self time per function
 * and per area (our code, prom-client, Node's child_process, GC, idle), so a slow run can be
 * explained in the benchmark's own output.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  areas: { area: string; ms: number }[];
  functions: { name: string; ms: number }[];
}

/** Which part of the process a frame belongs to, by its script URL. */
export function areaOf(functionName: string, url: string): string {
  if (functionName === '(idle)') return 'idle (waiting for children)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8/native (program)';
  if (url.includes('/node_modules/')) return `dependency ${/\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '?'}`;
  if (/^node:internal\/(modules|bootstrap|process\/pre_execution)/.test(url)) return 'node start-up and module loading';
  if (url.startsWith('node:')) return /^node:internal\/(child_process|streams|fs)/.test(url) ? `node ${url.slice('node:internal/'.length).split('/')[0]}` : 'node (other)';
  if (url.includes('/dist/')) return `ours ${url.slice(url.indexOf('/dist/') + '/dist/'.length).split('/').slice(0, -1).join('/') || '.'}`;
  return url === '' ? 'native/builtin' : 'other';
}

/**
 * `window` (µs on the profile's clock, CLOCK_MONOTONIC: the same as process.hrtime in any process
 * of the host) keeps only the samples taken within it, e.g. the steady cycles of a long run.
 */
export function summarizeProfile(profile: CpuProfile, top = 10, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const perFunction = new Map<string, number>();
  const perArea = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const deltaUs = profile.timeDeltas[index] ?? 0;
    at += deltaUs;
    const ms = deltaUs / 1000;
    if (node === undefined) return;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split('/').slice(-1)[0] ?? '';
    const name = `${functionName || '(anonymous)'} ${file}${file ? `:${lineNumber + 1}` : ''}`.trim();
    perFunction.set(name, (perFunction.get(name) ?? 0) + ms);
    const area = areaOf(functionName, url);
    perArea.set(area, (perArea.get(area) ?? 0) + ms);
  });
  const ranked = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: window === undefined ? (profile.endTime - profile.startTime) / 1000 : (window.toUs - window.fromUs) / 1000,
    areas: ranked(perArea).map(([area, ms]) => ({ area, ms })),
    functions: ranked(perFunction).slice(0, top).map(([name, ms]) => ({ name, ms })),
  };
}
