import { OvsdbValueError } from './errors.js';
import { isJsonObject, type Json } from './json.js';
import type { AtomicType, BaseType, ColumnSchema, ColumnType, DatabaseSchema, TableSchema } from './schema-types.js';
import { atomFromWire, OvsdbMap, OvsdbSet, Uuid, isScalarType, type Atom, type Value } from './values.js';

export type { AtomicType, BaseType, ColumnSchema, ColumnType, DatabaseSchema, TableSchema } from './schema-types.js';

// RFC 7047 section 3.2 <database-schema>, parsed into types. Nothing here knows any particular
// database: the schema is whatever the server says it is.

const ATOMIC_TYPES: readonly string[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

const UUID_COLUMN_TYPE: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };

function bad(path: string, what: string): never {
  throw new OvsdbValueError(`schema ${path}: ${what}`, 'OVSDB_ERR_BAD_SCHEMA');
}

/** Parses a <database-schema> (the result of get_schema). */
export function parseSchema(json: Json): DatabaseSchema {
  if (!isJsonObject(json)) bad('', 'not an object');
  if (typeof json.name !== 'string') bad('', 'missing "name"');
  if (!isJsonObject(json.tables)) bad(json.name, 'missing "tables"');
  const out: DatabaseSchema = { name: json.name, tables: {}, raw: json };
  if (typeof json.version === 'string') out.version = json.version;
  if (typeof json.cksum === 'string') out.cksum = json.cksum;
  for (const [name, t] of Object.entries(json.tables)) out.tables[name] = parseTable(`${json.name}.${name}`, name, t);
  return out;
}

function parseTable(path: string, name: string, json: Json): TableSchema {
  if (!isJsonObject(json)) bad(path, 'not an object');
  if (!isJsonObject(json.columns)) bad(path, 'missing "columns"');
  const columns: Record<string, ColumnSchema> = {
    _uuid: { name: '_uuid', type: UUID_COLUMN_TYPE, ephemeral: false, mutable: false },
    _version: { name: '_version', type: UUID_COLUMN_TYPE, ephemeral: false, mutable: false },
  };
  for (const [c, cj] of Object.entries(json.columns)) {
    if (!isJsonObject(cj)) bad(`${path}.${c}`, 'not an object');
    columns[c] = {
      name: c,
      type: parseColumnType(`${path}.${c}`, cj.type ?? null),
      ephemeral: cj.ephemeral === true,
      mutable: cj.mutable !== false,
    };
  }
  const table: TableSchema = {
    name,
    columns,
    isRoot: json.isRoot === true,
    indexes: Array.isArray(json.indexes)
      ? json.indexes.map((ix) => (Array.isArray(ix) ? ix.filter((c): c is string => typeof c === 'string') : []))
      : [],
  };
  if (typeof json.maxRows === 'number') table.maxRows = json.maxRows;
  return table;
}

/** Parses a column <type>: an atomic type name, or {key, value?, min?, max?}. */
export function parseColumnType(path: string, json: Json): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(path, json), min: 1, max: 1 };
  if (!isJsonObject(json)) bad(path, 'bad column type');
  if (json.key === undefined) bad(path, 'column type without "key"');
  const t: ColumnType = { key: parseBaseType(`${path}.key`, json.key), min: 1, max: 1 };
  if (json.value !== undefined) t.value = parseBaseType(`${path}.value`, json.value);
  if (json.min !== undefined) {
    if (json.min !== 0 && json.min !== 1) bad(path, `"min" must be 0 or 1, got ${String(json.min)}`);
    t.min = json.min;
  }
  if (json.max !== undefined) {
    if (json.max === 'unlimited') t.max = 'unlimited';
    else if (typeof json.max === 'number' && Number.isInteger(json.max) && json.max >= 1) t.max = json.max;
    else bad(path, `"max" must be a positive integer or "unlimited", got ${String(json.max)}`);
  }
  return t;
}

function parseBaseType(path: string, json: Json): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC_TYPES.includes(json)) bad(path, `unknown atomic type ${json}`);
    return { type: json as AtomicType };
  }
  if (!isJsonObject(json) || typeof json.type !== 'string' || !ATOMIC_TYPES.includes(json.type)) {
    bad(path, 'bad base type');
  }
  const b: BaseType = { type: json.type as AtomicType };
  if (json.enum !== undefined) {
    const plain: BaseType = { type: b.type };
    try {
      const atoms: Atom[] =
        Array.isArray(json.enum) && json.enum[0] === 'set' && Array.isArray(json.enum[1])
          ? json.enum[1].map((a) => atomFromWire(a, plain))
          : [atomFromWire(json.enum, plain)];
      b.enum = new OvsdbSet(atoms);
    } catch (e) {
      bad(path, `bad enum: ${(e as Error).message}`);
    }
  }
  const num = (k: string): number | bigint | undefined => {
    const v = json[k];
    return typeof v === 'number' || typeof v === 'bigint' ? v : undefined;
  };
  const minInteger = num('minInteger');
  const maxInteger = num('maxInteger');
  const minReal = num('minReal');
  const maxReal = num('maxReal');
  const minLength = num('minLength');
  const maxLength = num('maxLength');
  if (minInteger !== undefined) b.minInteger = minInteger;
  if (maxInteger !== undefined) b.maxInteger = maxInteger;
  if (minReal !== undefined) b.minReal = Number(minReal);
  if (maxReal !== undefined) b.maxReal = Number(maxReal);
  if (minLength !== undefined) b.minLength = Number(minLength);
  if (maxLength !== undefined) b.maxLength = Number(maxLength);
  if (typeof json.refTable === 'string') {
    b.refTable = json.refTable;
    b.refType = json.refType === 'weak' ? 'weak' : 'strong';
  }
  return b;
}

/** The default atom of an atomic type (RFC 7047 5.2.1: 0, 0.0, false, "", all-zero UUID). */
export function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
      return 0;
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return new Uuid('00000000-0000-0000-0000-000000000000');
  }
}

/**
 * The default value of a column type: the empty set/map when min is 0, else one default atom
 * (or one default key/value pair). This is what ovsdb-server stores for columns an insert
 * omits, and what update2 leaves out of initial/insert rows.
 */
export function defaultValue(t: ColumnType): Value {
  if (t.value !== undefined) {
    return new OvsdbMap(t.min === 0 ? [] : [[defaultAtom(t.key.type), defaultAtom(t.value.type)] as const]);
  }
  if (isScalarType(t)) return defaultAtom(t.key.type);
  return new OvsdbSet(t.min === 0 ? [] : [defaultAtom(t.key.type)]);
}

/** Looks a table up, with an error that names the database when it does not exist. */
export function tableSchema(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables[table];
  if (!t) throw new OvsdbValueError(`database ${schema.name} has no table ${table}`);
  return t;
}
