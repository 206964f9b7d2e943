import snappy from 'snappyjs';

/*
 * snappyjs, the portable snappy: the agent loads it only where the native binding does not load,
 * and to read buffered requests back (merging several into one request, the 413 split).
 */

/** Snappy block format (not the framed/stream format), as the spec requires. */
export function compress(bytes: Uint8Array): Uint8Array {
  return snappy.compress(bytes);
}

/** Refuses to inflate past `maxLength` bytes so a corrupt length prefix cannot exhaust memory. */
export function uncompress(bytes: Uint8Array, maxLength = 256 * 1024 * 1024): Uint8Array {
  return snappy.uncompress(bytes, maxLength);
}
