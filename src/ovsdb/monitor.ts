import {
  RowCache,
  tableUpdates2FromWire,
  tableUpdatesFromWire,
  type CacheColumns,
  type RowChange,
  type TableUpdates,
  type TableUpdates2,
} from './cache.js';
import { OvsdbValueError, type OvsdbError } from './errors.js';
import type { Json, JsonObject } from './json.js';
import { conditionToWire, type Condition } from './operations.js';
import type { DatabaseSchema } from './schema.js';

/** <monitor-select>: which kinds of change to report (all default to true). */
export interface MonitorSelect {
  initial?: boolean;
  insert?: boolean;
  delete?: boolean;
  modify?: boolean;
}

/** <monitor-request> (RFC 7047 4.1.5). Omitted columns means all columns but _uuid. */
export interface MonitorRequest {
  columns?: readonly string[];
  select?: MonitorSelect;
}

/** <monitor-cond-request> (ovsdb-server(7) 4.1.12): a monitor request with a row filter. */
export interface MonitorCondRequest extends MonitorRequest {
  /** Rows matching any condition are reported; omitted or [] means every row. */
  where?: readonly Condition[];
}

/** Table name to one request or several (e.g. different columns for different selects). */
export type MonitorRequests<R extends MonitorRequest = MonitorRequest> = Record<string, R | readonly R[]>;

export type MonitorEventKind = 'initial' | 'update' | 'resync';

export interface MonitorEvent {
  monitor: Monitor;
  /**
   * initial: the contents the server reported when the monitor started;
   * update: an update (monitor) or update2 (monitor_cond) notification;
   * resync: the differences between the cache and the server's contents, found when the
   * monitor was re-issued after a reconnect (changes made while disconnected).
   */
  kind: MonitorEventKind;
  changes: RowChange[];
  /** The decoded reply or notification payload (undefined for resync). */
  updates?: TableUpdates | TableUpdates2;
}

export type MonitorHandler = (event: MonitorEvent) => void;

export interface MonitorOptions {
  /** Per-request timeout for the monitor request itself. */
  timeout?: number;
  /**
   * Called when the monitor ends other than by cancel(): the server cancelled it
   * (monitor_canceled) or it could not be re-established after a reconnect.
   */
  onCanceled?: (reason: OvsdbError) => void;
}

/** What a Monitor needs from its client (kept narrow so monitor.ts does not import client.ts). */
export interface MonitorHost {
  cancelMonitor(m: Monitor, timeout?: number): Promise<void>;
  changeMonitorConditions(m: Monitor, where: JsonObject, timeout?: number): Promise<void>;
}

/**
 * An active monitor or monitor_cond. Its `cache` holds the monitored rows and is up to date
 * before `handler` is called for each change, and before the reply to any transaction this
 * client makes that touches monitored rows (ovsdb-server sends updates before that reply).
 */
export class Monitor {
  /** @internal notifications that arrived before the (re)start reply was processed. */
  buffered: Array<[method: string, params: Json]> = [];
  /** @internal true while a (re)start reply is awaited. */
  starting = true;
  private _active = true;
  private _cache: RowCache | undefined;
  readonly requests: Record<string, MonitorCondRequest[]>;

  constructor(
    private readonly host: MonitorHost,
    readonly id: string,
    readonly database: string,
    readonly method: 'monitor' | 'monitor_cond',
    requests: MonitorRequests<MonitorCondRequest>,
    readonly handler: MonitorHandler,
    readonly options: MonitorOptions = {},
  ) {
    this.requests = {};
    for (const [table, r] of Object.entries(requests)) {
      const list = (Array.isArray(r) ? [...r] : [r]) as MonitorCondRequest[];
      if (list.length === 0) throw new OvsdbValueError(`monitor request for table ${table} is empty`);
      if (method === 'monitor' && list.some((x) => x.where !== undefined)) {
        throw new OvsdbValueError(`monitor request for ${table} has "where": use monitorCond`);
      }
      // update2 "modify" carries differences, which mean nothing without the row they apply to.
      if (method === 'monitor_cond' && list.some((x) => x.select?.initial === false && x.select.modify !== false)) {
        throw new OvsdbValueError(
          `monitor_cond request for ${table}: modify updates need the initial rows (update2 sends differences); use initial: true or modify: false`,
        );
      }
      this.requests[table] = list.map((x) => ({ ...x }));
    }
    if (Object.keys(this.requests).length === 0) throw new OvsdbValueError('a monitor needs at least one table');
  }

