import { readdirSync, statSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/**
 * prom-client's process_open_fds, counted without listing the descriptors: its own collector reads
 * /proc/self/fd whole every time, which with the setns reader's held handles (three descriptors per
 * namespace) is thousands of names per cycle, milliseconds and as many strings to collect. Since
 * Linux 6.2 the folder's size is the count; an older kernel reports 0 there, and it is listed then.
 * Same name, help and value as prom-client's, which this replaces in `registry`.
 */
export function replaceOpenFdsGauge(registry: Registry, prefix: string, procRoot: string): void {
  const name = `${prefix}process_open_fds`;
  registry.removeSingleMetric(name);
  const folder = `${procRoot}/self/fd`;
  new Gauge({
    name,
    help: 'Number of open file descriptors.',
    registers: [registry],
    collect() {
      try {
        this.set(openDescriptors(folder));
      } catch {
        // As prom-client: the last value stays.
      }
    },
  });
}

function openDescriptors(folder: string): number {
  const counted = statSync(folder).size;
  if (counted > 0) return counted;
  // Less one: the descriptor readdir itself had open while it listed them.
  return readdirSync(folder).length - 1;
}
