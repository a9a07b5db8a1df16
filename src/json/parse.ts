/**
 * One strict JSON (RFC 8259) parser for the whole project: OpenFlow JSON form, OVSDB client,
 * topology reader.
 *
 * - Integer literals (no fraction, no exponent) beyond ±(2^53 - 1) become `bigint`, so 64-bit
 *   cookies, datapath ids and OVSDB integers survive; JSON.parse would round them.
 * - Iterative: nesting is tracked on an explicit stack, so no input can exhaust the call stack;
 *   `maxDepth` bounds it (and the size of that stack), `maxLength` bounds the text.
 * - Duplicate member names are refused by default (a repeated key silently drops a value);
 *   callers may keep the first or the last instead, and `parseJsonDocument` lists them.
 * - Errors are JsonSyntaxError with a code, offset and line:column.
 * - `parseJsonDocument` also records where every value and member name sits.
 */
import { JsonSyntaxError, type JsonErrorCode, type JsonErrorDetails } from './errors.js';
import { JsonPositions, LineIndex, locateOffset, type JsonLocation, type JsonPathSegment, type PositionNode } from './positions.js';

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deepest array/object nesting accepted unless a caller says otherwise. */
export const DEFAULT_MAX_DEPTH = 512;

export interface JsonParseOptions {
  /** Most arrays/objects open at once (the top-level container counts as 1). Default 512. */
  maxDepth?: number;
  /** Longest text accepted, in UTF-16 code units. Default: no limit. */
  maxLength?: number;
  /**
   * A member name seen twice in one object: 'error' (default) refuses the text, 'first' keeps
   * the first value, 'last' the last one (what JSON.parse does).
   */
  duplicateKeys?: 'error' | 'first' | 'last';
  /** Integers beyond ±(2^53 - 1): 'bigint' (default, exact) or 'double' (rounded, as JSON.parse). */
  largeIntegers?: 'bigint' | 'double';
  /** Skip a leading U+FEFF (byte order mark) instead of refusing it. Default false. */
  allowByteOrderMark?: boolean;
}

/** A member name repeated in one object (reported by parseJsonDocument). */
export interface DuplicateKey {
  key: string;
  /** Path of the object holding it. */
  path: JsonPathSegment[];
  /** The repeated name. */
  at: JsonLocation;
  /** The first definition's name. */
  first: JsonLocation;
}

/** A parsed text with the places of its values. */
export interface JsonDocument {
  value: JsonValue;
  positions: JsonPositions;
  /** Names repeated within an object (empty with duplicateKeys 'error', which throws instead). */
  duplicates: DuplicateKey[];
}

/** One value of a JSON sequence, with where it starts. */
export interface JsonSequenceItem {
  value: JsonValue;
  line: number;
  column: number;
  offset: number;
}

const DUP_ERROR = 0;
const DUP_FIRST = 1;
const DUP_LAST = 2;

/** One open array or object. Frames are reused from one container to the next at the same depth. */
interface Frame {
  obj: JsonObject | null;
  arr: JsonValue[] | null;
  /** Name of the member being read (objects). */
  key: string;
  /** Offset of that name. */
  keyAt: number;
  /** The member being read repeats an earlier name and is dropped (duplicateKeys 'first'). */
  discard: boolean;
  /** Positions of this container (parseJsonDocument only). */
  node: PositionNode | null;
}

interface DuplicateAt {
  key: string;
  path: JsonPathSegment[];
  at: number;
  first: number;
}

/** State of one parse: the text, the options, and where the last value ended. */
class Run {
  readonly maxDepth: number;
  readonly dup: number;
  readonly bigints: boolean;
  readonly start: number;
  end = 0;
  frames: Frame[] = [];
  /** Recording positions and duplicates (parseJsonDocument). */
  readonly track: boolean;
  root: PositionNode | null = null;
  duplicates: DuplicateAt[] = [];

