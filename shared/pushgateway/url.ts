/**
 * The URL of a Pushgateway group: `<base>/metrics/job/<job>/<label>/<value>...`. A value the path
 * cannot carry as it is (one holding "/", an empty one, "." or "..", which URL parsing would fold
 * away) is sent in the gateway's `<label>@base64/<url-safe base64>` form; an empty value is "=" there,
 * because an empty path segment would be lost.
 */
export function groupingPath(job: string, grouping: Readonly<Record<string, string>>): string {
  const parts = [segment('job', job)];
  for (const [label, value] of Object.entries(grouping)) {
    if (label === 'job') throw new Error('grouping must not hold "job": it is the job argument');
    parts.push(segment(label, value));
  }
  return `/metrics/${parts.join('/')}`;
}

/** The group's URL under `base` (which may carry a path prefix such as /pushgateway behind a proxy). */
export function groupingUrl(base: URL, job: string, grouping: Readonly<Record<string, string>>): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${groupingPath(job, grouping)}`;
  url.search = '';
  url.hash = '';
  return url;
}

function segment(label: string, value: string): string {
  if (needsBase64(value)) return `${label}@base64/${value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${label}/${encodeURIComponent(value)}`;
}

function needsBase64(value: string): boolean {
  return value === '' || value === '.' || value === '..' || value.includes('/');
}
