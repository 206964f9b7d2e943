import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOG_LEVELS } from '../shared/config/schema.js';
import { LOG_FORMATS, type LogFormat } from './log.js';

const DEFAULT_CONFIG_PATH = '/etc/netns-exporter/config.yaml';

export interface CliOptions {
  configPath: string;
  /** A path named on the command line must exist; the default path may be absent (built-in defaults). */
  configExplicit: boolean;
  mode: 'run' | 'dry-run' | 'once' | 'delete' | 'check-config' | 'help' | 'version';
  logLevel: string | null;
  logFile: string | null;
  /** null: text when stderr is a terminal, JSON otherwise. */
  logFormat: LogFormat | null;
  threads: number | null;
  /** --web.config.file, resolved against the working folder; wins over web_config_file. */
  webConfigFile: string | null;
}

export class UsageError extends Error {
  readonly code = 'EUSAGE';
}

export const USAGE = `Usage: netns-exporter [options]

Measures every network namespace on this host and pushes the figures to a Prometheus
Pushgateway or remote_write endpoint; without a push target it serves /metrics and /healthz.

Options:
  --config FILE          config file (default ${DEFAULT_CONFIG_PATH}; built-in defaults
                         when that file is absent)
  --dry-run              collect once, print the metrics (text format) on stdout, exit
                         (default off: run until SIGTERM)
  --once                 collect and push once; exit 0 only when every push succeeded (default off)
  --delete               delete this node's group from the Pushgateway (retiring a node);
                         exit 0 when deleted or already absent, 1 when the gateway failed
                         (default off)
  --check-config         validate the config and exit, 0 valid, 2 invalid (default off)
  --log-level LEVEL      ${LOG_LEVELS.join(', ')} (default: log_level of the config, else info)
  --log-format FORMAT    ${LOG_FORMATS.join(' or ')}: one JSON object or one readable line per event
                         (default text when stderr is a terminal, else json)
  --log-file FILE        append logs to FILE, reopened on SIGHUP and SIGUSR1 for logrotate
                         (default: stderr)
  --threads N            at most N namespace reads at once, alias --concurrency
                         (default: threads of the config, else 4)
  --web.config.file FILE exporter-toolkit web config securing the listeners: TLS, client
                         certificates, basic_auth_users (default: web_config_file of the
                         config, else none)
  -h, --help             this text
  -v, --version          print the version

Signals: SIGTERM/SIGINT stop (within 8 s), SIGHUP reloads the config and reopens the log file,
SIGUSR1 reopens the log file.
`;

/** Every flag the command line accepts; --help lists each (test/cli/help.test.ts checks it). */
export const CLI_OPTIONS = {
  config: { type: 'string' },
  'dry-run': { type: 'boolean' },
  once: { type: 'boolean' },
  delete: { type: 'boolean' },
  'check-config': { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'log-file': { type: 'string' },
  threads: { type: 'string' },
  concurrency: { type: 'string' },
  'web.config.file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: CLI_OPTIONS,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  const modes = (['dry-run', 'once', 'delete', 'check-config'] as const).filter((mode) => values[mode] === true);
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be combined`);
  const logLevel = values['log-level'] ?? null;
  if (logLevel !== null && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  const logFormat = values['log-format'] ?? null;
  if (logFormat !== null && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(`--log-format: expected ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(logFormat)}`);
  }
  const threadsText = values.threads ?? values.concurrency ?? null;
  const threads = threadsText === null ? null : Number(threadsText);
  if (threads !== null && (!Number.isInteger(threads) || threads < 1 || threads > 1024)) {
    throw new UsageError(`--threads: expected a whole number from 1 to 1024, got ${JSON.stringify(threadsText)}`);
  }
  return {
    configPath: values.config ?? DEFAULT_CONFIG_PATH,
    configExplicit: values.config !== undefined,
    mode: values.help ? 'help' : values.version ? 'version' : modes[0] ?? 'run',
    logLevel,
    logFile: values['log-file'] ?? null,
    logFormat: logFormat as LogFormat | null,
    threads,
    webConfigFile: values['web.config.file'] === undefined ? null : path.resolve(values['web.config.file']),
  };
}
