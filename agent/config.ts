import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDocument } from 'yaml';
import { parseConfig } from '../shared/config/schema.js';
import type { Config } from '../shared/config/types.js';

export type LoadedConfig = { ok: true; config: Config; source: string; pushFingerprint: string } | { ok: false; errors: string[] };

/**
 * Reads and validates the config file. A file named on the command line must exist; the default
 * path may be absent, and then the built-in defaults apply. Errors come back as `key: reason` lines.
 */
export function loadConfig(file: string, explicit: boolean, overrides: { threads: number | null; logLevel: string | null }): LoadedConfig {
  let text: string | null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) text = null;
    else return { ok: false, errors: [`${file}: cannot read config file (${code ?? (error as Error).message})`] };
  }
  let raw: unknown = {};
  if (text !== null) {
    const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    const problem = document.errors[0];
    if (problem !== undefined) {
      const line = problem.linePos?.[0]?.line;
      return { ok: false, errors: [`${file}${line ? `:${line}` : ''}: invalid YAML: ${problem.message.split('\n')[0]}`] };
    }
    raw = document.toJS() ?? {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: [`${file}: expected a mapping of config keys at the top level`] };
  }
  const withOverrides: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (overrides.threads !== null) withOverrides.threads = overrides.threads;
  if (overrides.logLevel !== null) withOverrides.log_level = overrides.logLevel;
  const result = parseConfig(withOverrides, {
    hostname: hostname(),
    env: process.env,
    readFile: (path) => readFileSync(path, 'utf8'),
  });
  if (!result.ok) return result;
  return {
    ok: true,
    config: result.config,
    source: text === null ? 'built-in defaults' : file,
    pushFingerprint: JSON.stringify(withOverrides.push ?? null),
  };
}
