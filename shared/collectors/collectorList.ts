import type { CollectorsConfig } from '../config/configTypes.js';
import { ParseError } from '../parse/error.js';
import type { CollectorFilesRaw, CollectorSample } from '../snapshot.js';
import type { CollectorFile, FileCollector, ParsedStats, ReadContext, ReadFile } from './collector.js';
import { conntrack } from './conntrack.js';
import { netstat } from './netstat.js';
import { sockstat } from './sockstat.js';

/**
 * The collectors that read files in each namespace, in the order their files are read. The readers
 * read what these declare and the registry writes what they return: a new one is added here.
 */
export const FILE_COLLECTORS: readonly FileCollector[] = [netstat, sockstat, conntrack];

/** The files a reader must read for this configuration (none when all are off). */
export function collectorFiles(config: CollectorsConfig): CollectorFile[] {
  return FILE_COLLECTORS.filter((collector) => config[collector.name].enabled).flatMap((collector) => collector.files);
}

/** `files` split into those to read in each namespace and those to read once in the agent's own (hostWide). */
export function splitHostWide(files: readonly CollectorFile[]): { perNamespace: CollectorFile[]; hostWide: CollectorFile[] } {
  return { perNamespace: files.filter((file) => !file.hostWide), hostWide: files.filter((file) => file.hostWide) };
}

/** The files' text as read inside one namespace → the collectors' part of its sample. */
export function collectorSample(raw: CollectorFilesRaw, config: CollectorsConfig, context: ReadContext = { ownSockets: 0 }): CollectorSample {
  const sample: CollectorSample = { netstat: {}, sockstat: {}, conntrack: {}, errors: [] };
  const read: ReadFile = (file, parse) => parseFile(raw, file.procPath, parse, sample.errors);
  for (const collector of FILE_COLLECTORS) {
    if (config[collector.name].enabled) sample[collector.name] = collector.sample(read, config, context);
  }
  return sample;
}

/** One file's values; a missing file gives none silently, an unreadable or damaged one notes why. */
function parseFile(raw: CollectorFilesRaw, file: string, parse: (text: string) => ParsedStats, errors: string[]): Record<string, number> {
  const content = raw[file];
  if (content === null) return {};
  if (content === undefined) {
    errors.push(`${file}: not read`);
    return {};
  }
  if (typeof content !== 'string') {
    errors.push(`${file}: ${content.error}`);
    return {};
  }
  try {
    const parsed = parse(content);
    for (const note of parsed.skipped) errors.push(`${file}: ${note}`);
    return parsed.values;
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    errors.push(`${file}: ${error.message}`);
    return {};
  }
}
