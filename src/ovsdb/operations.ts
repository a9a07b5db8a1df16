import { OvsdbProtocolError, OvsdbTransactionError, OvsdbValueError, toServerError } from './errors.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';
import type { DatabaseSchema, TableSchema } from './schema.js';
import { isId, rowFromWire, rowToWire, Uuid, valueToWire, type Row, type Value } from './values.js';

// RFC 7047 section 5.2 database operations: typed objects, builders, and their wire forms.

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
/**
 * <condition>: [column, function, value]. ovsdb-server also accepts a bare boolean as a
 * condition in monitor_cond "where" clauses (true matches every row).
 */
export type Condition = readonly [column: string, fn: ConditionFunction, value: Value] | boolean;

export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
/** <mutation>: [column, mutator, value]. */
export type Mutation = readonly [column: string, mutator: Mutator, value: Value];

export interface InsertOp {
  op: 'insert';
  table: string;
  row: Row;
  /** Name other operations of the same transaction use to refer to the new row (named-uuid). */
  uuidName?: string;
  /** ovsdb-server 2.13+ extension: the UUID the new row must get. */
  uuid?: Uuid;
}
export interface SelectOp {
  op: 'select';
  table: string;
  where: readonly Condition[];
  columns?: readonly string[];
}
export interface UpdateOp {
  op: 'update';
  table: string;
  where: readonly Condition[];
  row: Row;
}
export interface MutateOp {
  op: 'mutate';
  table: string;
  where: readonly Condition[];
  mutations: readonly Mutation[];
}
export interface DeleteOp {
  op: 'delete';
  table: string;
  where: readonly Condition[];
}
export interface WaitOp {
  op: 'wait';
  table: string;
  where: readonly Condition[];
  columns: readonly string[];
  until: '==' | '!=';
  rows: readonly Row[];
  /** Milliseconds the server waits for the condition; omitted means forever. */
  timeout?: number;
}
export interface CommitOp {
  op: 'commit';
  durable: boolean;
}
export interface AbortOp {
  op: 'abort';
}
export interface CommentOp {
  op: 'comment';
  comment: string;
}
export interface AssertOp {
  op: 'assert';
  lock: string;
}

export type Operation =
  | InsertOp
  | SelectOp
  | UpdateOp
  | MutateOp
  | DeleteOp
  | WaitOp
  | CommitOp
  | AbortOp
  | CommentOp
  | AssertOp;

export interface InsertResult {
  uuid: Uuid;
}
export interface SelectResult {
  rows: Row[];
}
/** Rows matched by update/mutate/delete. */
export interface CountResult {
  count: number;
}
/** wait, commit, abort, comment and assert succeed with an empty object. */
export type EmptyResult = Record<string, never>;

export type ResultOf<O extends Operation> = O extends InsertOp
  ? InsertResult
  : O extends SelectOp
    ? SelectResult
    : O extends UpdateOp | MutateOp | DeleteOp
      ? CountResult
      : EmptyResult;

/** Maps a tuple of operations to the tuple of their results. */
export type ResultsOf<T extends readonly Operation[]> = { -readonly [K in keyof T]: T[K] extends Operation ? ResultOf<T[K]> : never };

// ---------------------------------------------------------------------------------------------
// Builders

/** Lock names and uuid-names are <id>s; the server rejects anything else as a syntax error. */
export function checkId(what: string, id: string): string {
  if (!isId(id)) throw new OvsdbValueError(`${what} must be an <id> (a letter or '_', then letters, digits, '_'): ${JSON.stringify(id)}`);
  return id;
}

function checkTable(table: string): string {
  if (typeof table !== 'string' || table === '') throw new OvsdbValueError('operation needs a table name');
  return table;
}

/** Builders for every operation; pass the results to `client.transact(db, [...])`. */
export const op = {
  insert(table: string, row: Row, options: { uuidName?: string; uuid?: Uuid } = {}): InsertOp {
    const o: InsertOp = { op: 'insert', table: checkTable(table), row };
    if (options.uuidName !== undefined) o.uuidName = checkId('uuid-name', options.uuidName);
    if (options.uuid !== undefined) o.uuid = options.uuid;
    return o;
  },
  select(table: string, where: readonly Condition[] = [], columns?: readonly string[]): SelectOp {
    const o: SelectOp = { op: 'select', table: checkTable(table), where };
    if (columns !== undefined) o.columns = columns;
    return o;
  },
  update(table: string, where: readonly Condition[], row: Row): UpdateOp {
    return { op: 'update', table: checkTable(table), where, row };
  },
  mutate(table: string, where: readonly Condition[], mutations: readonly Mutation[]): MutateOp {
    return { op: 'mutate', table: checkTable(table), where, mutations };
  },
  delete(table: string, where: readonly Condition[]): DeleteOp {
    return { op: 'delete', table: checkTable(table), where };
  },
  wait(
    table: string,
    where: readonly Condition[],
    columns: readonly string[],
    until: '==' | '!=',
    rows: readonly Row[],
    timeout?: number,
  ): WaitOp {
    const o: WaitOp = { op: 'wait', table: checkTable(table), where, columns, until, rows };
    if (timeout !== undefined) o.timeout = timeout;
    return o;
  },
  commit(durable = false): CommitOp {
    return { op: 'commit', durable };
  },
  abort(): AbortOp {
    return { op: 'abort' };
  },
  comment(comment: string): CommentOp {
    return { op: 'comment', comment };
  },
  assert(lock: string): AssertOp {
    return { op: 'assert', lock: checkId('lock name', lock) };
  },
} as const;

