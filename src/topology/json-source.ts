/**
 * A strict JSON (RFC 8259) parser that remembers where every value sits, so problems can name
 * a line and column, and that refuses duplicate object keys: JSON.parse silently keeps the last
 * one, which would hide a node defined twice.
 */
import { formatPath, type PathSegment, type Problem, type SourcePosition } from './problems.js';

export interface JsonSource {
  value: unknown;
  /** Position of the value at `path` (for object members: of the member's key); falls back to the nearest ancestor. */
  locate(path: readonly PathSegment[]): SourcePosition | undefined;
}

export type JsonParseResult = { ok: true; source: JsonSource } | { ok: false; problems: Problem[] };

class SyntaxProblem extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Offsets of line starts, to turn an offset into line:column. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) this.starts.push(i + 1);
      else if (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a) this.starts.push(i + 1);
    }
  }
  position(offset: number): SourcePosition {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  const c = text[i]!;
  if (c === '\n' || c === '\r') return 'end of line';
  const code = c.charCodeAt(0);
  if (code < 0x20) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `'${c}'`;
}

const MAX_DEPTH = 64;

export function parseJsonSource(text: string): JsonParseResult {
  const lines = new LineIndex(text);
  const offsets = new Map<string, number>();
  const duplicates: Problem[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 BOM is harmless: skip it

  const skipWs = () => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else break;
    }
  };
  const fail = (message: string, at = i): never => {
    throw new SyntaxProblem(at, message);
  };
  const expectLiteral = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail(`unexpected ${describeChar(text, i)}; expected a JSON value`);
  };

  const parseString = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      const code = c.charCodeAt(0);
      if (c === '"') {
        i++;
        return out;
      }
      if (code < 0x20) fail(`${describeChar(text, i)} inside a string (escape it, or close the string)`);
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
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
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) fail('bad \\u escape (expected 4 hex digits)');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail(`bad escape \\${e ?? ''} in string`);
      }
      i += 2;
    }
  };

  const parseNumber = (): number => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail(`unexpected ${describeChar(text, i)}; expected a JSON value`);
    const after = text[i + m[0].length];
    if (after !== undefined && /[0-9.eE+\-A-Za-z]/.test(after)) fail(`malformed number "${text.slice(i, i + m[0].length + 1)}"`);
    i += m[0].length;
    return Number(m[0]);
  };

  const parseValue = (path: PathSegment[], record: boolean): unknown => {
    skipWs();
    // A topology is a few levels deep; refuse absurd nesting before it exhausts the stack.
    if (path.length > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    if (record) offsets.set(formatPath(path), i);
    const c = text[i];
    if (c === '{') return parseObject(path);
    if (c === '[') return parseArray(path);
    if (c === '"') return parseString();
    if (c === 't') return expectLiteral('true', true);
    if (c === 'f') return expectLiteral('false', false);
    if (c === 'n') return expectLiteral('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    if (c === "'") return fail("single-quoted string; JSON strings use double quotes");
    return fail(`unexpected ${describeChar(text, i)}; expected a JSON value`);
  };

  const parseObject = (path: PathSegment[]): Record<string, unknown> => {
    const obj: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const firstAt = new Map<string, number>();
    i++;
    skipWs();
    if (text[i] === '}') {
      i++;
      return { ...obj };
    }
    for (;;) {
      skipWs();
      if (text[i] !== '"') {
        fail(text[i] === '}' ? "trailing comma before '}'" : `unexpected ${describeChar(text, i)}; expected a "quoted" member name`);
      }
      const keyAt = i;
      const key = parseString();
      const memberPath = [...path, key];
      skipWs();
      if (text[i] !== ':') fail(`unexpected ${describeChar(text, i)}; expected ':' after member name "${key}"`);
      i++;
      const first = firstAt.get(key);
      if (first !== undefined) {
        const firstPos = lines.position(first);
        duplicates.push({
          path: formatPath(path),
          message: `duplicate key "${key}" (first defined at line ${firstPos.line}, column ${firstPos.column})`,
          at: lines.position(keyAt),
        });
        parseValue(memberPath, false); // parse for syntax, keep the first definition
      } else {
        firstAt.set(key, keyAt);
        const value = parseValue(memberPath, true);
        offsets.set(formatPath(memberPath), keyAt);
        obj[key] = value;
      }
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        // A plain object (not null-prototype) so that consumers see an ordinary value;
        // "__proto__" as a key is copied as an own property by the spread.
        return { ...obj };
      }
      fail(`unexpected ${describeChar(text, i)}; expected ',' or '}' after the value of "${key}"`);
    }
  };

  const parseArray = (path: PathSegment[]): unknown[] => {
    const arr: unknown[] = [];
    i++;
    skipWs();
    if (text[i] === ']') {
      i++;
      return arr;
    }
    for (;;) {
      skipWs();
      if (text[i] === ']') fail("trailing comma before ']'");
      arr.push(parseValue([...path, arr.length], true));
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return arr;
      }
      fail(`unexpected ${describeChar(text, i)}; expected ',' or ']' after array element ${arr.length - 1}`);
    }
  };

  try {
    skipWs();
    if (i >= text.length) fail('empty file; expected a JSON object');
    const value = parseValue([], true);
    skipWs();
    if (i < text.length) fail(`unexpected ${describeChar(text, i)} after the end of the JSON value`);
    if (duplicates.length > 0) return { ok: false, problems: duplicates };
    const locate = (path: readonly PathSegment[]): SourcePosition | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const off = offsets.get(formatPath(path.slice(0, n)));
        if (off !== undefined) return lines.position(off);
      }
      return undefined;
    };
    return { ok: true, source: { value, locate } };
  } catch (e) {
    if (!(e instanceof SyntaxProblem)) throw e;
    return { ok: false, problems: [{ path: '', message: `invalid JSON: ${e.message}`, at: lines.position(e.offset) }] };
  }
}