  constructor(
    readonly text: string,
    options: JsonParseOptions,
    track: boolean,
  ) {
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new RangeError(`maxDepth must be an integer >= 1, got ${maxDepth}`);
    this.maxDepth = maxDepth;
    const dup = options.duplicateKeys ?? 'error';
    if (dup !== 'error' && dup !== 'first' && dup !== 'last') throw new RangeError(`duplicateKeys must be 'error', 'first' or 'last', got ${String(dup)}`);
    this.dup = dup === 'error' ? DUP_ERROR : dup === 'first' ? DUP_FIRST : DUP_LAST;
    const large = options.largeIntegers ?? 'bigint';
    if (large !== 'bigint' && large !== 'double') throw new RangeError(`largeIntegers must be 'bigint' or 'double', got ${String(large)}`);
    this.bigints = large === 'bigint';
    this.track = track;
    const maxLength = options.maxLength;
    if (maxLength !== undefined) {
      if (!(maxLength >= 0)) throw new RangeError(`maxLength must be a number >= 0, got ${maxLength}`);
      if (text.length > maxLength) {
        fail(this, 'JSON_ERR_TOO_LARGE', `text of ${text.length} characters exceeds the limit of ${maxLength}`, maxLength, { limit: maxLength });
      }
    }
    this.start = options.allowByteOrderMark === true && text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }
}

/** Parses one JSON text (whitespace around the value allowed, nothing else). */
export function parseJson(text: string, options: JsonParseOptions = {}): JsonValue {
  const r = new Run(text, options, false);
  return parseWhole(r);
}

/** Parses one JSON text and records where each value and member name is (for error reports). */
export function parseJsonDocument(text: string, options: JsonParseOptions = {}): JsonDocument {
  const r = new Run(text, options, true);
  const value = parseWhole(r);
  const lines = new LineIndex(text);
  return {
    value,
    positions: new JsonPositions(r.root!, lines),
    duplicates: r.duplicates.map((d) => ({ key: d.key, path: d.path, at: lines.locate(d.at), first: lines.locate(d.first) })),
  };
}

function parseWhole(r: Run): JsonValue {
  const s = r.text;
  const pos = skipWs(s, r.start);
  if (pos >= s.length) fail(r, 'JSON_ERR_EMPTY', 'expected a JSON value, found end of input', pos);
  const value = parseValueAt(r, pos);
  const end = skipWs(s, r.end);
  if (end < s.length) fail(r, 'JSON_ERR_TRAILING_DATA', `unexpected ${describeAt(s, end)} after the JSON value`, end);
  return value;
}

/**
 * The values of a text holding zero or more JSON values separated by whitespace: JSON Lines,
 * or pretty-printed values one after the other. Values are yielded as they are parsed, so the
 * ones before a syntax error are delivered before it is thrown.
 */
export function* parseJsonSequence(text: string, options: JsonParseOptions = {}): Generator<JsonSequenceItem> {
  const r = new Run(text, options, false);
  const s = text;
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  let pos = r.start;
  for (;;) {
    pos = skipWs(s, pos);
    if (pos >= s.length) return;
    // Lines are counted as we go: each value is located without rescanning the text.
    for (; counted < pos; counted++) {
      const c = s.charCodeAt(counted);
      if (c === 0x0a || (c === 0x0d && s.charCodeAt(counted + 1) !== 0x0a)) {
        line++;
        lineStart = counted + 1;
      }
    }
    const offset = pos;
    const value = parseValueAt(r, pos);
    pos = r.end;
    // `1 2` and `{}{}` are unambiguous; `true1` or `1-2` are not: a number or literal must be
    // followed by whitespace (or the end).
    if (pos < s.length && !isWs(s.charCodeAt(pos))) {
      const last = s.charCodeAt(pos - 1);
      if (last !== 0x5d && last !== 0x7d && last !== 0x22) {
        fail(r, 'JSON_ERR_MISSING_SEPARATOR', `expected whitespace or a newline after the JSON value, found ${describeAt(s, pos)}`, pos);
      }
    }
    yield { value, line, column: offset - lineStart + 1, offset };
  }
}