export function cond(column: string, fn: ConditionFunction, value: Value): Condition {
  return [column, fn, value] as const;
}

export function mutation(column: string, mutator: Mutator, value: Value): Mutation {
  return [column, mutator, value] as const;
}

// ---------------------------------------------------------------------------------------------
// Wire forms

export function conditionToWire(c: Condition): Json {
  if (typeof c === 'boolean') return c;
  const [column, fn, value] = c;
  try {
    return [column, fn, valueToWire(value)];
  } catch (e) {
    throw new OvsdbValueError(`condition on ${column}: ${(e as Error).message}`);
  }
}

function mutationToWire(m: Mutation): Json {
  const [column, mutator, value] = m;
  try {
    return [column, mutator, valueToWire(value)];
  } catch (e) {
    throw new OvsdbValueError(`mutation of ${column}: ${(e as Error).message}`);
  }
}

export function operationToWire(o: Operation): JsonObject {
  switch (o.op) {
    case 'insert': {
      const w: JsonObject = { op: 'insert', table: o.table, row: rowToWire(o.row) };
      if (o.uuidName !== undefined) w['uuid-name'] = o.uuidName;
      if (o.uuid !== undefined) w.uuid = ['uuid', o.uuid.uuid];
      return w;
    }
    case 'select': {
      const w: JsonObject = { op: 'select', table: o.table, where: o.where.map(conditionToWire) };
      if (o.columns !== undefined) w.columns = [...o.columns];
      return w;
    }
    case 'update':
      return { op: 'update', table: o.table, where: o.where.map(conditionToWire), row: rowToWire(o.row) };
    case 'mutate':
      return { op: 'mutate', table: o.table, where: o.where.map(conditionToWire), mutations: o.mutations.map(mutationToWire) };
    case 'delete':
      return { op: 'delete', table: o.table, where: o.where.map(conditionToWire) };
    case 'wait': {
      const w: JsonObject = {
        op: 'wait',
        table: o.table,
        where: o.where.map(conditionToWire),
        columns: [...o.columns],
        until: o.until,
        rows: o.rows.map(rowToWire),
      };
      if (o.timeout !== undefined) w.timeout = o.timeout;
      return w;
    }
    case 'commit':
      return { op: 'commit', durable: o.durable };
    case 'abort':
      return { op: 'abort' };
    case 'comment':
      return { op: 'comment', comment: o.comment };
    case 'assert':
      return { op: 'assert', lock: o.lock };
    default:
      throw new OvsdbValueError(`unknown operation ${JSON.stringify((o as { op: unknown }).op)}`);
  }
}

function opTable(o: Operation): string | undefined {
  return 'table' in o ? o.table : undefined;
}

function decodeResult(o: Operation, r: JsonObject, schema: DatabaseSchema | undefined): unknown {
  switch (o.op) {
    case 'insert': {
      const u = r.uuid;
      if (!Array.isArray(u) || u[0] !== 'uuid' || typeof u[1] !== 'string') throw new Error('insert result without "uuid"');
      return { uuid: new Uuid(u[1]) } satisfies InsertResult;
    }
    case 'select': {
      if (!Array.isArray(r.rows)) throw new Error('select result without "rows"');
      const table: TableSchema | undefined = schema?.tables[o.table];
      return { rows: r.rows.map((row) => rowFromWire(row, table)) } satisfies SelectResult;
    }
    case 'update':
    case 'mutate':
    case 'delete':
      if (typeof r.count !== 'number') throw new Error(`${o.op} result without "count"`);
      return { count: r.count } satisfies CountResult;
    default:
      return {};
  }
}

/**
 * Interprets a transact result (RFC 7047 4.1.3): one element per operation, where a failing
 * operation's slot holds an <error> and the slots after it are null; or, when every operation
 * succeeded but the commit failed, one extra trailing <error>. Throws OvsdbTransactionError
 * naming the failing operation, else returns the decoded results in operation order.
 */
export function transactResultFromWire(
  database: string,
  ops: readonly Operation[],
  result: Json,
  schema?: DatabaseSchema,
): unknown[] {
  if (!Array.isArray(result)) {
    throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `transact on ${database}: result is not an array`);
  }
  const decoded: unknown[] = [];
  for (let i = 0; i < result.length; i++) {
    const r = result[i]!;
    const o = ops[i];
    if (isJsonObject(r) && r.error !== undefined && r.error !== null) {
      throw new OvsdbTransactionError(database, i, o ? o.op : 'commit', o ? opTable(o) : undefined, toServerError(r), decoded);
    }
    if (!o) {
      throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `transact on ${database}: ${result.length} results for ${ops.length} operations`);
    }
    if (!isJsonObject(r)) {
      // null is only legal after a failed operation, which was handled above.
      throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `transact on ${database}: result ${i} (${o.op}) is ${JSON.stringify(r)}, expected an object`);
    }
    try {
      decoded.push(decodeResult(o, r, schema));
    } catch (e) {
      throw new OvsdbProtocolError(
        'OVSDB_ERR_PROTOCOL',
        `transact on ${database}: cannot read result ${i} (${o.op}${opTable(o) ? ` on ${opTable(o)}` : ''}): ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  if (decoded.length !== ops.length) {
    throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `transact on ${database}: ${result.length} results for ${ops.length} operations`);
  }
  return decoded;
}
