import { constants, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseConfig } from '../shared/config/schema.js';
import type { Config, ConfigEnvironment } from '../shared/config/configTypes.js';
import { parseConfigYaml } from '../shared/config/yaml.js';
import { readRegularFile } from './regularFile.js';

export type LoadedConfig = { ok: true; config: Config; source: string } | { ok: false; errors: string[] };
export type ConfigOverrides = { threads: number | null; logLevel: string | null };

/** A config is a few kilobytes; this bounds what a mistaken or hostile file can cost to parse. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A password or token is short; anything longer is the wrong file. */
const MAX_SECRET_BYTES = 64 * 1024;
/** Enough to fix a config; a file of 40,000 typos does not need 40,000 lines of reply. */
const MAX_ERRORS_SHOWN = 20;

/**
 * Reads and validates the config file. A file named on the command line must exist; the default
 * path may be absent, and then the built-in defaults apply. Errors come back as `key: reason` lines.
 */
export function loadConfig(file: string, explicit: boolean, overrides: ConfigOverrides): LoadedConfig {
  let text: string | null;
  try {
    text = readBoundedFile(file, MAX_CONFIG_BYTES, 'config file');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) text = null;
    else return { ok: false, errors: [`${file}: cannot read config file (${code ?? (error as Error).message})`] };
  }
  const environment: ConfigEnvironment = {
    hostname: hostname(),
    env: process.env,
    readFile: (path) => readBoundedFile(path, MAX_SECRET_BYTES, 'secret file'),
    checkFile: openableFile,
  };
  return configFromText(text, file, overrides, environment);
}

/** Everything after the read: parsing, overrides and validation; pure but for `environment`. */
export function configFromText(text: string | null, file: string, overrides: ConfigOverrides, environment: ConfigEnvironment): LoadedConfig {
  let raw: unknown = {};
  if (text !== null) {
    const parsed = parseConfigYaml(text, file);
    if (!parsed.ok) return { ok: false, errors: [parsed.error] };
    raw = parsed.value ?? {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: [`${file}: expected a mapping of config keys at the top level`] };
  }
  const withOverrides: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (overrides.threads !== null) withOverrides.threads = overrides.threads;
  if (overrides.logLevel !== null) withOverrides.log_level = overrides.logLevel;
  const result = parseConfig(withOverrides, environment);
  if (!result.ok) return { ok: false, errors: firstErrors(result.errors, file) };
  return {
    ok: true,
    config: result.config,
    source: text === null ? 'built-in defaults' : file,
  };
}

function firstErrors(errors: string[], file: string): string[] {
  if (errors.length <= MAX_ERRORS_SHOWN) return errors;
  return [...errors.slice(0, MAX_ERRORS_SHOWN), `${file}: ${errors.length - MAX_ERRORS_SHOWN} more errors not shown`];
}

/**
 * Reads a regular file of at most `maxBytes`, refusing one that every user may write (as sshd does
 * with StrictModes): whoever can edit it could point the agent, which runs as root, at any file.
 * The size is checked while reading too, so a file that grows or lies about its size cannot
 * make the agent read without end.
 */
export function readBoundedFile(file: string, maxBytes: number, what: string): string {
  return readRegularFile(file, constants.O_RDONLY | constants.O_NONBLOCK, (fd, stat) => {
    const refuse = (reason: string) => Object.assign(new Error(reason), { code: undefined });
    if ((stat.mode & 0o002) !== 0) {
      throw refuse(`refused: the ${what} is writable by every user (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); run chmod o-w`);
    }
    const tooLarge = () => refuse(`refused: the ${what} is larger than ${formatBytes(maxBytes)}`);
    if (stat.size > maxBytes) throw tooLarge();
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length <= maxBytes; length += read) read = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > maxBytes) throw tooLarge();
    return buffer.toString('utf8', 0, length);
  });
}

/** Throws when `file` cannot be opened for reading or is not a regular file (a folder, a FIFO). */
function openableFile(file: string): void {
  readRegularFile(file, constants.O_RDONLY | constants.O_NONBLOCK, () => undefined);
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}
