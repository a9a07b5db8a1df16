import { OvsdbProtocolError, OvsdbValueError } from './errors.js';

/**
 * A JSON value as this module sees it. Integers outside the safe range of a double
 * (|n| > 2^53 - 1) are `bigint`, so 64-bit OVSDB integers survive a round trip.
 */
export type Json = null | boolean | number | bigint | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deepest nesting accepted by the parsers (OVSDB values nest about six levels deep). */
export const DEFAULT_MAX_DEPTH = 512;

/**
 * Parses one JSON text. Integer literals beyond ±(2^53 - 1) become `bigint`; everything else
 * is what JSON.parse would give. Throws OvsdbProtocolError(OVSDB_ERR_BAD_JSON) with the
 * offset of the problem.
 *
 * JSON.parse cannot be used for such texts: it rounds big integers before any reviver sees
 * them, so this is a complete recursive-descent parser of RFC 8259.
 */
export function parseJsonLossless(text: string, maxDepth = DEFAULT_MAX_DEPTH): Json {
  const p = new Parser(text, maxDepth);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('unexpected data after the JSON value');
  return v;
}

class Parser {
  pos = 0;
  constructor(
    readonly s: string,
    readonly maxDepth: number,
  ) {}

  fail(what: string): never {
    throw new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', `invalid JSON at character ${this.pos}: ${what}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  value(depth: number): Json {
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of text' : `unexpected character ${JSON.stringify(this.s[this.pos])}`);
    }
  }

  literal<T extends Json>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return v;
  }

  object(depth: number): JsonObject {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const out: JsonObject = {};
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('expected a string as object member name');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.ws();
      const v = this.value(depth);
      // defineProperty so that a member named "__proto__" is data, as with JSON.parse.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.ws();
      } else if (c === 0x7d) {
        this.pos++;
        return out;
      } else this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): Json[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const out: Json[] = [];
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.ws();
      } else if (c === 0x5d) {
        this.pos++;
        return out;
      } else this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    const s = this.s;
    let i = this.pos + 1;
    let out = '';
    let runStart = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(runStart, i);
        this.pos = i + 1;
        return out;
      }
      if (Number.isNaN(c)) {
        this.pos = i;
        this.fail('unterminated string');
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in string');
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(runStart, i);
      const e = s.charCodeAt(i + 1);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = i;
            this.fail('bad \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          this.pos = i;
          this.fail('bad escape');
      }
      i += 2;
      runStart = i;
    }
  }

  number(): number | bigint {
    const s = this.s;
    const start = this.pos;
    let i = start;
    if (s.charCodeAt(i) === 0x2d) i++;
    const intStart = i;
    if (s.charCodeAt(i) === 0x30) i++;
    else {
      while (isDigit(s.charCodeAt(i))) i++;
    }
    if (i === intStart) {
      this.pos = i;
      this.fail('expected a digit');
    }
    let integer = true;
    if (s.charCodeAt(i) === 0x2e) {
      integer = false;
      i++;
      const f = i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === f) {
        this.pos = i;
        this.fail('expected a digit after the decimal point');
      }
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      const x = i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === x) {
        this.pos = i;
        this.fail('expected a digit in the exponent');
      }
    }
    this.pos = i;
    const lit = s.slice(start, i);
    const n = Number(lit);
    if (integer && !Number.isSafeInteger(n)) return BigInt(lit);
    return n;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Serialises a Json value; `bigint` is written as its decimal digits. Non-finite numbers and
 * values that are not Json (undefined inside arrays, functions, class instances other than
 * plain objects) are rejected rather than silently turned into null, because a malformed
 * request would otherwise reach the server.
 */
export function stringifyJson(v: Json): string {
  const parts: string[] = [];
  write(v, parts, 0);
  return parts.join('');
}

function write(v: Json, out: string[], depth: number): void {
  if (depth > DEFAULT_MAX_DEPTH) throw new OvsdbValueError(`JSON nesting deeper than ${DEFAULT_MAX_DEPTH}`);
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new OvsdbValueError(`cannot send non-finite number ${v} as JSON`);
      out.push(JSON.stringify(v));
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'object':
      if (v === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          const item = v[i];
          if (item === undefined) throw new OvsdbValueError('cannot send undefined inside a JSON array');
          write(item, out, depth + 1);
        }
        out.push(']');
        return;
      }
      {
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          throw new OvsdbValueError(`cannot send a ${proto?.constructor?.name ?? 'non-plain'} object as JSON; convert it to its wire form first`);
        }
        out.push('{');
        let first = true;
        for (const key of Object.keys(v)) {
          const item = v[key];
          if (item === undefined) continue;
          if (!first) out.push(',');
          first = false;
          out.push(JSON.stringify(key), ':');
          write(item, out, depth + 1);
        }
        out.push('}');
      }
      return;
    default:
      throw new OvsdbValueError(`cannot send a ${typeof v} as JSON`);
  }
}
