/**
 * Where a setns collection's CPU goes, by phase of a read, over every thread's `.cpuprofile` (node
 * --cpu-prof writes one per thread): start-up, the kernel's work (setns, netlink, opens), the parse,
 * the packed reply, the watchdog, the garbage collector. Run as a script on a profile folder:
 *   node --max-semi-space-size=2 --cpu-prof --cpu-prof-dir=/tmp/p dist/agent/main.js --dry-run --config c.yaml
 *   node dist/bench/setnsSplit.js /tmp/p
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CpuProfile } from './cpuProfile.js';

const KERNEL_FS = 'kernel: open, close, stat, readlink';
const KERNEL_FFI = 'kernel: setns and netlink via koffi';
const PARSE = 'parse (netlink, proc values)';
const REPLY = 'packed reply (pack, post, unpack)';
const WATCHDOG = 'watchdog';
const GC = 'garbage collector (per-read allocations)';
const STARTUP = 'start-up: threads, modules, koffi';
const IDLE = 'idle';

/** The phase a profile frame belongs to, by its function and script. */
export function setnsPhaseOf(functionName: string, url: string): string {
  if (functionName === '(idle)') return IDLE;
  if (functionName === '(garbage collector)') return GC;
  if (['open', 'close', 'fstat', 'readlink', 'lstat', 'stat', 'readFileUtf8', 'read'].includes(functionName) && url === '') return KERNEL_FS;
  if (url.endsWith('/readers/netnsLibc.js')) return KERNEL_FFI;
  if (url.endsWith('/parse/netlink.js') || url.endsWith('/collectors/procMetrics.js')) return PARSE;
  if (url.endsWith('/packedInterfaces.js') || functionName === 'postMessage' || functionName === 'shareOneBuffer') return REPLY;
  if (['#checkProgress', '#watch'].includes(functionName)) return WATCHDOG;
  if (/^node:internal\/(modules|bootstrap|main|process\/pre_execution)/.test(url) || ['startThread', 'compileFunction', 'internalBinding'].includes(functionName) || url.includes('/node_modules/koffi/')) {
    return STARTUP;
  }
  if (url.includes('/dist/agent/readers/')) return 'reader code (pool, worker loop, bookkeeping)';
  if (url.includes('/dist/')) return 'rest of the agent (discovery, snapshot, registry)';
  if (url.includes('/node_modules/')) return 'dependencies (prom-client, pino, ...)';
  return 'node and V8 (other)';
}

/** Self time per phase in ms, summed over the profiles. */
export function splitProfiles(profiles: readonly CpuProfile[]): Map<string, number> {
  const split = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((id, index) => {
      const frame = byId.get(id);
      if (frame === undefined) return;
      const phase = setnsPhaseOf(frame.functionName, frame.url);
      split.set(phase, (split.get(phase) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
    });
  }
  return split;
}

function main(folder: string): void {
  const files = readdirSync(folder).filter((name) => name.endsWith('.cpuprofile')).sort();
  const profiles = files.map((name) => JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as CpuProfile);
  const split = splitProfiles(profiles);
  const busy = [...split].filter(([phase]) => phase !== IDLE).reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`${files.length} thread profile(s), ${busy.toFixed(0)} ms of CPU (idle left out):`);
  for (const [phase, ms] of [...split].sort((a, b) => b[1] - a[1])) {
    if (phase !== IDLE) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / busy).toFixed(0).padStart(3)} %  ${phase}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1])) && process.argv[2] !== undefined) main(process.argv[2]);
