import type { ProcMetricConfig } from '../config/configTypes.js';
import type { NamespaceSample } from '../snapshot.js';
import { parseIpAddrJson } from './ipJson.js';
import { parseProcValue } from '../collectors/procMetrics.js';

/** Separates the proc records from ip's JSON; iproute2 escapes control characters, so it never emits one. */
export const PROC_RECORD_MARK = '\x1e';
/** What the reader's shell prints instead of a value when a /proc file cannot be read. */
export const PROC_UNREADABLE = '!';

/**
 * Parses one namespace read by the nsenter reader. Without proc_metrics, `ip -j -s -s addr show`
 * alone. With them, one record per configured /proc file first (MARK index TAB value, or "!"), in
 * the order of `procMetrics`, then MARK and ip's JSON: the shell reads the files and then becomes ip.
 */
export function parseNsenterOutput(stdout: string, procMetrics: readonly ProcMetricConfig[]): Omit<NamespaceSample, 'collectors'> {
  const parts = stdout.split(PROC_RECORD_MARK);
  const ipJson = parts.pop() ?? '';
  const records = parts.slice(1);
  const sample: Omit<NamespaceSample, 'collectors'> = { interfaces: parseIpAddrJson(ipJson), proc: {}, procErrors: [] };
  const seen = new Set<number>();
  for (const record of records) {
    const tab = record.indexOf('\t');
    const metric = procMetrics[Number(record.slice(0, tab))];
    if (tab < 0 || metric === undefined) continue;
    seen.add(procMetrics.indexOf(metric));
    const value = record.slice(tab + 1);
    const number = value.trim() === PROC_UNREADABLE ? null : parseProcValue(value);
    if (number === null) sample.procErrors.push(metric.name);
    else sample.proc[metric.name] = number;
  }
  procMetrics.forEach((metric, index) => {
    if (!seen.has(index)) sample.procErrors.push(metric.name);
  });
  return sample;
}

/**
 * The nsenter reader's output as records (proc_metrics, then collector files) and ip's JSON, which
 * comes last, after the final MARK; without either kind of record the output is ip's JSON alone.
 */
export function splitAtIpJson(stdout: string): { records: string; ipJson: string } {
  const last = stdout.lastIndexOf(PROC_RECORD_MARK);
  return last < 0 ? { records: '', ipJson: stdout } : { records: stdout.slice(0, last), ipJson: stdout.slice(last) };
}