// ---------------------------------------------------------------------------------------------
// The parser proper

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(s: string, pos: number): number {
  for (;;) {
    const c = s.charCodeAt(pos);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
    else return pos;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** 'x', `character U+0001`, or `end of input`: what was found where something else was expected. */
export function describeAt(s: string, pos: number): string {
  if (pos >= s.length) return 'end of input';
  const c = s.codePointAt(pos)!;
  return c < 0x20 || c === 0x7f ? `character U+${c.toString(16).padStart(4, '0')}` : `'${String.fromCodePoint(c)}'`;
}

function fail(r: Run, code: JsonErrorCode, reason: string, offset: number, details?: JsonErrorDetails): never {
  const at = locateOffset(r.text, offset);
  throw new JsonSyntaxError(code, reason, offset, at.line, at.column, details);
}

function newFrame(): Frame {
  return { obj: null, arr: null, key: '', keyAt: -1, discard: false, node: null };
}

/** Parses the value starting at `start` (not whitespace); sets r.end to just after it. */
function parseValueAt(r: Run, start: number): JsonValue {
  const s = r.text;
  const frames = r.frames;
  const maxDepth = r.maxDepth;
  const track = r.track;
  let depth = 0;
  let pos = start;
  let value: JsonValue;
  for (;;) {
    // Read one value at pos: a scalar, or the start of a container (then read its first member).
    const c = s.charCodeAt(pos);
    let node: PositionNode | null = null;
    if (track) node = startNode(r, depth, pos);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= maxDepth) fail(r, 'JSON_ERR_TOO_DEEP', `nesting deeper than ${maxDepth} levels`, pos, { limit: maxDepth });
      const isObject = c === 0x7b;
      const container: JsonObject | JsonValue[] = isObject ? {} : [];
      if (node !== null) node.children = isObject ? new Map() : [];
      pos = skipWs(s, pos + 1);
      if (s.charCodeAt(pos) === (isObject ? 0x7d : 0x5d)) {
        pos++;
        value = container;
      } else {
        let f = frames[depth];
        if (f === undefined) frames.push((f = newFrame()));
        depth++;
        f.node = node;
        if (isObject) {
          f.obj = container as JsonObject;
          f.arr = null;
          pos = readMemberName(r, f, depth, pos);
        } else {
          f.arr = container as JsonValue[];
          f.obj = null;
        }
        continue;
      }
    } else if (c === 0x22 /* " */) {
      value = readString(r, pos);
      pos = r.end;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      value = readNumber(r, pos);
      pos = r.end;
    } else if (c === 0x74 /* t */ && s.startsWith('true', pos)) {
      value = true;
      pos += 4;
    } else if (c === 0x66 /* f */ && s.startsWith('false', pos)) {
      value = false;
      pos += 5;
    } else if (c === 0x6e /* n */ && s.startsWith('null', pos)) {
      value = null;
      pos += 4;
    } else {
      return fail(r, 'JSON_ERR_EXPECTED_VALUE', `expected a JSON value, found ${describeAt(s, pos)}`, pos);
    }
    // Store the value in its container; close every container that ends right after it.
    for (;;) {
      if (depth === 0) {
        r.end = pos;
        return value;
      }
      const f = frames[depth - 1]!;
      pos = skipWs(s, pos);
      const arr = f.arr;
      if (arr !== null) {
        arr.push(value);
        const d = s.charCodeAt(pos);
        if (d === 0x2c /* , */) {
          pos = skipWs(s, pos + 1);
          if (s.charCodeAt(pos) === 0x5d) fail(r, 'JSON_ERR_TRAILING_COMMA', `expected a JSON value, found ']'`, pos, { container: 'array' });
          break;
        }
        if (d === 0x5d /* ] */) {
          pos++;
          value = arr;
          depth--;
          continue;
        }
        fail(r, 'JSON_ERR_EXPECTED_COMMA', `expected ',' or ']' in array, found ${describeAt(s, pos)}`, pos, {
          container: 'array',
          index: arr.length - 1,
        });
      }
      const obj = f.obj!;
      const key = f.key;
      if (f.discard) f.discard = false;
      // "__proto__" must become an own member, not replace the prototype (as with JSON.parse).
      else if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      else obj[key] = value;
      const d = s.charCodeAt(pos);
      if (d === 0x2c /* , */) {
        pos = skipWs(s, pos + 1);
        if (s.charCodeAt(pos) === 0x7d) fail(r, 'JSON_ERR_TRAILING_COMMA', `expected a string key, found '}'`, pos, { container: 'object' });
        pos = readMemberName(r, f, depth, pos);
        break;
      }
      if (d === 0x7d /* } */) {
        pos++;
        value = obj;
        depth--;
        continue;
      }
      fail(r, 'JSON_ERR_EXPECTED_COMMA', `expected ',' or '}' in object, found ${describeAt(s, pos)}`, pos, { container: 'object', key });
    }
  }
}

