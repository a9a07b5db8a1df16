import { OvsdbProtocolError, OvsdbValueError } from './errors.js';
import { isJsonObject, type Json } from './json.js';
import { defaultValue, type ColumnType, type DatabaseSchema, type TableSchema } from './schema.js';
import {
  atomEquals,
  atomKey,
  isMapType,
  OvsdbMap,
  OvsdbSet,
  rowEquals,
  rowFromWire,
  type Atom,
  type Row,
  type Value,
} from './values.js';

// A replica of monitored tables (table -> row UUID -> row), fed by monitor replies and
// update/update2 notifications. Generic: it knows schemas, not any particular database.

/** <row-update> of an "update" notification (RFC 7047 4.1.6), decoded. */
export interface RowUpdate {
  old?: Row;
  new?: Row;
}
export type TableUpdates = Record<string, Record<string, RowUpdate>>;

/** <row-update2> of an "update2" notification (ovsdb-server(7) 4.1.14), decoded. */
export type RowUpdate2 = { initial: Row } | { insert: Row } | { modify: Row } | { delete: null };
export type TableUpdates2 = Record<string, Record<string, RowUpdate2>>;

export type RowChangeType = 'insert' | 'modify' | 'delete';

/**
 * One row that changed, with whole rows on both sides (as far as the monitored columns go):
 * `old` for modify/delete, `new` for insert/modify. (Exception: a plain monitor with
 * select.initial false reports a modify of a row it never saw with only the changed columns
 * in `old`.) Rows are never mutated in place, so a handler may keep references to them.
 */
export interface RowChange {
  table: string;
  uuid: string;
  type: RowChangeType;
  old?: Row;
  new?: Row;
}

function protocol(what: string): never {
  throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', what);
}

function tableOf(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables[table];
  if (!t) protocol(`update for table ${table}, which database ${schema.name} does not have`);
  return t;
}

function decodeRow(json: Json, table: TableSchema, what: string): Row {
  try {
    return rowFromWire(json, table);
  } catch (e) {
    return protocol(`${what}: ${(e as Error).message}`);
  }
}

/** Decodes the <table-updates> of a monitor reply or "update" notification. */
export function tableUpdatesFromWire(json: Json, schema: DatabaseSchema): TableUpdates {
  if (!isJsonObject(json)) protocol('<table-updates> is not an object');
  const out: TableUpdates = {};
  for (const [table, rows] of Object.entries(json)) {
    const ts = tableOf(schema, table);
    if (!isJsonObject(rows)) protocol(`<table-update> for ${table} is not an object`);
    const t: Record<string, RowUpdate> = (out[table] = {});
    for (const [uuid, ru] of Object.entries(rows)) {
      if (!isJsonObject(ru)) protocol(`<row-update> for ${table} ${uuid} is not an object`);
      const u: RowUpdate = {};
      if (ru.old !== undefined && ru.old !== null) u.old = decodeRow(ru.old, ts, `${table} ${uuid} old`);
      if (ru.new !== undefined && ru.new !== null) u.new = decodeRow(ru.new, ts, `${table} ${uuid} new`);
      t[uuid] = u;
    }
  }
  return out;
}

/** Decodes the <table-updates2> of a monitor_cond reply or "update2" notification. */
export function tableUpdates2FromWire(json: Json, schema: DatabaseSchema): TableUpdates2 {
  if (!isJsonObject(json)) protocol('<table-updates2> is not an object');
  const out: TableUpdates2 = {};
  for (const [table, rows] of Object.entries(json)) {
    const ts = tableOf(schema, table);
    if (!isJsonObject(rows)) protocol(`<table-update2> for ${table} is not an object`);
    const t: Record<string, RowUpdate2> = (out[table] = {});
    for (const [uuid, ru] of Object.entries(rows)) {
      if (!isJsonObject(ru)) protocol(`<row-update2> for ${table} ${uuid} is not an object`);
      if (ru.initial !== undefined) t[uuid] = { initial: decodeRow(ru.initial, ts, `${table} ${uuid} initial`) };
      else if (ru.insert !== undefined) t[uuid] = { insert: decodeRow(ru.insert, ts, `${table} ${uuid} insert`) };
      else if (ru.modify !== undefined) t[uuid] = { modify: decodeRow(ru.modify, ts, `${table} ${uuid} modify`) };
      else if ('delete' in ru) t[uuid] = { delete: null };
      else protocol(`<row-update2> for ${table} ${uuid} has none of initial/insert/modify/delete`);
    }
  }
  return out;
}

