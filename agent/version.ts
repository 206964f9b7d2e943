import { readFileSync } from 'node:fs';
import type { BuildInfo } from '../shared/metrics/families.js';

/** Version from package.json (two folders up from dist/agent); revision from the build environment. */
export function buildInfo(): BuildInfo {
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // running from an unusual layout: the version is informational only
  }
  return { version, revision: process.env.NETNS_EXPORTER_REVISION ?? '', nodeversion: process.version };
}
