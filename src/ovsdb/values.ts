import { atomEquals, NamedUuid, OvsdbMap, OvsdbSet, Uuid, type Atom, type Row, type Value } from './atoms.js';
import { OvsdbValueError } from './errors.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';
import type { BaseType, ColumnType, TableSchema } from './schema-types.js';

export { atomEquals, isId, NamedUuid, OvsdbMap, OvsdbSet, Uuid, type Atom, type Row, type Value } from './atoms.js';

// RFC 7047 section 5.1 notation, as typed TypeScript values.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export const uuid = (s: string): Uuid => new Uuid(s);
export const namedUuid = (name: string): NamedUuid => new NamedUuid(name);
export const set = <T extends Atom>(...values: T[]): OvsdbSet<T> => new OvsdbSet(values);
/** A set from an array of any length (`set(...xs)` overflows the call stack past ~100k elements). */
export const setOf = <T extends Atom>(values: readonly T[]): OvsdbSet<T> => new OvsdbSet(values);
export function map<K extends Atom, V extends Atom>(entries: Iterable<readonly [K, V]> | Map<K, V>): OvsdbMap<K, V>;
export function map<V extends Atom>(record: Record<string, V>): OvsdbMap<string, V>;
export function map(arg: unknown): OvsdbMap {
  if (arg instanceof Map) return new OvsdbMap(arg.entries());
  if (arg !== null && typeof arg === 'object' && typeof (arg as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return new OvsdbMap(arg as Iterable<readonly [Atom, Atom]>);
  }
  return OvsdbMap.fromRecord(arg as Record<string, Atom>);
}

export function isAtom(v: unknown): v is Atom {
  return (
    typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'boolean' ||
    v instanceof Uuid ||
    v instanceof NamedUuid
  );
}

// ---------------------------------------------------------------------------------------------
// Typed value -> wire JSON

export function atomToWire(a: Atom): Json {
  switch (typeof a) {
    case 'string':
    case 'boolean':
      return a;
    case 'number':
      if (!Number.isFinite(a)) throw new OvsdbValueError(`cannot send non-finite number ${a}`);
      return a;
    case 'bigint':
      if (a < INT64_MIN || a > INT64_MAX) throw new OvsdbValueError(`integer ${a} does not fit in 64 bits`);
      // Safe integers go out as plain numbers so the Json stays JSON.parse-compatible.
      return a >= BigInt(Number.MIN_SAFE_INTEGER) && a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : a;
    default:
      if (a instanceof Uuid) return ['uuid', a.uuid];
      if (a instanceof NamedUuid) return ['named-uuid', a.name];
      throw new OvsdbValueError(`not an OVSDB atom: ${describeValue(a)}`);
  }
}

/**
 * Typed value -> wire. A one-element set is sent as its bare atom (RFC 7047 5.1 allows either
 * form; the bare atom is what ovsdb-server itself sends).
 */
export function valueToWire(v: Value): Json {
  if (v instanceof OvsdbSet) {
    if (v.values.length === 1) return atomToWire(v.values[0]!);
    return ['set', v.values.map(atomToWire)];
  }
  if (v instanceof OvsdbMap) return ['map', v.entries.map(([k, val]) => [atomToWire(k), atomToWire(val)])];
  return atomToWire(v);
}

export function rowToWire(row: Row): JsonObject {
  const out: JsonObject = {};
  for (const [column, v] of Object.entries(row)) {
    if (v === undefined) continue;
    try {
      out[column] = valueToWire(v);
    } catch (e) {
      throw new OvsdbValueError(`column ${column}: ${(e as Error).message}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wire JSON -> typed value

function isTagged(j: Json, tag: string): j is [string, Json] {
  return Array.isArray(j) && j.length === 2 && j[0] === tag;
}

/**
 * Wire -> atom. Without a base type the JSON decides (["uuid", ..] is a Uuid, a number is a
 * number/bigint). With one, the value is checked against it: an integer column must hold an
 * integer, a real column accepts any number (ovsdb-server writes 1.0 as 1), and so on.
 */
export function atomFromWire(j: Json, base?: BaseType): Atom {
  if (base) {
    switch (base.type) {
      case 'integer':
        if (typeof j === 'bigint') {
          if (j < INT64_MIN || j > INT64_MAX) throw new OvsdbValueError(`integer ${j} does not fit in 64 bits`);
          return j;
        }
        if (typeof j === 'number' && Number.isInteger(j)) return j;
        break;
      case 'real':
        if (typeof j === 'number') return j;
        if (typeof j === 'bigint') return Number(j);
        break;
      case 'boolean':
        if (typeof j === 'boolean') return j;
        break;
      case 'string':
        if (typeof j === 'string') return j;
        break;
      case 'uuid':
        if (isTagged(j, 'uuid') && typeof j[1] === 'string') return new Uuid(j[1]);
        if (isTagged(j, 'named-uuid') && typeof j[1] === 'string') return new NamedUuid(j[1]);
        break;
    }
    throw new OvsdbValueError(`expected ${base.type}, got ${JSON.stringify(j, bigintReplacer)}`);
  }
  switch (typeof j) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return j;
  }
  if (isTagged(j, 'uuid') && typeof j[1] === 'string') return new Uuid(j[1]);
  if (isTagged(j, 'named-uuid') && typeof j[1] === 'string') return new NamedUuid(j[1]);
  throw new OvsdbValueError(`not an OVSDB atom: ${JSON.stringify(j, bigintReplacer)}`);
}

/** True for a column type that holds exactly one atom (min 1, max 1, no value type). */
export function isScalarType(t: ColumnType): boolean {
  return t.value === undefined && t.min === 1 && t.max === 1;
}

export function isMapType(t: ColumnType): boolean {
  return t.value !== undefined;
}

/**
 * Wire -> value. Without a column type, the JSON shape decides: a bare atom stays an atom.
 * With one, the result has the column's shape: every set-typed column (anything but exactly
 * one atom, including optional "min 0 max 1" columns) is an OvsdbSet even when the server sent
 * a bare atom for a one-element set, and maps are OvsdbMap; so callers can compare desired
 * and actual values without caring how the server chose to encode them.
 */
export function valueFromWire(j: Json, type?: ColumnType): Value {
  if (!type) {
    if (isTagged(j, 'set')) {
      if (!Array.isArray(j[1])) throw new OvsdbValueError('"set" must be followed by an array');
      return new OvsdbSet(j[1].map((a) => atomFromWire(a)));
    }
    if (isTagged(j, 'map')) return mapFromWire(j[1]);
    return atomFromWire(j);
  }
  if (type.value !== undefined) {
    if (!isTagged(j, 'map')) throw new OvsdbValueError(`expected a map, got ${JSON.stringify(j, bigintReplacer)}`);
    return mapFromWire(j[1], type.key, type.value);
  }
  let atoms: Atom[];
  if (isTagged(j, 'set')) {
    if (!Array.isArray(j[1])) throw new OvsdbValueError('"set" must be followed by an array');
    atoms = j[1].map((a) => atomFromWire(a, type.key));
  } else atoms = [atomFromWire(j, type.key)];
  if (isScalarType(type)) {
    if (atoms.length !== 1) throw new OvsdbValueError(`expected exactly one ${type.key.type}, got ${atoms.length}`);
    return atoms[0]!;
  }
  return new OvsdbSet(atoms);
}

function mapFromWire(pairs: Json, keyType?: BaseType, valueType?: BaseType): OvsdbMap {
  if (!Array.isArray(pairs)) throw new OvsdbValueError('"map" must be followed by an array of pairs');
  return new OvsdbMap(
    pairs.map((p) => {
      if (!Array.isArray(p) || p.length !== 2) {
        throw new OvsdbValueError(`map entry must be a [key, value] pair, got ${JSON.stringify(p, bigintReplacer)}`);
      }
      return [atomFromWire(p[0]!, keyType), atomFromWire(p[1]!, valueType)] as const;
    }),
  );
}

/**
 * Wire row -> typed row. With a table schema every column is decoded by its type (including
 * the implicit _uuid and _version); a column the schema does not know is an error, since
 * misreading it silently would hide a schema mismatch.
 */
export function rowFromWire(j: Json, table?: TableSchema): Row {
  if (!isJsonObject(j)) throw new OvsdbValueError(`expected a row object, got ${JSON.stringify(j, bigintReplacer)}`);
  const out: Row = {};
  for (const [column, v] of Object.entries(j)) {
    let type: ColumnType | undefined;
    if (table) {
      type = table.columns[column]?.type;
      if (!type) throw new OvsdbValueError(`table ${table.name} has no column ${column}`);
    }
    try {
      out[column] = valueFromWire(v, type);
    } catch (e) {
      throw new OvsdbValueError(`${table ? `${table.name}.` : ''}${column}: ${(e as Error).message}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Equality (for diffing desired against actual state)

/**
 * Value equality with OVSDB semantics: sets and maps compare as unordered collections, and a
 * bare atom equals a one-element set holding it.
 */
export function valueEquals(a: Value, b: Value): boolean {
  if (a instanceof OvsdbMap || b instanceof OvsdbMap) {
    if (!(a instanceof OvsdbMap && b instanceof OvsdbMap) || a.size !== b.size) return false;
    const byKey = new Map(b.entries.map(([k, v]) => [atomKey(k), v]));
    return a.entries.every(([k, v]) => {
      const other = byKey.get(atomKey(k));
      return other !== undefined && atomEquals(v, other);
    });
  }
  const as = a instanceof OvsdbSet ? a.values : [a];
  const bs = b instanceof OvsdbSet ? b.values : [b];
  if (as.length !== bs.length) return false;
  if (as.length === 1) return atomEquals(as[0]!, bs[0]!);
  const ka = new Set(as.map(atomKey));
  const kb = new Set(bs.map(atomKey));
  if (ka.size !== kb.size) return false;
  for (const k of ka) if (!kb.has(k)) return false;
  return true;
}

/** Rows are equal when they have the same columns with equal values. */
export function rowEquals(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && valueEquals(a[k]!, b[k]!));
}

/** Key used to index atoms in hash maps (uuid rows, set/map diffs). */
export function atomKey(a: Atom): string {
  if (a instanceof Uuid) return `u:${a.uuid}`;
  if (a instanceof NamedUuid) return `n:${a.name}`;
  if (typeof a === 'number' && Number.isInteger(a)) return `i:${a}`;
  if (typeof a === 'bigint') return `i:${a}`;
  return `${typeof a}:${String(a)}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

/** JSON.stringify replacer for error messages that may contain bigints. */
export function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}` : v;
}
