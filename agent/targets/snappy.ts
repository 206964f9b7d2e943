export interface SnappyBlock {
  compress: (bytes: Uint8Array) => Uint8Array;
  /** "native" (the prebuilt binding for this platform) or "portable" (snappyjs). */
  kind: 'native' | 'portable';
}

interface NativeSnappy {
  compressSync: (input: Buffer, options?: { copyOutputData?: boolean }) => Buffer;
}

/**
 * Snappy block compression for remote_write: the native binding where its prebuilt library loads
 * on this platform (several times faster), else snappyjs. Both write the block format; the bytes
 * may differ, any snappy decoder reads either.
 */
export async function loadSnappy(): Promise<SnappyBlock> {
  try {
    keepAllocatorLean();
    const loaded = (await import('snappy')) as unknown as NativeSnappy & { default?: NativeSnappy };
    const native = typeof loaded.compressSync === 'function' ? loaded : loaded.default!;
    const probe = native.compressSync(Buffer.from('netns-exporter'));
    if (!(probe instanceof Uint8Array)) throw new Error('unexpected result');
    // Copied out: the binding's own buffer holds the whole worst-case output (~1.17× the input) in
    // its allocator (mimalloc, on huge pages) until a major GC, which does not see that memory;
    // request after request that held hundreds of MB. The copy is Node's (counted by V8) and as
    // fast: the binding's own freshly allocated pages cost more to touch than the copy.
    return { compress: (bytes) => native.compressSync(asBuffer(bytes), { copyOutputData: true }), kind: 'native' };
  } catch {
    // Loaded only here: where the binding loads, snappyjs stays out of the process.
    const { compress } = await import('../../shared/remoteWrite/snappyBlock.js');
    return { compress, kind: 'portable' };
  }
}

/**
 * The binding allocates with mimalloc, which keeps the pages of a freed block for 10 ms and gives
 * them back only at its next call: the next cycle's compress, so each request's worst-case output
 * buffer stayed resident between cycles (1.5 MB at 1,000 namespaces). With no delay the pages go
 * back as the block is freed. Read by mimalloc when the binding loads; an operator's own setting
 * stays.
 */
function keepAllocatorLean(): void {
  process.env.MIMALLOC_PURGE_DELAY ??= '0';
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
