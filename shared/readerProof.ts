import { INTERFACE_STATS } from './interfaceStats.js';
import type { InterfaceSample, NamespaceSample } from './snapshot.js';

/**
 * The verdict on a candidate reader's reading of one namespace, taken between two readings by the
 * trusted reader (nsenter): `before`, then `candidate`, then `after`.
 *
 * Counters move between reads, so an exact comparison would fail on any namespace with traffic,
 * and a comparison of structure alone would miss a reader that reads the right devices from the
 * wrong place. The bracket settles both: every interface statistic is a kernel counter that only
 * grows, so the candidate's must lie between the two trusted readings; everything else (devices,
 * their index, MAC, MTU, type, addresses, operstate, which proc files and collector figures are
 * there) must equal both; a proc value that stayed put between the two trusted readings must equal
 * them too (one that moved is a level, such as a conntrack count, and proves nothing).
 *
 * `moving`: the two trusted readings differ in something that should hold still (a device came or
 * went, a link flapped): nothing can be concluded, read again.
 */
export type ProofVerdict = { verdict: 'agree' } | { verdict: 'differ'; reason: string } | { verdict: 'moving'; reason: string };

export function compareProofReadings(before: NamespaceSample, candidate: NamespaceSample, after: NamespaceSample): ProofVerdict {
  const steady = steadyFacts(before);
  const steadyAfter = steadyFacts(after);
  for (const [key, value] of steady) {
    if (steadyAfter.get(key) !== value) return { verdict: 'moving', reason: `${key} changed between the nsenter readings` };
  }
  if (steadyAfter.size !== steady.size) return { verdict: 'moving', reason: 'the namespace changed between the nsenter readings' };
  const seen = steadyFacts(candidate);
  for (const [key, value] of steady) {
    if (seen.get(key) !== value) return { verdict: 'differ', reason: `${key}: ${seen.get(key) ?? 'absent'}, nsenter read ${value}` };
  }
  for (const key of seen.keys()) if (!steady.has(key)) return { verdict: 'differ', reason: `${key}: not in nsenter's reading` };
  const beforeDevices = byName(before.interfaces);
  const afterDevices = byName(after.interfaces);
  for (const device of candidate.interfaces) {
    for (const stat of INTERFACE_STATS) {
      const low = beforeDevices.get(device.name)!.stats[stat];
      const high = afterDevices.get(device.name)!.stats[stat];
      const value = device.stats[stat];
      if (!(value >= low && value <= high)) return { verdict: 'differ', reason: `${device.name} ${stat} ${value} not within ${low}..${high}` };
    }
  }
  for (const [name, value] of Object.entries(before.proc)) {
    if (after.proc[name] === value && candidate.proc[name] !== value) {
      return { verdict: 'differ', reason: `proc ${name}: ${candidate.proc[name]}, nsenter read ${value} twice` };
    }
  }
  return { verdict: 'agree' };
}

/** What must not change between readings, as `key → value` text. */
function steadyFacts(sample: NamespaceSample): Map<string, string> {
  const facts = new Map<string, string>();
  facts.set('devices', sample.interfaces.map((device) => device.name).sort().join(','));
  for (const device of sample.interfaces) {
    facts.set(`${device.name} ifindex`, String(device.ifindex));
    facts.set(`${device.name} mac`, device.mac);
    facts.set(`${device.name} mtu`, String(device.mtu));
    facts.set(`${device.name} link type`, device.linkType);
    facts.set(`${device.name} operstate`, device.operstate);
    facts.set(`${device.name} addresses`, JSON.stringify(device.addresses));
  }
  facts.set('proc files read', Object.keys(sample.proc).sort().join(','));
  facts.set('proc files unreadable', [...sample.procErrors].sort().join(','));
  const collectors = sample.collectors;
  if (collectors !== undefined) {
    for (const part of ['netstat', 'sockstat', 'conntrack'] as const) facts.set(`${part} figures`, Object.keys(collectors[part]).sort().join(','));
  }
  return facts;
}

function byName(interfaces: readonly InterfaceSample[]): Map<string, InterfaceSample> {
  return new Map(interfaces.map((device) => [device.name, device]));
}
