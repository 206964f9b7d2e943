/**
 * How a metric is described: names and help texts of the original Go exporter where it had them,
 * so dashboards keep working. The collectors (shared/collectors/) describe their own metrics; the
 * agent's own figures are in shared/metrics/catalogue.ts.
 */
export interface MetricSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** Labels beyond the configurable ones (hostname, deviceIP, from_namespace rules). */
  labels: readonly string[];
}
