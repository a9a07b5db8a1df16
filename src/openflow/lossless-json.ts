/**
 * JSON text <-> values without losing 64-bit integers.
 *
 * `JSON.parse` turns every number into a double, so a cookie or datapath id above 2^53 comes
 * back rounded. Here an integer literal (no fraction, no exponent) outside the safe-integer
 * range becomes a `bigint`; every other number stays a `number`. `stringify` writes a bigint
 * as its decimal digits. Syntax errors name the line and column (1-based) of the problem.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A syntax error in JSON text, located by 1-based line and column (and 0-based offset). */
export class JsonSyntaxError extends SyntaxError {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    readonly offset: number,
  ) {
    super(`JSON syntax error at line ${line}:${column}: ${reason}`);
  }
}

/** Deeper nesting than this is refused, so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 512;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Parses one JSON text (surrounding whitespace allowed, nothing else after the value). */
export function parseJson(text: string): JsonValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos < text.length) p.fail(`unexpected ${p.describeHere()} after the JSON value`);
  return v;
}

/** One value of a JSON sequence, with where it starts (1-based line and column). */
export interface JsonSequenceItem {
  value: JsonValue;
  line: number;
  column: number;
  offset: number;
}

/**
 * The values of a text holding zero or more JSON values separated by whitespace: JSON Lines
 * (one value per line), and pretty-printed values one after the other. Values are yielded as
 * they are parsed, so the ones before a syntax error are delivered before it is thrown.
 */
