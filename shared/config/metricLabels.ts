/**
 * Label names the agent's metrics carry whatever the config says: the namespace and device series',
 * and the self-metrics'. A unit test holds it to the metric specs
 * (the config cannot import them: it sits below the metrics).
 */
export const FIXED_LABEL_NAMES: readonly string[] = [
  'netns', 'device', 'operstate', 'address', 'link_type', 'state', 'reason', 'dir', 'reader', 'target', 'version', 'revision', 'nodeversion',
];
/** Those of prom-client's process and runtime metrics (self_metrics.process). */
export const PROCESS_LABEL_NAMES: readonly string[] = ['type', 'space', 'version', 'major', 'minor', 'patch'];
