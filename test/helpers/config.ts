import { parseConfig } from '../../shared/config/schema.js';
import type { CollectorsConfig, Config, ConfigEnvironment } from '../../shared/config/configTypes.js';

export const TEST_ENVIRONMENT: ConfigEnvironment = {
  hostname: 'node-1',
  env: {},
  readFile: (file) => {
    if (file === '/secrets/password') return 's3cret\n';
    throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  },
};

/** A validated Config from a raw YAML-like object; throws with the errors when it is invalid. */
export function configFrom(raw: unknown, environment: Partial<ConfigEnvironment> = {}): Config {
  const result = parseConfig(raw, { ...TEST_ENVIRONMENT, ...environment });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

export function configErrors(raw: unknown, environment: Partial<ConfigEnvironment> = {}): string[] {
  const result = parseConfig(raw, { ...TEST_ENVIRONMENT, ...environment });
  return result.ok ? [] : result.errors;
}

/** Every collector off: a reader given these delivers the devices and proc_metrics only. */
export const NO_COLLECTORS: CollectorsConfig = {
  netstat: { enabled: false, fields: /^$/u },
  sockstat: { enabled: false },
  conntrack: { enabled: false },
};
