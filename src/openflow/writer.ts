import { ofpError } from './errors.js';

/** The DataView of no buffer (see u64, take). */
const NO_VIEW = new DataView(new ArrayBuffer(0));

/**
 * A growable big-endian byte sink. It doubles its buffer when full, and lets a caller write a
 * length field first and patch it once the body size is known (`patchU16`).
 */
export class BufferWriter {
  buf: Buffer;
  pos = 0;

  constructor(private readonly initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  // Plain byte stores: cheaper than Buffer's write* methods, which re-check bounds and types.
  u8(v: number): this {
    if (this.pos + 1 > this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    if (this.pos + 2 > this.buf.length) this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 8) & 0xff;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
    return this;
  }

  u24(v: number): this {
    if (this.pos + 3 > this.buf.length) this.ensure(3);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 16) & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = v & 0xff;
    this.pos = p + 3;
    return this;
  }

  u32(v: number): this {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
    return this;
  }

  u64(v: bigint): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    // A DataView store takes the BigInt as it is; splitting it into two halves allocated BigInts
    // (a third of a FLOW_MOD's encoding where cookies differ from flow to flow). `buf` may be
    // replaced (grown, or by an owner such as encodeMessage's slab): the view follows it.
    if (this.viewOf !== this.buf) {
      this.view = new DataView(this.buf.buffer as ArrayBuffer, this.buf.byteOffset, this.buf.byteLength);
      this.viewOf = this.buf;
    }
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  private view = NO_VIEW;
  private viewOf: Buffer | undefined;

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    // Padding is a few bytes: a loop beats Buffer.fill's call overhead there.
    if (n <= 16) for (let i = 0; i < n; i++) this.buf[this.pos + i] = 0;
    else this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Zero bytes up to the next multiple of `align` (OpenFlow structures align to 8). */
  padTo(align: number, from = 0): this {
    const over = (this.pos - from) % align;
    return over === 0 ? this : this.zeros(align - over);
  }

  /** A NUL-padded fixed-width string; throws BAD_REQUEST/BAD_LEN if it does not fit. */
  fixedString(s: string, width: number, at = this.pos): this {
    const raw = Buffer.from(s, 'latin1');
    if (raw.length > width) throw ofpError('BAD_REQUEST', 'BAD_LEN', at, `string "${s}" longer than ${width} bytes`);
    this.bytes(raw);
    return this.zeros(width - raw.length);
  }

  // Plain stores as above (every message, match and instruction list patches its length).
  patchU16(at: number, v: number): void {
    if (at < 0 || at + 2 > this.pos) throw new RangeError(`patchU16 at ${at} outside the ${this.pos} bytes written`);
    const b = this.buf;
    b[at] = (v >>> 8) & 0xff;
    b[at + 1] = v & 0xff;
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** Makes room for n bytes that the caller writes into `buf` itself; returns where they start. */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) this.ensure(n);
    const at = this.pos;
    this.pos = at + n;
    return at;
  }

  /** Forget what was written, keeping the buffer for reuse. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written (safe to keep after the writer is reused). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /**
   * What was written, as a view of the buffer itself (no copy), and a fresh buffer of the initial
   * size for what comes next: the writer never touches the bytes handed out again, and a buffer
   * grown by a burst is not kept once the burst is over.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.initialSize);
    this.pos = 0;
    // The view would keep the buffer handed out (grown by a burst, maybe) alive until the next u64.
    this.view = NO_VIEW;
    this.viewOf = undefined;
    return out;
  }
}
