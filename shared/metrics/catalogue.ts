import type { MetricSpec } from '../metricSpec.js';
import { DISCOVERY_ERROR_REASONS, READ_ERROR_REASONS } from '../snapshot.js';

/**
 * The metrics that belong to no collector: the namespace itself, the build, and the agent's own
 * figures. Each collector describes its own in its module under shared/collectors/. The metric
 * reference in docs/metrics.md is tested against both.
 */

export const NAMESPACE: MetricSpec = {
  name: 'netns_network_namespace', help: 'Value is 1 for every network namespace found and read.',
  type: 'gauge', labels: ['netns'],
};

export const BUILD_INFO: MetricSpec = {
  name: 'netns_exporter_build_info', help: "A metric with a constant '1' value labeled by version, revision and nodeversion from which netns_exporter was built.",
  type: 'gauge', labels: ['version', 'revision', 'nodeversion'],
};

/** The agent's own figures, cumulative over the process's life where they are counters. */
export const SELF = {
  collectionDuration: { name: 'netns_exporter_collection_duration_seconds', help: 'Duration of the last collection of all namespaces.', type: 'gauge', labels: [] },
  namespaces: { name: 'netns_exporter_namespaces', help: 'Namespaces in the last collection by state: found (after filters), read, failed.', type: 'gauge', labels: ['state'] },
  readErrors: { name: 'netns_exporter_read_errors_total', help: `Namespace reads that failed, by reason (${READ_ERROR_REASONS.join(', ')}).`, type: 'counter', labels: ['reason'] },
  dirListErrors: { name: 'netns_exporter_netns_dir_list_errors_total', help: 'Listings of a netns_dirs folder that failed (ELOOP, EACCES, EMFILE, EIO), by folder; such a cycle is not pushed.', type: 'counter', labels: ['dir'] },
  discoveryErrors: { name: 'netns_exporter_discovery_errors_total', help: `Discovery steps that failed and were worked around, by reason (${DISCOVERY_ERROR_REASONS.join(', ')}).`, type: 'counter', labels: ['reason'] },
  readerInfo: { name: 'netns_exporter_reader_info', help: 'The namespace reader doing the reading (reader: auto settles on setns or nsenter at start), value is always 1.', type: 'gauge', labels: ['reader'] },
  heldNamespaces: { name: 'netns_exporter_held_namespaces', help: 'Namespaces the setns reader keeps open between cycles (an rtnetlink socket and its files each) and reads without entering; those past the descriptor budget are entered at every cycle.', type: 'gauge', labels: [] },
  cycles: { name: 'netns_exporter_cycles_total', help: 'Collection cycles run.', type: 'counter', labels: [] },
  cyclesOverrun: { name: 'netns_exporter_cycles_overrun_total', help: 'Cycles whose collection (the reads) took longer than the interval, delaying the next one.', type: 'counter', labels: [] },
  pushesOverrun: { name: 'netns_exporter_pushes_overrun_total', help: 'Cycles whose push (a slow or hung receiver) ran past the interval after a collection on time, delaying the next one.', type: 'counter', labels: [] },
  pushDuration: { name: 'netns_exporter_push_duration_seconds', help: 'Duration of the last push, by target.', type: 'gauge', labels: ['target'] },
  pushes: { name: 'netns_exporter_pushes_total', help: 'Pushes attempted, by target (retries within one push count once).', type: 'counter', labels: ['target'] },
  pushFailures: { name: 'netns_exporter_push_failures_total', help: 'Pushes that failed after their retries, by target.', type: 'counter', labels: ['target'] },
  lastPushSuccess: { name: 'netns_exporter_last_push_success_timestamp_seconds', help: 'Unix time of the last successful push, by target.', type: 'gauge', labels: ['target'] },
  httpAuthFailures: { name: 'netns_exporter_http_auth_failures_total', help: 'Requests to the listeners refused by basic auth (web config), by reason: no_credentials, unknown_user, wrong_password.', type: 'counter', labels: ['reason'] },
  httpRefused: { name: 'netns_exporter_http_refused_total', help: 'Connections and requests the listeners turned away before any route, by reason: rate_limit, auth_busy (too many password checks at once), tls_handshake, client_certificate.', type: 'counter', labels: ['reason'] },
} as const satisfies Record<string, MetricSpec>;
