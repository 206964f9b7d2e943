import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * The most of a response body the agent reads: enough for any error text, and a receiver, proxy
 * or error page answering gigabytes cannot take the agent's memory. Counted on the wire and again
 * after decompression (a small gzip body can inflate to gigabytes).
 */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

const INFLATE: Record<string, (data: Buffer, options: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/**
 * A body as read off the wire (at most MAX_RESPONSE_BODY_BYTES), decoded per its
 * Content-Encoding within the same limit. `tooLarge` when either count went past it; a body that
 * does not decode is given up (empty), since its bytes would be noise in a log line.
 */
export function decodeResponseBody(raw: Buffer, contentEncoding: string | undefined): { body: Buffer; tooLarge: boolean } {
  if (raw.length > MAX_RESPONSE_BODY_BYTES) return { body: Buffer.alloc(0), tooLarge: true };
  const inflate = INFLATE[(contentEncoding ?? '').trim().toLowerCase()];
  if (inflate === undefined || raw.length === 0) return { body: raw, tooLarge: false };
  try {
    return { body: inflate(raw, { maxOutputLength: MAX_RESPONSE_BODY_BYTES }), tooLarge: false };
  } catch (error) {
    return { body: Buffer.alloc(0), tooLarge: (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' };
  }
}
