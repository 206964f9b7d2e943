/**
 * An append-only byte buffer that doubles when full, reused from request to request: `reset()`
 * keeps the memory; `bytes()` is a view, valid until the next write. What a push sends each cycle
 * is written here instead of into a new string or Buffer per cycle.
 */
export class GrowingBuffer {
  protected buffer: Buffer;
  protected used = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.used;
  }

  reset(): void {
    this.used = 0;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.used);
  }

  /** Room for `count` more bytes. */
  reserve(count: number): void {
    const needed = this.used + count;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.used++] = value;
  }

  /** Text as UTF-8. */
  utf8(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8: room without measuring the text first.
    this.reserve(text.length * 3);
    this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** Bytes kept as a latin1 string (one char per byte): copied as they are. */
  latin1(bytes: string): void {
    this.reserve(bytes.length);
    this.used += this.buffer.write(bytes, this.used, bytes.length, 'latin1');
  }

  /**
   * A whole number (|value| ≤ 2^53) in decimal, as JavaScript prints it, without making its string;
   * anything else through its string.
   */
  decimal(value: number): void {
    if (!Number.isSafeInteger(value)) {
      this.utf8(`${value}`);
      return;
    }
    this.reserve(17);
    const buffer = this.buffer;
    // -0 prints as 0, as `${-0}` does.
    if (value < 0) {
      buffer[this.used++] = 0x2d;
      value = -value;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.used + digits;
    this.used = at;
    do {
      buffer[--at] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
  }
}
