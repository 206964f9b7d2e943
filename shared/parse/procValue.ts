/** A /proc metric file holds one number (nf_conntrack_count, ip_forward...); the first field counts. */
export function parseProcValue(text: string): number | null {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(first)) return null;
  return Number(first);
}
