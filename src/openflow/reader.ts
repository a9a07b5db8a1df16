import { ofpError, type OpenFlowError } from './errors.js';

/**
 * A bounds-checked cursor over one message. Every read checks the remaining bytes first, so a
 * lying length field can never make us read past the message (or allocate for it): a short
 * read raises BAD_REQUEST/BAD_LEN naming the offset. Offsets are relative to the message start.
 */
export class BufferReader {
  /** Absolute position in `buf`. */
  pos: number;
  /** Absolute end (exclusive) of what this reader may read. */
  end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
    /** Absolute position of the message's first byte, for error offsets. */
    readonly base = start,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Offset of the cursor from the start of the message. */
  get offset(): number {
    return this.pos - this.base;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws BAD_REQUEST/BAD_LEN unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', this.pos - this.base, `${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(): number {
    if (this.pos + 1 > this.end) this.short(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) this.short(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    if (this.pos + 3 > this.end) this.short(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    if (this.pos + 4 > this.end) this.short(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    if (this.pos + 8 > this.end) this.short(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A view (no copy) of the next `n` bytes. */
  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.end) this.short(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A view of everything left. */
  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.short(n);
    this.pos += n;
  }

  /** A NUL-padded fixed-width string field (port name, table name, desc strings). */
  fixedString(width: number): string {
    const raw = this.bytes(width);
    const nul = raw.indexOf(0);
    return raw.toString('latin1', 0, nul < 0 ? width : nul);
  }

  /**
   * A reader over the next `n` bytes only (a nested structure with its own length), advancing
   * this one past them. Reads past its end fail even if the parent has more bytes.
   */
  sub(n: number, onShort?: () => OpenFlowError): BufferReader {
    if (n < 0 || this.pos + n > this.end) {
      if (onShort) throw onShort();
      this.short(n);
    }
    const r = new BufferReader(this.buf, this.pos, this.pos + n, this.base);
    this.pos += n;
    return r;
  }

  private short(n: number): never {
    throw ofpError('BAD_REQUEST', 'BAD_LEN', this.pos - this.base, `truncated: needs ${n} bytes, ${this.end - this.pos} left`);
  }
}