/**
 * Applies an update2 "modify" difference to one column value (ovsdb-server(7) 4.1.14): a set
 * toggles each listed element (symmetric difference); a map adds keys it lacks, removes keys
 * whose listed value equals the current one, and replaces the value of keys listed with a
 * different value. Columns that hold at most one element (scalars, optional values, maps with
 * "max": 1) are sent as the new value itself, not as a difference: ovsdb-server 3.1 does so,
 * and a symmetric difference could not express "replace x with y" for them anyway.
 */
export function applyColumnDiff(type: ColumnType, old: Value | undefined, diff: Value): Value {
  if (type.max === 1) return diff;
  if (isMapType(type)) {
    if (!(diff instanceof OvsdbMap)) throw new OvsdbValueError('map column diff is not a map');
    const entries = new Map<string, [Atom, Atom]>();
    if (old instanceof OvsdbMap) for (const [k, v] of old.entries) entries.set(atomKey(k), [k, v]);
    for (const [k, v] of diff.entries) {
      const key = atomKey(k);
      const cur = entries.get(key);
      if (cur && atomEquals(cur[1], v)) entries.delete(key);
      else entries.set(key, [k, v]);
    }
    return new OvsdbMap([...entries.values()]);
  }
  const items = new Map<string, Atom>();
  if (old instanceof OvsdbSet) for (const a of old.values) items.set(atomKey(a), a);
  const toggles = diff instanceof OvsdbSet ? diff.values : [diff as Atom];
  for (const a of toggles) {
    const key = atomKey(a);
    if (items.has(key)) items.delete(key);
    else items.set(key, a);
  }
  return new OvsdbSet([...items.values()]);
}

/**
 * Which columns of each table a cache holds: `undefined` for a table means every column the
 * server monitors when none are named (all but _uuid; _version is included).
 */
export type CacheColumns = Record<string, readonly string[] | undefined>;

export class RowCache {
  private readonly data = new Map<string, Map<string, Row>>();

  /**
   * `columns` lists the monitored columns per table; it is used to fill in the columns update2
   * leaves out of initial/insert rows because they hold the default value.
   */
  constructor(
    readonly schema: DatabaseSchema,
    readonly columns: CacheColumns = {},
  ) {}

  /** Table names that currently hold rows. */
  get tables(): string[] {
    return [...this.data.keys()].filter((t) => this.data.get(t)!.size > 0);
  }

  /** The rows of a table by UUID (empty when the table is not monitored or has no rows). */
  table(name: string): ReadonlyMap<string, Row> {
    return this.data.get(name) ?? new Map();
  }

  get(table: string, uuid: string): Row | undefined {
    return this.data.get(table)?.get(uuid);
  }

  /** Rows of `table` for which `match` is true, as [uuid, row] pairs. */
  find(table: string, match: (row: Row, uuid: string) => boolean): Array<[string, Row]> {
    const out: Array<[string, Row]> = [];
    for (const [uuid, row] of this.table(table)) if (match(row, uuid)) out.push([uuid, row]);
    return out;
  }

  get size(): number {
    let n = 0;
    for (const t of this.data.values()) n += t.size;
    return n;
  }

  clear(): void {
    this.data.clear();
  }

