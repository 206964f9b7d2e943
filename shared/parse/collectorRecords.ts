import { shellQuote } from '../shellQuote.js';
import type { CollectorFileRead, CollectorFilesRaw } from '../snapshot.js';

/**
 * How a shell reading namespace files frames the collector files in its output: per file a mark,
 * the path, a tab, a status (`+` read, `-` does not exist, `!` exists but unreadable) and a
 * newline, then (for `+`) the file's lines. /proc text never holds the mark (ASCII group
 * separator), nor the proc_metrics record mark (record separator) it differs from.
 */
export const COLLECTOR_RECORD_MARK = '\x1d';

/**
 * Two bash fragments for `files` (paths relative to `procRoot`), with builtins only (`[`, `mapfile`,
 * `printf`): no process per file. `read` takes each file into shell variables, `write` prints them
 * in that framing. Between the two the shell may run other commands: the reader reads the files
 * before `ip`, whose netlink socket would otherwise still count in the namespace's
 * `sockets: used` (the kernel frees it a moment after ip exits), and writes them after ip's
 * JSON. `mapfile` reads whole blocks, so sysctl files (which answer a read at offset > 0 with
 * EOF) come out whole. A path that is not a regular file counts as unreadable. Self-contained
 * (neither uses "$@"), so they fit around the proc_metrics loop in the same script.
 */
export function collectorShellFragments(procRoot: string, files: readonly string[]): { read: string; write: string } {
  const root = shellQuote(procRoot);
  const read = files.map((file, index) => {
    const path = `${root}/${shellQuote(file)}`;
    // Two path lookups for a file that exists (the usual case): lookups under /proc/sys/net/netfilter
    // are slow on a host with many namespaces (README, Benchmark results).
    return `if [ -f ${path} ]; then if mapfile -t c${index} < ${path} 2>/dev/null; then s${index}=+; else s${index}='!'; fi; elif [ -e ${path} ]; then s${index}='!'; else s${index}=-; fi`;
  });
  const write = files.map((file, index) =>
    `printf '${COLLECTOR_RECORD_MARK}%s\\t%s\\n' ${shellQuote(file)} "$s${index}"; [ "$s${index}" != + ] || printf '%s\\n' "\${c${index}[@]}"`);
  return { read: read.join('\n') || ':', write: write.join('\n') || ':' };
}

/**
 * Splits a reader's output at the first collector record: what comes before (ip's JSON, the
 * proc_metrics records) is returned untouched, the records become the raw collector files.
 */
export function splitCollectorRecords(stdout: string): { before: string; files: CollectorFilesRaw } {
  const first = stdout.indexOf(COLLECTOR_RECORD_MARK);
  if (first < 0) return { before: stdout, files: {} };
  const files: Record<string, CollectorFileRead> = {};
  for (const record of stdout.slice(first + 1).split(COLLECTOR_RECORD_MARK)) {
    const headerEnd = record.indexOf('\n');
    const header = headerEnd < 0 ? record : record.slice(0, headerEnd);
    const tab = header.lastIndexOf('\t');
    const path = header.slice(0, tab);
    const status = header.slice(tab + 1);
    // A record cut short (the output ended mid-header) says nothing: the file counts as not read.
    if (tab <= 0 || headerEnd < 0) continue;
    if (status === '+') files[path] = record.slice(headerEnd + 1);
    else if (status === '-') files[path] = null;
    else files[path] = { error: 'exists but cannot be read' };
  }
  return { before: stdout.slice(0, first), files };
}