/** Reads `"name" :` at pos into the frame; returns the position of the member's value. */
function readMemberName(r: Run, f: Frame, depth: number, pos: number): number {
  const s = r.text;
  if (s.charCodeAt(pos) !== 0x22) fail(r, 'JSON_ERR_EXPECTED_KEY', `expected a string key, found ${describeAt(s, pos)}`, pos);
  const key = readString(r, pos);
  f.key = key;
  f.keyAt = pos;
  if (r.dup !== DUP_LAST && Object.prototype.hasOwnProperty.call(f.obj, key)) {
    if (r.dup === DUP_ERROR) fail(r, 'JSON_ERR_DUPLICATE_KEY', `duplicate key ${JSON.stringify(key)}`, pos, { key });
    f.discard = true;
  }
  if (r.track && r.dup !== DUP_ERROR && Object.prototype.hasOwnProperty.call(f.obj, key)) {
    const first = (f.node!.children as Map<string, PositionNode>).get(key)!.key;
    r.duplicates.push({ key, path: pathTo(r, depth - 1), at: pos, first });
  }
  let p = skipWs(s, r.end);
  if (s.charCodeAt(p) !== 0x3a) fail(r, 'JSON_ERR_EXPECTED_COLON', `expected ':' after key ${JSON.stringify(key)}, found ${describeAt(s, p)}`, p, { key });
  return skipWs(s, p + 1);
}

/** Path of the container open at frames[n - 1] (the top value for n = 0). */
function pathTo(r: Run, n: number): JsonPathSegment[] {
  const path: JsonPathSegment[] = [];
  for (let i = 0; i < n; i++) {
    const f = r.frames[i]!;
    path.push(f.arr !== null ? f.arr.length : f.key);
  }
  return path;
}

/** Records where the value at pos starts, under its container (parseJsonDocument only). */
function startNode(r: Run, depth: number, pos: number): PositionNode {
  if (depth === 0) {
    const root: PositionNode = { value: pos, key: -1, children: undefined };
    r.root = root;
    return root;
  }
  const f = r.frames[depth - 1]!;
  const parent = f.node!.children!;
  if (f.arr !== null) {
    const node: PositionNode = { value: pos, key: -1, children: undefined };
    (parent as PositionNode[]).push(node);
    return node;
  }
  const node: PositionNode = { value: pos, key: f.keyAt, children: undefined };
  // A dropped duplicate keeps the first definition's positions.
  if (!f.discard) (parent as Map<string, PositionNode>).set(f.key, node);
  return node;
}

// In V8 a substring of 13 characters or more is a view into the string it was cut from (a
// sliced string), and a concatenation a pair of pointers to its parts: a parsed value that kept
// one kept the whole text alive. A topology of 100k containers kept its 9 MB file so (93 B per
// container, as much as every string in it). Values get strings of their own instead: joined
// from two parts (join writes a new string; short ones are copied by slice anyway).
const OWN_COPY_FROM = 13;

