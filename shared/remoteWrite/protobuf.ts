import { GrowingBuffer, writeLatin1, writeUtf8 } from '../growingBuffer.js';

/**
 * The little of protobuf's wire format remote write 1.0 needs (varints, length-delimited fields,
 * fixed 64-bit values), written into one buffer that grows and is reused from request to request.
 * Field tags are constants: `(field << 3) | wireType`.
 */

/** Wire type 2 (length-delimited) tags of the fields written here. */
export const TAG = {
  /** WriteRequest.timeseries, TimeSeries.labels, Label.name, MetricMetadata.type (varint: 0x08). */
  field1: 0x0a,
  /** TimeSeries.samples, Label.value, MetricMetadata.metric_family_name. */
  field2: 0x12,
  /** WriteRequest.metadata. */
  field3: 0x1a,
  /** MetricMetadata.help. */
  field4: 0x22,
  /** Sample.value: field 1, wire type 1 (fixed 64 bits). */
  sampleValue: 0x09,
  /** Sample.timestamp: field 2, wire type 0 (varint). */
  sampleTimestamp: 0x10,
  /** MetricMetadata.type: field 1, wire type 0. */
  metadataType: 0x08,
} as const;

/** Bytes a varint of `value` (a non-negative integer up to 2^53) takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length += 1;
  }
  return length;
}

/** Bytes of a UTF-8 string; ASCII (every label name, most values) without encoding it. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The protobuf writer: a GrowingBuffer with the wire format's encodings. */
export class ProtoWriter extends GrowingBuffer {
  /** A non-negative integer up to 2^53 (lengths, timestamps after 1970, enum values). */
  varint(value: number): void {
    this.reserve(10);
    const buffer = this.buffer;
    let offset = this.used;
    while (value >= 0x80) {
      buffer[offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buffer[offset++] = value;
    this.used = offset;
  }

  /**
   * An int64 field's varint: a negative value (a timestamp before 1970) is its 64-bit two's
   * complement, ten bytes, as protobuf writes it.
   */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    // Two's complement of a value down to -2^53, split into 32-bit halves.
    const magnitude = -value;
    let low = (magnitude % 2 ** 32) >>> 0;
    let high = Math.floor(magnitude / 2 ** 32) >>> 0;
    low = (~low + 1) >>> 0;
    high = (~high + (low === 0 ? 1 : 0)) >>> 0;
    this.reserve(10);
    const buffer = this.buffer;
    let offset = this.used;
    for (let index = 0; index < 9; index++) {
      buffer[offset++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buffer[offset++] = low & 0x01;
    this.used = offset;
  }

  /** 8 bytes little endian, written from the 32-bit halves so a NaN keeps its exact bits. */
  fixed64(low: number, high: number): void {
    this.reserve(8);
    this.buffer.writeUInt32LE(low >>> 0, this.used);
    this.buffer.writeUInt32LE(high >>> 0, this.used + 4);
    this.used += 8;
  }

  double(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleLE(value, this.used);
    this.used += 8;
  }

  /** A string field: tag, byte length, UTF-8 bytes. */
  string(tag: number, text: string): void {
    const length = utf8Length(text);
    this.byte(tag);
    this.varint(length);
    this.reserve(length);
    this.used += writeUtf8(this.buffer, text, this.used, length);
  }

  /** The bytes written since `start`, as a latin1 string (one char per byte), to keep between requests. */
  latin1Since(start: number): string {
    return this.buffer.toString('latin1', start, this.used);
  }

  /**
   * One TimeSeries field with one sample: its Label fields given encoded (kept from cycle to
   * cycle), then the Sample. `tail` is the sample's timestamp field, encoded once per cycle;
   * `low`/`high` are the value's bits when `value` is null (a stale marker's exact NaN).
   */
  timeSeries(labelBytes: string, value: number | null, low: number, high: number, tail: Uint8Array): void {
    const sampleLength = 9 + tail.length;
    const bodyLength = labelBytes.length + 2 + sampleLength;
    this.reserve(bodyLength + 11);
    this.byte(TAG.field1);
    this.varint(bodyLength);
    const buffer = this.buffer;
    let offset = this.used;
    offset += writeLatin1(buffer, labelBytes, offset);
    buffer[offset++] = TAG.field2;
    buffer[offset++] = sampleLength;
    buffer[offset++] = TAG.sampleValue;
    if (value === null) {
      buffer.writeUInt32LE(low, offset);
      buffer.writeUInt32LE(high, offset + 4);
    } else {
      buffer.writeDoubleLE(value, offset);
    }
    offset += 8;
    // A few bytes: stored one by one, cheaper than a call into the buffer's native write.
    for (let index = 0; index < tail.length; index++) buffer[offset++] = tail[index]!;
    this.used = offset;
  }

  /** Forgets what was written since `start`. */
  truncate(start: number): void {
    this.used = start;
  }
}
