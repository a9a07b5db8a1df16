import { OvsdbValueError } from './errors.js';

// RFC 7047 section 5.1 notation, as typed TypeScript values: the value model alone, without
// wire conversion or schemas (values.ts and schema.ts both build on it).

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ID_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** True for an RFC 7047 <id> (uuid-names, lock names): a letter or '_', then letters, digits, '_'. */
export function isId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}

/** <uuid>: `["uuid", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"]`. Stored lower-case. */
export class Uuid {
  readonly uuid: string;
  constructor(uuid: string) {
    if (typeof uuid !== 'string' || !UUID_RE.test(uuid)) {
      throw new OvsdbValueError(`not a UUID: ${JSON.stringify(uuid)}`);
    }
    this.uuid = uuid.toLowerCase();
  }
  toString(): string {
    return this.uuid;
  }
}

/**
 * <named-uuid>: `["named-uuid", "<id>"]`, a reference inside one transaction to the row that
 * an earlier insert operation with the same `uuid-name` creates.
 */
export class NamedUuid {
  constructor(readonly name: string) {
    if (typeof name !== 'string' || !ID_RE.test(name)) {
      throw new OvsdbValueError(`not a valid uuid-name (an <id>: letter or '_' then letters, digits, '_'): ${JSON.stringify(name)}`);
    }
  }
  toString(): string {
    return this.name;
  }
}

/**
 * An atom. Integers are `number` when they fit a double exactly and `bigint` otherwise (OVSDB
 * integers are 64-bit); `bigint` is accepted everywhere a number is. Reals are `number`.
 */
export type Atom = number | bigint | string | boolean | Uuid | NamedUuid;

/** <set>: zero or more distinct atoms. */
export class OvsdbSet<T extends Atom = Atom> {
  readonly values: readonly T[];
  constructor(values: Iterable<T> = []) {
    this.values = [...values];
  }
  get size(): number {
    return this.values.length;
  }
  has(atom: Atom): boolean {
    return this.values.some((v) => atomEquals(v, atom));
  }
  [Symbol.iterator](): Iterator<T> {
    return this.values[Symbol.iterator]();
  }
}

/** <map>: key/value pairs with distinct keys. */
export class OvsdbMap<K extends Atom = Atom, V extends Atom = Atom> {
  readonly entries: readonly (readonly [K, V])[];
  constructor(entries: Iterable<readonly [K, V]> = []) {
    this.entries = [...entries].map(([k, v]) => [k, v] as const);
  }
  /** Builds a string-keyed map (external_ids, options, other_config...) from an object. */
  static fromRecord<V extends Atom>(record: Record<string, V>): OvsdbMap<string, V> {
    return new OvsdbMap(Object.entries(record));
  }
  get size(): number {
    return this.entries.length;
  }
  get(key: Atom): V | undefined {
    return this.entries.find(([k]) => atomEquals(k, key))?.[1];
  }
  has(key: Atom): boolean {
    return this.entries.some(([k]) => atomEquals(k, key));
  }
  keys(): K[] {
    return this.entries.map(([k]) => k);
  }
  /** String-keyed view; keys are converted with String(). */
  toRecord(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const [k, v] of this.entries) out[String(k)] = v;
    return out;
  }
  [Symbol.iterator](): Iterator<readonly [K, V]> {
    return this.entries[Symbol.iterator]();
  }
}

export type Value = Atom | OvsdbSet | OvsdbMap;
/** A row: column name to value. Columns absent from the object are "not mentioned". */
export type Row = Record<string, Value>;

export function atomEquals(a: Atom, b: Atom): boolean {
  if (a === b) return true;
  if (a instanceof Uuid) return b instanceof Uuid && a.uuid === b.uuid;
  if (a instanceof NamedUuid) return b instanceof NamedUuid && a.name === b.name;
  // 5 and 5n are the same OVSDB integer.
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isInteger(b) && a === BigInt(b);
  if (typeof a === 'number' && typeof b === 'bigint') return Number.isInteger(a) && BigInt(a) === b;
  return false;
}
