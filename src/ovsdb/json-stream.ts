import { OvsdbProtocolError } from './errors.js';
import { DEFAULT_MAX_DEPTH, parseJsonLossless, type Json } from './json.js';

/** Default cap on one JSON text: a full dump of a large Open_vSwitch database fits easily. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

export interface JsonStreamOptions {
  /** Largest JSON text accepted, in bytes. Checked before more bytes are buffered. */
  maxMessageSize?: number;
  /** Deepest array/object nesting accepted. */
  maxDepth?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Integers with this many digits or more may exceed 2^53 and need the lossless parser.
const BIG_INTEGER_DIGITS = 16;

/**
 * Splits a byte stream of concatenated JSON texts (RFC 7047 sends them back to back, with no
 * delimiter) into parsed values.
 *
 * A byte-level state machine finds where each top-level value ends: it tracks nesting depth,
 * whether it is inside a string and whether the previous byte was a backslash. Scanning bytes
 * rather than characters is safe because '"', '\\', brackets and braces never occur inside a
 * multi-byte UTF-8 sequence. Chunks may split a text anywhere, and one chunk may carry many
 * texts. Only objects and arrays are accepted at top level (JSON-RPC messages are objects), so
 * the end of a text is always a closing bracket, never "wherever the next chunk says".
 *
 * While scanning, the machine also notes integer literals long enough to exceed 2^53; texts
 * that contain one are parsed with the lossless parser (bigint), the rest with JSON.parse,
 * which is much faster.
 *
 * Errors are OvsdbProtocolError with code OVSDB_ERR_MESSAGE_TOO_LARGE or OVSDB_ERR_BAD_JSON.
 * The stream cannot be resynchronised after one: every later push() throws the same error
 * and the owner is expected to close the connection.
 */
export class JsonStreamParser {
  readonly maxMessageSize: number;
  readonly maxDepth: number;

  private parts: Buffer[] = [];
  private partsLen = 0;
  private inText = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inNumber = false;
  private numberDigits = 0;
  private numberIsInteger = true;
  private hasBigInteger = false;
  private failed: OvsdbProtocolError | undefined;

  constructor(options: JsonStreamOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (!Number.isInteger(this.maxMessageSize) || this.maxMessageSize < 2) {
      throw new RangeError(`maxMessageSize must be an integer >= 2, got ${this.maxMessageSize}`);
    }
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < 1) {
      throw new RangeError(`maxDepth must be an integer >= 1, got ${this.maxDepth}`);
    }
  }

  /** Bytes of an unfinished text held from earlier chunks. */
  get buffered(): number {
    return this.partsLen;
  }

  /** True when a text has started but not finished (a close now would cut a message). */
  get midText(): boolean {
    return this.inText;
  }

  /** Feeds one chunk; returns every JSON value it completes, in order. */
  push(chunk: Uint8Array): Json[] {
    if (this.failed) throw this.failed;
    try {
      return this.scan(chunk);
    } catch (e) {
      this.failed =
        e instanceof OvsdbProtocolError
          ? e
          : new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', `invalid JSON: ${(e as Error).message}`, { cause: e });
      this.parts = [];
      this.partsLen = 0;
      throw this.failed;
    }
  }

  private scan(chunk: Uint8Array): Json[] {
    const out: Json[] = [];
    const len = chunk.length;
    let i = 0;
    let textStart = 0;
    while (i < len) {
      if (!this.inText) {
        const b = chunk[i]!;
        if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
          i++;
          continue;
        }
        if (b !== 0x7b && b !== 0x5b) {
          throw new OvsdbProtocolError(
            'OVSDB_ERR_BAD_JSON',
            `expected '{' or '[' at the start of a JSON text, got byte 0x${b.toString(16).padStart(2, '0')}`,
          );
        }
        this.inText = true;
        this.depth = 1;
        this.inString = false;
        this.escaped = false;
        this.inNumber = false;
        this.hasBigInteger = false;
        textStart = i;
        i++;
        // Fall through: even when the chunk ends right here, the opening byte must be kept.
      }
      // Never look further into this text than the size limit allows: an oversized text is
      // rejected without scanning or buffering the rest of it.
      const allowed = this.maxMessageSize - this.partsLen - (i - textStart);
      const stop = Math.min(len, i + allowed);
      const end = this.scanText(chunk, i, stop);
      if (end >= 0) {
        out.push(this.finishText(chunk, textStart, end + 1));
        i = end + 1;
        continue;
      }
      if (stop < len) {
        throw new OvsdbProtocolError(
          'OVSDB_ERR_MESSAGE_TOO_LARGE',
          `JSON text exceeds the maximum message size of ${this.maxMessageSize} bytes`,
        );
      }
      // The text continues in the next chunk; keep our own copy (the caller may reuse chunk).
      const tail = Buffer.from(chunk.subarray(textStart, len));
      this.parts.push(tail);
      this.partsLen += tail.length;
      i = len;
    }
    return out;
  }

  /**
   * Advances the state machine over chunk[from, stop). Returns the index of the byte that
   * closes the top-level value, or -1 if the text is not finished within the range.
   */
  private scanText(chunk: Uint8Array, from: number, stop: number): number {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let inNumber = this.inNumber;
    let digits = this.numberDigits;
    let isInteger = this.numberIsInteger;
    let big = this.hasBigInteger;
    let result = -1;
    for (let i = from; i < stop; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === 0x5c) escaped = true;
        else if (b === 0x22) inString = false;
        continue;
      }
      if (inNumber) {
        if (b >= 0x30 && b <= 0x39) {
          digits++;
          continue;
        }
        if (b === 0x2e || b === 0x65 || b === 0x45) {
          isInteger = false;
          continue;
        }
        if (b === 0x2b || b === 0x2d) continue;
        inNumber = false;
        if (isInteger && digits >= BIG_INTEGER_DIGITS) big = true;
      }
      if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) {
        if (++depth > this.maxDepth) {
          throw new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', `JSON nesting deeper than ${this.maxDepth}`);
        }
      } else if (b === 0x7d || b === 0x5d) {
        if (--depth === 0) {
          result = i;
          break;
        }
      } else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
        inNumber = true;
        digits = b === 0x2d ? 0 : 1;
        isInteger = true;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.inNumber = inNumber;
    this.numberDigits = digits;
    this.numberIsInteger = isInteger;
    this.hasBigInteger = big;
    return result;
  }

  private finishText(chunk: Uint8Array, start: number, end: number): Json {
    let bytes: Uint8Array;
    if (this.partsLen === 0) bytes = chunk.subarray(start, end);
    else {
      this.parts.push(Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start));
      bytes = Buffer.concat(this.parts, this.partsLen + end - start);
      this.parts = [];
      this.partsLen = 0;
    }
    this.inText = false;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (e) {
      throw new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', 'JSON text is not valid UTF-8', { cause: e });
    }
    if (this.hasBigInteger) return parseJsonLossless(text, this.maxDepth);
    try {
      return JSON.parse(text) as Json;
    } catch (e) {
      throw new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', `invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
}