function ownSubstring(s: string, from: number, to: number): string {
  if (to - from < OWN_COPY_FROM) return s.slice(from, to);
  const mid = (from + to) >> 1;
  return [s.slice(from, mid), s.slice(mid, to)].join('');
}

function ownString(s: string): string {
  return s.length < OWN_COPY_FROM ? s : ownSubstring(s, 0, s.length);
}

function readString(r: Run, start: number): string {
  const s = r.text;
  let i = start + 1;
  let chunk = i;
  let out = '';
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      r.end = i + 1;
      return out === '' ? ownSubstring(s, chunk, i) : ownString(out + s.slice(chunk, i));
    }
    if (c >= 0x20 && c !== 0x5c) {
      i++;
      continue;
    }
    if (c !== c) fail(r, 'JSON_ERR_UNTERMINATED_STRING', 'unterminated string', start, { tokenStart: start }); // NaN: end of text
    if (c < 0x20) {
      fail(r, 'JSON_ERR_CONTROL_CHARACTER', `control character U+${c.toString(16).padStart(4, '0')} in string (escape it)`, i, { tokenStart: start });
    }
    // A backslash.
    out += s.slice(chunk, i);
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
        const code = hex4(s, i + 2);
        if (code < 0) fail(r, 'JSON_ERR_BAD_ESCAPE', 'bad \\u escape: expected 4 hex digits', i, { tokenStart: start });
        out += String.fromCharCode(code);
        i += 4;
        break;
      }
      default:
        if (e !== e) fail(r, 'JSON_ERR_UNTERMINATED_STRING', 'unterminated string', start, { tokenStart: start });
        fail(r, 'JSON_ERR_BAD_ESCAPE', `bad escape '\\${String.fromCodePoint(s.codePointAt(i + 1)!)}' in string`, i, { tokenStart: start });
    }
    i += 2;
    chunk = i;
  }
}

/** The value of 4 hex digits at i, or -1. */
function hex4(s: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = s.charCodeAt(i + k);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function readNumber(r: Run, start: number): number | bigint {
  const s = r.text;
  let i = start;
  const negative = s.charCodeAt(i) === 0x2d;
  if (negative) i++;
  const intStart = i;
  let c = s.charCodeAt(i);
  // Small integers are accumulated digit by digit: exact up to 15 digits, no substring needed.
  let n = 0;
  if (c === 0x30) {
    i++;
    c = s.charCodeAt(i);
    if (isDigit(c)) fail(r, 'JSON_ERR_BAD_NUMBER', 'leading zeros are not allowed in numbers', intStart, { tokenStart: start });
  } else if (c >= 0x31 && c <= 0x39) {
    do {
      n = n * 10 + (c - 0x30);
      c = s.charCodeAt(++i);
    } while (c >= 0x30 && c <= 0x39);
  } else {
    fail(r, 'JSON_ERR_BAD_NUMBER', `expected a digit, found ${describeAt(s, i)}`, i, { tokenStart: start });
  }
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    r.end = i;
    if (i - intStart <= 15) return negative ? -n : n;
    const literal = s.slice(start, i);
    if (!r.bigints) return Number(literal);
    const big = BigInt(literal);
    return big > MAX_SAFE || big < MIN_SAFE ? big : Number(big);
  }
  if (c === 0x2e) {
    c = s.charCodeAt(++i);
    if (!isDigit(c)) fail(r, 'JSON_ERR_BAD_NUMBER', `expected a digit after '.', found ${describeAt(s, i)}`, i, { tokenStart: start });
    while (isDigit(c)) c = s.charCodeAt(++i);
  }
  if (c === 0x65 || c === 0x45) {
    c = s.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++i);
    if (!isDigit(c)) fail(r, 'JSON_ERR_BAD_NUMBER', `expected a digit in the exponent, found ${describeAt(s, i)}`, i, { tokenStart: start });
    while (isDigit(c)) c = s.charCodeAt(++i);
  }
  r.end = i;
  return Number(s.slice(start, i));
}
