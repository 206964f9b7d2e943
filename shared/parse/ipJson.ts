import { INTERFACE_STATS, type InterfaceStat } from '../interfaceStats.js';
import type { InterfaceAddress, InterfaceSample } from '../snapshot.js';
import { ParseError } from './error.js';

/**
 * Parses `ip -j -s -s addr show` (iproute2's JSON of RTM_GETLINK + RTM_GETADDR with
 * rtnl_link_stats64): one entry per device, with its addresses and all 24 statistics.
 */
export function parseIpAddrJson(text: string): InterfaceSample[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseError(`ip output is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ParseError('ip output is not a JSON list');
  return data.filter(isRecord).filter((entry) => typeof entry.ifname === 'string').map(toInterfaceSample);
}

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toInterfaceSample(entry: JsonRecord): InterfaceSample {
  const name = entry.ifname as string;
  const stats64 = isRecord(entry.stats64) ? entry.stats64 : null;
  if (stats64 === null) throw new ParseError(`device ${JSON.stringify(name)} has no stats64 (was ip run with -s -s?)`);
  return {
    name,
    ifindex: numberOr(entry.ifindex, 0),
    operstate: typeof entry.operstate === 'string' ? entry.operstate : 'UNKNOWN',
    mtu: numberOr(entry.mtu, 0),
    mac: typeof entry.address === 'string' ? entry.address : '',
    linkType: typeof entry.link_type === 'string' ? entry.link_type : '',
    addresses: Array.isArray(entry.addr_info) ? entry.addr_info.filter(isRecord).flatMap(toAddress) : [],
    stats: readStats(name, stats64),
  };
}

function readStats(device: string, stats64: JsonRecord): Record<InterfaceStat, number> {
  const stats = {} as Record<InterfaceStat, number>;
  for (const stat of INTERFACE_STATS) {
    const { direction, key, zeroWhenAbsent } = ipJsonLocation(stat);
    const group = stats64[direction];
    const value = isRecord(group) ? group[key] : undefined;
    if (typeof value === 'number') stats[stat] = value;
    else if (value === undefined && zeroWhenAbsent) stats[stat] = 0;
    else throw new ParseError(`device ${JSON.stringify(device)}: statistic ${stat} missing from ip output`);
  }
  return stats;
}

function toAddress(info: JsonRecord): InterfaceAddress[] {
  if ((info.family !== 'inet' && info.family !== 'inet6') || typeof info.local !== 'string') return [];
  return [{
    family: info.family,
    address: info.local,
    prefixLength: numberOr(info.prefixlen, 0),
    scope: typeof info.scope === 'string' ? info.scope : '',
  }];
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/**
 * Where a statistic sits in iproute2's JSON (`ip -j -s -s`), which reads the same
 * rtnl_link_stats64 over netlink. iproute2 omits `compressed` and `nohandler` while they are zero,
 * hence `zeroWhenAbsent`.
 */
interface IpJsonStatLocation {
  direction: 'rx' | 'tx';
  key: string;
  zeroWhenAbsent: boolean;
}

function ipJsonLocation(stat: InterfaceStat): IpJsonStatLocation {
  if (stat === 'collisions') return { direction: 'tx', key: 'collisions', zeroWhenAbsent: false };
  if (stat === 'multicast') return { direction: 'rx', key: 'multicast', zeroWhenAbsent: false };
  const direction = stat.startsWith('rx_') ? 'rx' : 'tx';
  const key = stat.slice(3);
  return { direction, key, zeroWhenAbsent: key === 'compressed' || key === 'nohandler' };
}
