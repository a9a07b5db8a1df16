import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './constants.js';
import { ofpError } from './errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * Cuts a TCP byte stream into whole OpenFlow messages using the length in each header.
 * Bytes are kept until a message is complete; a chunk may hold many messages or a piece of
 * one. Complete messages are handed out as views into the received chunk when they lie
 * entirely within it (no copy), else as views into the framer's own reassembly buffer,
 * which is never reused after a view of it was handed out.
 *
 * A header with length < 8 or above `maxLength` raises OpenFlowError(BAD_REQUEST/BAD_LEN):
 * the stream cannot be resynchronised after that, so the caller should close it.
 */
export class MessageFramer {
  private pending: Buffer = EMPTY;
  private pendingLen = 0;

  constructor(readonly maxLength = OFP_MAX_MESSAGE_LEN) {
    if (maxLength < OFP_HEADER_LEN || maxLength > OFP_MAX_MESSAGE_LEN) {
      throw new RangeError(`maxLength must be within [8, 65535], got ${maxLength}`);
    }
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.pendingLen;
  }

  /**
   * The header error met after some good messages of a chunk: those were returned, and this is
   * thrown by the next `push`. Callers that must act at once check it after handling them.
   */
  failure: Error | undefined;

  /** Feeds a chunk; returns the complete messages it finishes, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    const out: Buffer[] = [];
    try {
      this.cut(chunk, out);
    } catch (err) {
      if (out.length === 0) throw err;
      // Hand out the good messages before the bad header; the stream is dead after them.
      this.failure = err as Error;
    }
    return out;
  }

  private cut(chunk: Buffer, out: Buffer[]): void {
    let pos = 0;
    if (this.pendingLen > 0) {
      // Finish the partial message first, copying only what it needs.
      if (this.pendingLen < OFP_HEADER_LEN) {
        const take = Math.min(OFP_HEADER_LEN - this.pendingLen, chunk.length);
        this.append(chunk, 0, take);
        pos = take;
        // Same rule as for a header inside one chunk: judge the length as soon as it is there.
        if (this.pendingLen >= 4) this.checkLength(this.pending.readUInt16BE(2));
        if (this.pendingLen < OFP_HEADER_LEN) return;
      }
      const length = this.pending.readUInt16BE(2);
      this.checkLength(length);
      const take = Math.min(length - this.pendingLen, chunk.length - pos);
      this.append(chunk, pos, pos + take);
      pos += take;
      if (this.pendingLen < length) return;
      out.push(this.pending.subarray(0, length));
      // The handed-out view owns that memory now: start a fresh buffer next time.
      this.pending = EMPTY;
      this.pendingLen = 0;
    }
    while (chunk.length - pos >= OFP_HEADER_LEN) {
      const length = chunk.readUInt16BE(pos + 2);
      this.checkLength(length);
      if (chunk.length - pos < length) break;
      out.push(chunk.subarray(pos, pos + length));
      pos += length;
    }
    if (pos < chunk.length) {
      if (chunk.length - pos >= 4) this.checkLength(chunk.readUInt16BE(pos + 2));
      this.append(chunk, pos, chunk.length);
    }
  }

  /** Drops any partial message (after a reconnect). */
  reset(): void {
    this.pending = EMPTY;
    this.pendingLen = 0;
    this.failure = undefined;
  }

  private checkLength(length: number): void {
    if (length < OFP_HEADER_LEN) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `header length ${length} is shorter than the 8-byte header`);
    }
    if (length > this.maxLength) {
      throw ofpError('BAD_REQUEST', 'BAD_LEN', 2, `header length ${length} exceeds the limit of ${this.maxLength}`);
    }
  }

  private append(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.pendingLen + n > this.pending.length) {
      // Never more than one message is pending, so this stays bounded by maxLength.
      const next = Buffer.allocUnsafe(Math.min(this.maxLength, Math.max(this.pending.length * 2, this.pendingLen + n, 64)));
      this.pending.copy(next, 0, 0, this.pendingLen);
      this.pending = next;
    }
    src.copy(this.pending, this.pendingLen, from, to);
    this.pendingLen += n;
  }
}
