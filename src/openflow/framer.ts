import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './constants.js';
import { OpenFlowError, ofpError } from './errors.js';

const EMPTY = Buffer.alloc(0);

/**
 * Judges a header from its first 4 bytes (version, type, length) before the body is waited
 * for; throws OpenFlowError to refuse it (see header-check.ts for the session's rules).
 */
export type HeaderCheck = (version: number, type: number, length: number) => void;

/** A refused header: the OpenFlow error it deserves, and the header bytes that had arrived (4 to 8). */
export class HeaderError extends OpenFlowError {
  constructor(cause: OpenFlowError, readonly header: Buffer) {
    super(cause.type, cause.code, cause.offset, cause.detail);
  }
}

/**
 * Cuts a TCP byte stream into whole OpenFlow messages using the length in each header.
 * Bytes are kept until a message is complete; a chunk may hold many messages or a piece of
 * one. Complete messages are handed out as views into the received chunk when they lie
 * entirely within it (no copy), else as views into the framer's own reassembly buffer,
 * which is never reused after a view of it was handed out.
 *
 * A header with length < 8 or above `maxLength` raises OpenFlowError(BAD_REQUEST/BAD_LEN), and
 * one that `headerCheck` refuses raises its error, both as a HeaderError as soon as the first 4
 * header bytes are there: the stream cannot be resynchronised after that, so the caller should
 * close it.
 */
export class MessageFramer {
  private pending: Buffer = EMPTY;
  private pendingLen = 0;

  constructor(readonly maxLength = OFP_MAX_MESSAGE_LEN, private readonly headerCheck?: HeaderCheck) {
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
        const judged = this.pendingLen >= 4;
        const take = Math.min(OFP_HEADER_LEN - this.pendingLen, chunk.length);
        this.append(chunk, 0, take);
        pos = take;
        // Same rule as for a header inside one chunk: judge it as soon as its length is there.
        if (!judged && this.pendingLen >= 4) this.judge(this.pending, 0, this.pendingLen);
        if (this.pendingLen < OFP_HEADER_LEN) return;
      }
      const length = this.pending.readUInt16BE(2);
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
      this.judge(chunk, pos, OFP_HEADER_LEN);
      if (chunk.length - pos < length) {
        // Judged already: keep the start of the message for the next chunk.
        this.append(chunk, pos, chunk.length);
        return;
      }
      out.push(chunk.subarray(pos, pos + length));
      pos += length;
    }
    if (pos < chunk.length) {
      if (chunk.length - pos >= 4) this.judge(chunk, pos, chunk.length - pos);
      this.append(chunk, pos, chunk.length);
    }
  }

  /** Drops any partial message (after a reconnect). */
  reset(): void {
    this.pending = EMPTY;
    this.pendingLen = 0;
    this.failure = undefined;
  }

  /** Judges the header at `buf[at..]`, of which `available` (>= 4) bytes are there. */
  private judge(buf: Buffer, at: number, available: number): void {
    try {
      this.checkLength(buf.readUInt16BE(at + 2));
      this.headerCheck?.(buf[at]!, buf[at + 1]!, buf.readUInt16BE(at + 2));
    } catch (err) {
      if (!(err instanceof OpenFlowError)) throw err;
      throw new HeaderError(err, Buffer.from(buf.subarray(at, at + Math.min(available, OFP_HEADER_LEN))));
    }
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
    const need = this.pendingLen + n;
    if (need > this.pending.length) {
      // Room for the whole message as soon as its length is known: a 64 KiB multipart part comes
      // in several reads, and growing by doubling cost an allocation and a copy per read (a
      // restart reads a thousand switches' tables so). Never more than one message is pending,
      // so this stays bounded by maxLength.
      let size = Math.max(need, OFP_HEADER_LEN);
      if (need >= 4) {
        const hi = this.pendingLen > 2 ? this.pending[2]! : src[from + 2 - this.pendingLen]!;
        const lo = this.pendingLen > 3 ? this.pending[3]! : src[from + 3 - this.pendingLen]!;
        size = Math.max(need, Math.min(this.maxLength, (hi << 8) | lo));
      }
      const next = Buffer.allocUnsafe(size);
      this.pending.copy(next, 0, 0, this.pendingLen);
      this.pending = next;
    }
    src.copy(this.pending, this.pendingLen, from, to);
    this.pendingLen += n;
  }
}
