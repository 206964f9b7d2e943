import type { Registry } from 'prom-client';
import { cycleFamilies, type BuildInfo, type RegistryConfig, type SelfStats } from '../../shared/metrics/families.js';
import { registryFromFamilies } from '../../shared/metrics/registry.js';
import type { Snapshot } from '../../shared/snapshot.js';

/** A snapshot's registry, as the loop builds it: its families (shared/metrics/families.ts) rendered by prom-client. */
export function buildRegistry(snapshot: Snapshot, config: RegistryConfig, build: BuildInfo, self: SelfStats | null): Registry {
  return registryFromFamilies(cycleFamilies(snapshot, config, build, self));
}