export function* parseJsonSequence(text: string): Generator<JsonSequenceItem> {
  const p = new Parser(text);
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  for (;;) {
    p.ws();
    if (p.pos >= text.length) return;
    // Count lines incrementally: each value's start is located without rescanning the text.
    for (; counted < p.pos; counted++) {
      if (text.charCodeAt(counted) === 10) {
        line++;
        lineStart = counted + 1;
      }
    }
    const offset = p.pos;
    const value = p.value(0);
    const end = p.pos;
    // Two values must be separated (`1 2` is fine, `{}{}` is not JSON Lines but is unambiguous;
    // `12` cannot be split), so only require a separator after numbers and literals.
    if (end < text.length && !/[\s\]}"]/.test(text.charAt(end - 1)) && !/\s/.test(text.charAt(end))) {
      p.fail(`expected whitespace or a newline after the JSON value, found ${p.describeHere()}`);
    }
    yield { value, line, column: offset - lineStart + 1, offset };
  }
}

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(reason: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsonSyntaxError(reason, line, at - lineStart + 1, at);
  }

  describeHere(): string {
    if (this.pos >= this.src.length) return 'end of input';
    const c = this.src.codePointAt(this.pos)!;
    return c < 0x20 || c === 0x7f ? `character U+${c.toString(16).padStart(4, '0')}` : `'${String.fromCodePoint(c)}'`;
  }

  ws(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  value(depth: number): JsonValue {
    const c = this.src.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth + 1);
      case 0x5b /* [ */:
        return this.array(depth + 1);
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(`expected a JSON value, found ${this.describeHere()}`);
    }
  }

  literal<T>(word: string, v: T): T {
    if (!this.src.startsWith(word, this.pos)) this.fail(`expected a JSON value, found ${this.describeHere()}`);
    this.pos += word.length;
    return v;
  }

  object(depth: number): JsonObject {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const out: JsonObject = {};
    const seen = new Set<string>();
    this.pos++; // {
    this.ws();
    if (this.src.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.src.charCodeAt(this.pos) !== 0x22) this.fail(`expected a string key, found ${this.describeHere()}`);
      const keyAt = this.pos;
      const key = this.string();
      // A repeated key would silently keep one of two values: refuse it instead.
      if (seen.has(key)) this.fail(`duplicate key "${key}"`, keyAt);
      seen.add(key);
      this.ws();
      if (this.src.charCodeAt(this.pos) !== 0x3a) this.fail(`expected ':' after key "${key}", found ${this.describeHere()}`);
      this.pos++;
      this.ws();
      const v = this.value(depth);
      // "__proto__" must become an own property, not replace the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.src.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.ws();
      } else if (c === 0x7d) {
        this.pos++;
        return out;
      } else {
        this.fail(`expected ',' or '}' in object, found ${this.describeHere()}`);
      }
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const out: JsonValue[] = [];
    this.pos++; // [
    this.ws();
    if (this.src.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.src.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.ws();
      } else if (c === 0x5d) {
        this.pos++;
        return out;
      } else {
        this.fail(`expected ',' or ']' in array, found ${this.describeHere()}`);
      }
    }
  }

  string(): string {
    const s = this.src;
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail('unterminated string', start);
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail(`control character U+${c.toString(16).padStart(4, '0')} in string (escape it)`);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(chunkStart, this.pos);
      const e = s.charAt(this.pos + 1);
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = s.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape: expected 4 hex digits');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail(e === '' ? 'unterminated string' : `bad escape '\\${e}' in string`);
      }
      this.pos += 2;
      chunkStart = this.pos;
    }
  }

  number(): number | bigint {
    const s = this.src;
    const start = this.pos;
    if (s.charCodeAt(this.pos) === 0x2d) this.pos++;
    const intStart = this.pos;
    if (s.charCodeAt(this.pos) === 0x30) {
      this.pos++;
      if (isDigit(s.charCodeAt(this.pos))) this.fail('leading zeros are not allowed in numbers', intStart);
    } else if (isDigit(s.charCodeAt(this.pos))) {
      while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    } else {
      this.fail(`expected a digit, found ${this.describeHere()}`);
    }
    let integer = true;
    if (s.charCodeAt(this.pos) === 0x2e) {
      integer = false;
      this.pos++;
      if (!isDigit(s.charCodeAt(this.pos))) this.fail(`expected a digit after '.', found ${this.describeHere()}`);
      while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    const e = s.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      this.pos++;
      const sign = s.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (!isDigit(s.charCodeAt(this.pos))) this.fail(`expected a digit in the exponent, found ${this.describeHere()}`);
      while (isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    const text = s.slice(start, this.pos);
    if (integer && this.pos - intStart > 15) {
      const big = BigInt(text);
      if (big > MAX_SAFE || big < MIN_SAFE) return big;
      return Number(big);
    }
    return Number(text);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Writes a JsonValue as JSON text. bigint is written as its exact decimal digits. `indent`
 * as for JSON.stringify (omitted = one line). Anything that is not a JsonValue (undefined,
 * a function, NaN, a Buffer, a class instance) is refused with the path where it was found.
 */
export function stringifyJson(value: JsonValue, indent?: number | string): string {
  const unit = typeof indent === 'number' ? ' '.repeat(Math.min(10, Math.max(0, indent))) : (indent ?? '');
  const parts: string[] = [];
  write(value, '$', '', unit, parts, new Set());
  return parts.join('');
}

function write(v: unknown, path: string, pad: string, unit: string, out: string[], stack: Set<object>): void {
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${path}: ${v} cannot be written as JSON`);
      out.push(JSON.stringify(v));
      return;
    case 'object': {
      if (v === null) {
        out.push('null');
        return;
      }
      if (stack.has(v)) throw new TypeError(`${path}: circular reference`);
      const inner = pad + unit;
      const nl = unit ? '\n' : '';
      const sep = unit ? ': ' : ':';
      stack.add(v);
      if (Array.isArray(v)) {
        if (v.length === 0) out.push('[]');
        else {
          out.push('[');
          v.forEach((item, i) => {
            out.push(i ? ',' + nl + inner : nl + inner);
            write(item, `${path}[${i}]`, inner, unit, out, stack);
          });
          out.push(nl + pad + ']');
        }
      } else {
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError(`${path}: ${proto?.constructor?.name ?? 'object'} is not a plain JSON object`);
        }
        const keys = Object.keys(v);
        if (keys.length === 0) out.push('{}');
        else {
          out.push('{');
          keys.forEach((k, i) => {
            out.push((i ? ',' + nl : nl) + inner + JSON.stringify(k) + sep);
            write((v as Record<string, unknown>)[k], childPath(path, k), inner, unit, out, stack);
          });
          out.push(nl + pad + '}');
        }
      }
      stack.delete(v);
      return;
    }
    default:
      throw new TypeError(`${path}: ${typeof v} cannot be written as JSON`);
  }
}

/** `$.a.b`, `$["odd key"]`: the path notation used in every error of the JSON layer. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
