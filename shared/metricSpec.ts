/**
 * How a metric is described: names and help texts of the original Go exporter where it had them,
 * so dashboards keep working. The collectors (shared/collectors/) describe their own metrics; the
 * agent's own figures are in shared/metrics/catalogue.ts.
 */
export interface MetricSpec {
  name: string;
  help: string;
  /**
   * `untyped` where node_exporter leaves a kernel figure untyped (netstat): its name stays as the
   * kernel writes it, which a counter's `_total` suffix would change.
   */
  type: 'counter' | 'gauge' | 'untyped';
  /** Labels beyond the configurable ones (hostname, deviceIP, from_namespace rules). */
  labels: readonly string[];
}
