// snappyjs ships no types; these are the two functions the remote_write encoder uses (block format).
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}
