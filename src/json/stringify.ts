/**
 * JsonValue -> JSON text. A bigint is written as its exact decimal digits; anything that is not
 * JSON (undefined, NaN, a function, a Buffer or other class instance, a cycle) is refused with
 * a JsonValueError naming its path, rather than silently becoming null or {} as with
 * JSON.stringify.
 */
import { JsonValueError } from './errors.js';
import { DEFAULT_MAX_DEPTH, type JsonValue } from './parse.js';

export interface JsonStringifyOptions {
  /** As for JSON.stringify: spaces per level (0..10) or the indent string. Omitted: one line. */
  indent?: number | string;
  /** Object members whose value is undefined: 'error' (default) or 'omit' (as JSON.stringify). */
  undefinedMembers?: 'error' | 'omit';
  /** Deepest nesting written. Default 512, as for parsing. */
  maxDepth?: number;
}

/** `$.a.b`, `$["odd key"]`, `$.a[3]`: the path notation of JSON value errors. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

// A cycle makes the nesting grow without end, so looking for one only once the value is deeper
// than this keeps the common, shallow case free of the search.
const CYCLE_CHECK_DEPTH = 32;

class Writer {
  out = '';
  /** Containers being written and the key/index being written in each: the path, on error. */
  readonly stack: object[] = [];
  readonly keys: (string | number)[] = [];
  constructor(
    readonly unit: string,
    readonly omitUndefined: boolean,
    readonly maxDepth: number,
  ) {}

  fail(reason: string): never {
    let path = '$';
    for (const k of this.keys) path = childPath(path, k);
    throw new JsonValueError(path, reason);
  }

  write(v: unknown, pad: string): void {
    switch (typeof v) {
      case 'string':
        this.out += JSON.stringify(v);
        return;
      case 'number':
        if (!Number.isFinite(v)) this.fail(`${v} cannot be written as JSON`);
        this.out += JSON.stringify(v);
        return;
      case 'bigint':
        this.out += v.toString();
        return;
      case 'boolean':
        this.out += v ? 'true' : 'false';
        return;
      case 'object':
        if (v === null) {
          this.out += 'null';
          return;
        }
        this.container(v, pad);
        return;
      default:
        this.fail(`${typeof v} cannot be written as JSON`);
    }
  }

  container(v: object, pad: string): void {
    const depth = this.stack.length;
    if (depth >= CYCLE_CHECK_DEPTH && this.stack.includes(v)) this.fail('circular reference');
    if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    const unit = this.unit;
    const inner = unit === '' ? '' : pad + unit;
    const nl = unit === '' ? '' : '\n';
    this.stack.push(v);
    if (Array.isArray(v)) {
      if (v.length === 0) this.out += '[]';
      else {
        this.out += '[';
        this.keys.push(0);
        for (let i = 0; i < v.length; i++) {
          this.keys[depth] = i;
          this.out += i === 0 ? nl + inner : ',' + nl + inner;
          this.write(v[i], inner);
        }
        this.keys.pop();
        this.out += nl + pad + ']';
      }
    } else {
      const proto = Object.getPrototypeOf(v) as object | null;
      if (proto !== Object.prototype && proto !== null) {
        this.stack.pop();
        this.fail(`${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'object'} is not a plain JSON object`);
      }
      const sep = unit === '' ? ':' : ': ';
      let first = true;
      this.keys.push('');
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = (v as Record<string, unknown>)[key];
        this.keys[depth] = key;
        if (item === undefined && this.omitUndefined) continue;
        this.out += (first ? '{' + nl : ',' + nl) + inner + JSON.stringify(key) + sep;
        first = false;
        this.write(item, inner);
      }
      this.keys.pop();
      this.out += first ? '{}' : nl + pad + '}';
    }
    this.stack.pop();
  }
}

/**
 * Writes a JsonValue as JSON text; `indent` as for JSON.stringify (the same layout). Throws
 * JsonValueError for what JSON cannot hold.
 */
export function stringifyJson(value: JsonValue, indent?: number | string, options: JsonStringifyOptions = {}): string {
  const ind = indent ?? options.indent;
  const unit = typeof ind === 'number' ? ' '.repeat(Math.min(10, Math.max(0, Math.floor(ind)))) : (ind ?? '').slice(0, 10);
  const w = new Writer(unit, options.undefinedMembers === 'omit', options.maxDepth ?? DEFAULT_MAX_DEPTH);
  w.write(value, '');
  return w.out;
}