  /** Applies a decoded <table-updates> (monitor reply or "update" notification). */
  applyUpdate(updates: TableUpdates): RowChange[] {
    const changes: RowChange[] = [];
    for (const [table, rows] of Object.entries(updates)) {
      const t = this.tableMap(table);
      for (const [uuid, u] of Object.entries(rows)) {
        const prev = t.get(uuid);
        if (u.new === undefined) {
          // delete: "old" alone
          if (prev === undefined) continue;
          t.delete(uuid);
          changes.push({ table, uuid, type: 'delete', old: prev });
        } else if (prev === undefined) {
          const row = this.withDefaults(table, u.new);
          t.set(uuid, row);
          // A modify of a row we never saw (select.initial false): "old" has only the changed columns.
          changes.push(u.old ? { table, uuid, type: 'modify', old: Object.freeze({ ...u.old }), new: row } : { table, uuid, type: 'insert', new: row });
        } else {
          // "new" holds the monitored columns' new values; merge in case a server sends
          // only the changed ones.
          const row = Object.freeze({ ...prev, ...u.new });
          t.set(uuid, row);
          changes.push({ table, uuid, type: 'modify', old: prev, new: row });
        }
      }
    }
    return changes;
  }

  /** Applies a decoded <table-updates2> (monitor_cond reply or "update2" notification). */
  applyUpdate2(updates: TableUpdates2): RowChange[] {
    const changes: RowChange[] = [];
    for (const [table, rows] of Object.entries(updates)) {
      const t = this.tableMap(table);
      const ts = this.schema.tables[table]!;
      for (const [uuid, u] of Object.entries(rows)) {
        const prev = t.get(uuid);
        if ('delete' in u) {
          if (prev === undefined) continue;
          t.delete(uuid);
          changes.push({ table, uuid, type: 'delete', old: prev });
        } else if ('modify' in u) {
          if (prev === undefined) {
            protocol(`update2 modifies ${table} row ${uuid}, which the monitor never reported`);
          }
          const next: Row = { ...prev };
          for (const [column, diff] of Object.entries(u.modify)) {
            const type = ts.columns[column]!.type;
            next[column] = applyColumnDiff(type, prev[column], diff);
          }
          const row = Object.freeze(next);
          t.set(uuid, row);
          changes.push({ table, uuid, type: 'modify', old: prev, new: row });
        } else {
          const row = this.withDefaults(table, 'initial' in u ? u.initial : u.insert);
          t.set(uuid, row);
          changes.push(prev ? { table, uuid, type: 'modify', old: prev, new: row } : { table, uuid, type: 'insert', new: row });
        }
      }
    }
    return changes;
  }

  /**
   * Replaces this cache's contents with `fresh`'s (a cache rebuilt from a monitor's initial
   * contents after a reconnect) and returns what changed in between: rows gone are deletes,
   * new rows inserts, differing rows modifies; identical rows produce nothing.
   */
  replaceWith(fresh: RowCache): RowChange[] {
    const changes: RowChange[] = [];
    const tables = new Set([...this.data.keys(), ...fresh.data.keys()]);
    for (const table of tables) {
      const before = this.data.get(table) ?? new Map<string, Row>();
      const after = fresh.data.get(table) ?? new Map<string, Row>();
      for (const [uuid, old] of before) if (!after.has(uuid)) changes.push({ table, uuid, type: 'delete', old });
      for (const [uuid, row] of after) {
        const old = before.get(uuid);
        if (old === undefined) changes.push({ table, uuid, type: 'insert', new: row });
        else if (!rowEquals(old, row)) changes.push({ table, uuid, type: 'modify', old, new: row });
      }
    }
    this.data.clear();
    for (const [table, rows] of fresh.data) this.data.set(table, new Map(rows));
    return changes;
  }

  private tableMap(table: string): Map<string, Row> {
    let t = this.data.get(table);
    if (!t) this.data.set(table, (t = new Map()));
    return t;
  }

  private withDefaults(table: string, row: Row): Row {
    const ts = this.schema.tables[table];
    if (!ts) return Object.freeze({ ...row });
    const out: Row = {};
    const names = this.columns[table] ?? Object.keys(ts.columns).filter((c) => c !== '_uuid');
    for (const c of names) {
      const col = ts.columns[c];
      if (col && row[c] === undefined) out[c] = defaultValue(col.type);
    }
    return Object.freeze(Object.assign(out, row));
  }
}