  /** False once cancelled, cancelled by the server, or the client closed. */
  get active(): boolean {
    return this._active;
  }

  /** The monitored rows. */
  get cache(): RowCache {
    if (!this._cache) throw new OvsdbValueError(`monitor ${this.id} has not received its initial contents yet`);
    return this._cache;
  }

  /** Stops the monitor (monitor_cancel). Harmless when already inactive. */
  cancel(options: { timeout?: number } = {}): Promise<void> {
    return this.host.cancelMonitor(this, options.timeout);
  }

  /**
   * Replaces the conditions of the given tables (monitor_cond_change). Rows that stop
   * matching are reported as deletes, rows that start matching as inserts. Tables not named
   * keep their conditions.
   */
  async setConditions(where: Record<string, readonly Condition[]>, options: { timeout?: number } = {}): Promise<void> {
    if (this.method !== 'monitor_cond') throw new OvsdbValueError('setConditions needs a monitor started with monitorCond');
    const wire: JsonObject = {};
    for (const [table, conds] of Object.entries(where)) {
      if (!this.requests[table]) throw new OvsdbValueError(`monitor ${this.id} does not monitor table ${table}`);
      wire[table] = [{ where: conds.map(conditionToWire) }];
    }
    await this.host.changeMonitorConditions(this, wire, options.timeout);
    // Remembered so a re-issue after reconnect asks for the same rows.
    for (const [table, conds] of Object.entries(where)) {
      this.requests[table] = this.requests[table]!.map((r) => ({ ...r, where: [...conds] }));
    }
  }

  /** @internal */
  deactivate(): void {
    this._active = false;
    this.buffered = [];
  }

  /** @internal Columns the cache holds per table (undefined = all). */
  cacheColumns(): CacheColumns {
    const out: CacheColumns = {};
    for (const [table, list] of Object.entries(this.requests)) {
      if (list.some((r) => r.columns === undefined)) out[table] = undefined;
      else out[table] = [...new Set(list.flatMap((r) => r.columns!))];
    }
    return out;
  }

  /** @internal The <monitor-requests> / <monitor-cond-requests> object. */
  wireRequests(): JsonObject {
    const out: JsonObject = {};
    for (const [table, list] of Object.entries(this.requests)) {
      out[table] = list.map((r) => {
        const w: JsonObject = {};
        if (r.columns !== undefined) w.columns = [...r.columns];
        if (r.where !== undefined) w.where = r.where.map(conditionToWire);
        if (r.select !== undefined) {
          const s: JsonObject = {};
          for (const k of ['initial', 'insert', 'delete', 'modify'] as const) if (r.select[k] !== undefined) s[k] = r.select[k]!;
          w.select = s;
        }
        return w;
      });
    }
    return out;
  }

  /**
   * @internal Applies a (re)start reply. The first one becomes the cache ('initial' event);
   * later ones (after a reconnect) are diffed against the cache ('resync' event).
   */
  applyStart(schema: DatabaseSchema, result: Json): MonitorEvent {
    const fresh = new RowCache(schema, this.cacheColumns());
    let updates: TableUpdates | TableUpdates2;
    let changes: RowChange[];
    if (this.method === 'monitor') {
      updates = tableUpdatesFromWire(result, schema);
      changes = fresh.applyUpdate(updates);
    } else {
      updates = tableUpdates2FromWire(result, schema);
      changes = fresh.applyUpdate2(updates);
    }
    if (!this._cache) {
      this._cache = fresh;
      return { monitor: this, kind: 'initial', changes, updates };
    }
    return { monitor: this, kind: 'resync', changes: this._cache.replaceWith(fresh) };
  }

  /** @internal Applies an update/update2 notification's <table-updates(2)>. */
  applyNotification(method: string, payload: Json): MonitorEvent {
    const cache = this.cache;
    if (method === 'update') {
      const updates = tableUpdatesFromWire(payload, cache.schema);
      return { monitor: this, kind: 'update', changes: cache.applyUpdate(updates), updates };
    }
    const updates = tableUpdates2FromWire(payload, cache.schema);
    return { monitor: this, kind: 'update', changes: cache.applyUpdate2(updates), updates };
  }
}
