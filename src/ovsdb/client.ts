import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  OvsdbConnectionError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbTimeoutError,
  OvsdbValueError,
} from './errors.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from './json-stream.js';
import { JsonRpcConnection } from './jsonrpc.js';
import {
  Monitor,
  type MonitorCondRequest,
  type MonitorEvent,
  type MonitorHandler,
  type MonitorHost,
  type MonitorOptions,
  type MonitorRequest,
  type MonitorRequests,
} from './monitor.js';
import { checkId, operationToWire, transactResultFromWire, type Operation, type ResultsOf } from './operations.js';
import { parseSchema, type DatabaseSchema } from './schema.js';
import { checkEndpointCredentials, describeEndpoint, openTransport, parseEndpoint, type Endpoint, type TlsCredentials } from './transport.js';

export interface ReconnectOptions {
  /** Delay before the first attempt, ms (default 200). */
  initialDelay?: number;
  /** Cap on the delay, ms (default 10000). */
  maxDelay?: number;
  /** Growth of the delay per failed attempt (default 2). */
  factor?: number;
  /** Random spread as a fraction of the delay, so many clients do not retry in step (default 0.2). */
  jitter?: number;
  /** Give up (state 'closed') after this many failed attempts in a row (default Infinity). */
  maxAttempts?: number;
}

export interface OvsdbClientOptions {
  /** Default timeout of every request, ms, including any wait for a reconnect; 0 = none (default 30000). */
  requestTimeout?: number;
  /** Timeout of one connection attempt, ms (default 10000). */
  connectTimeout?: number;
  /** Largest JSON text accepted from the server, bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Send an echo this often to check the server is alive, ms; 0 disables (default 5000). */
  echoInterval?: number;
  /** Drop the connection when an echo is unanswered this long, ms (default 2 * echoInterval). */
  echoTimeout?: number;
  /** Reconnect after the connection drops (default true, with the defaults above). */
  reconnect?: boolean | ReconnectOptions;
  /** Names the server in messages (default: the endpoint string). */
  label?: string;
  /** Key, certificate and CA for `ssl:` endpoints (required by them, ignored by the others). */
  tls?: TlsCredentials;
}

export interface RequestOptions {
  /** Overrides `requestTimeout` for this call, ms; 0 = none. */
  timeout?: number;
}

export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';
export type LockState = 'held' | 'waiting';

export interface OvsdbClientEvents {
  /** The transport is up; monitors and locks have been re-requested (after a reconnect). */
  connected: [];
  /** The connection dropped; in-flight requests have been rejected. */
  disconnected: [reason: OvsdbError];
  /** A reconnect attempt is scheduled in `delay` ms. */
  reconnecting: [info: { attempt: number; delay: number; lastError?: Error }];
  /** The client is closed for good: by close(), or because it gave up reconnecting. */
  close: [reason: OvsdbError];
  /** We now own the lock (after lock() was queued, after a steal ended, or after a reconnect). */
  locked: [lock: string];
  /** Another client stole the lock; we stay queued for it (ovsdb-server behaviour). */
  stolen: [lock: string];
  /** A notification this client does not handle itself. */
  notification: [method: string, params: Json];
  /**
   * A monitor handler threw, or something failed in the background (re-locking after a
   * reconnect). Without a listener these are rethrown as uncaught exceptions.
   */
  error: [err: Error];
}

interface Live {
  rpc: JsonRpcConnection;
  /** get_schema results of this connection (a restarted server may have a new schema). */
  schemas: Map<string, Promise<DatabaseSchema>>;
}

interface Waiter {
  resolve(live: Live): void;
  reject(e: Error): void;
}

const DEFAULTS = {
  requestTimeout: 30_000,
  connectTimeout: 10_000,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  echoInterval: 5_000,
};
const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  initialDelay: 200,
  maxDelay: 10_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Infinity,
};

/**
 * Awaits a schema fetch and the request it serves, both already sent. When both fail, the
 * request's own error wins: it says more ("unknown database" from transact, not get_schema).
 */
async function settleBoth<S, R>(schema: Promise<S>, request: Promise<R>): Promise<[S, R]> {
  const [s, r] = await Promise.allSettled([schema, request]);
  if (r.status === 'rejected') throw r.reason;
  if (s.status === 'rejected') throw s.reason;
  return [s.value, r.value];
}

function remaining(timeout: number, start: number): number {
  return timeout > 0 ? Math.max(1, timeout - (Date.now() - start)) : 0;
}

/**
 * An RFC 7047 OVSDB client over one connection, re-established with backoff when it drops.
 *
 * Requests made while (re)connecting wait for the connection, bounded by their own timeout;
 * requests made after the client closed or gave up, or before connect(), fail at once.
 * Requests in flight when the connection drops fail at once with OVSDB_ERR_CONNECTION_CLOSED
 * (their effect on the server is unknown). After a reconnect, monitors and locks are
 * re-requested before any queued request is sent.
 */
export class OvsdbClient extends EventEmitter<OvsdbClientEvents> implements MonitorHost {
  readonly endpoint: Endpoint;
  private readonly tls: TlsCredentials | undefined;
  readonly label: string;
  private readonly opts: {
    requestTimeout: number;
    connectTimeout: number;
    maxMessageSize: number;
    echoInterval: number;
    echoTimeout: number;
  };
  private readonly reconnectOpts: Required<ReconnectOptions> | undefined;
  private _state: ClientState = 'idle';
  private live: Live | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly monitors = new Map<string, Monitor>();
  private readonly locks = new Map<string, LockState>();
  private nextMonitorId = 1;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private finalReason: OvsdbError | undefined;
  private finished: Promise<void> = Promise.resolve();

  constructor(endpoint: Endpoint, options: OvsdbClientOptions = {}) {
    super();
    if (typeof endpoint === 'string') parseEndpoint(endpoint); // fail early on a typo
    else if (typeof endpoint !== 'function') throw new OvsdbValueError('endpoint must be "tcp:HOST:PORT", "ssl:HOST:PORT", "unix:PATH" or a function returning a Duplex');
    checkEndpointCredentials(endpoint, options.tls);
    this.endpoint = endpoint;
    this.tls = options.tls;
    this.label = options.label ?? describeEndpoint(endpoint);
    const echoInterval = options.echoInterval ?? DEFAULTS.echoInterval;
    this.opts = {
      requestTimeout: options.requestTimeout ?? DEFAULTS.requestTimeout,
      connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
      maxMessageSize: options.maxMessageSize ?? DEFAULTS.maxMessageSize,
      echoInterval,
      echoTimeout: options.echoTimeout ?? echoInterval * 2,
    };
    for (const [k, v] of Object.entries(this.opts)) {
      if (!(typeof v === 'number' && v >= 0)) throw new RangeError(`${k} must be a number >= 0, got ${v}`);
    }
    const r = options.reconnect ?? true;
    this.reconnectOpts = r === false ? undefined : { ...RECONNECT_DEFAULTS, ...(r === true ? {} : r) };
    if (this.reconnectOpts) {
      const { initialDelay, maxDelay, factor, jitter, maxAttempts } = this.reconnectOpts;
      if (!(initialDelay >= 0 && maxDelay >= initialDelay && factor >= 1 && jitter >= 0 && jitter < 1 && maxAttempts >= 0)) {
        throw new RangeError('reconnect options need 0 <= initialDelay <= maxDelay, factor >= 1, 0 <= jitter < 1, maxAttempts >= 0');
      }
    }
  }

  /** Creates a client and waits for its first connection. */
  static async connect(endpoint: Endpoint, options?: OvsdbClientOptions): Promise<OvsdbClient> {
    const c = new OvsdbClient(endpoint, options);
    await c.connect();
    return c;
  }

  get state(): ClientState {
    return this._state;
  }

  get connected(): boolean {
    return this.live !== undefined;
  }

  /** Our view of a lock: held, queued for it, or undefined when never requested/unlocked. */
  lockState(id: string): LockState | undefined {
    return this.locks.get(id);
  }

  /** The monitors currently active on this client. */
  get activeMonitors(): readonly Monitor[] {
    return [...this.monitors.values()];
  }

  /**
   * Opens the first connection. Rejects (and the client is closed) if it fails: retrying an
   * endpoint that never worked is the caller's decision; reconnecting is for connections that
   * did work.
   */
  async connect(): Promise<void> {
    if (this._state !== 'idle') {
      throw new OvsdbConnectionError('OVSDB_ERR_CONNECT', `connect() on a client that is ${this._state}`);
    }
    this._state = 'connecting';
    let stream: Duplex;
    try {
      stream = await openTransport(this.endpoint, this.opts.connectTimeout, this.tls);
    } catch (e) {
      if (this._state === 'connecting') this.shutdown(e as OvsdbError);
      throw e;
    }
    if (this._state !== 'connecting') {
      stream.destroy();
      throw new OvsdbConnectionError('OVSDB_ERR_CLIENT_CLOSED', `client for ${this.label} closed while connecting`);
    }
    this.attach(stream);
  }

  /**
   * Closes the client for good: in-flight and queued requests reject with
   * OVSDB_ERR_CLIENT_CLOSED, monitors and locks end with the session. Resolves once the
   * transport has closed.
   */
  close(): Promise<void> {
    if (this._state !== 'closed') {
      this.shutdown(new OvsdbConnectionError('OVSDB_ERR_CLIENT_CLOSED', `client for ${this.label} closed`));
    }
    return this.finished;
  }

  // -------------------------------------------------------------------------------------------
  // RPC methods

  /** list_dbs: names of the databases the server has. */
  async listDbs(options?: RequestOptions): Promise<string[]> {
    const r = await this.call('list_dbs', [], options);
    if (!Array.isArray(r) || !r.every((x) => typeof x === 'string')) {
      throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', 'list_dbs result is not an array of strings');
    }
    return r as string[];
  }

  /**
   * get_schema, parsed. Cached for the life of the connection (a reconnect fetches it again,
   * since the server may have been upgraded); `refresh` forces a new request.
   */
  async getSchema(db: string, options: RequestOptions & { refresh?: boolean } = {}): Promise<DatabaseSchema> {
    return this.withLive('get_schema', options, (live, timeout) => {
      if (options.refresh) live.schemas.delete(db);
      return this.schemaFor(live, db, timeout);
    });
  }

  /**
   * transact: runs the operations as one atomic transaction. Resolves with one typed result
   * per operation; rejects with OvsdbTransactionError naming the failing operation (index,
   * op, table, the server's error and details), or 'commit' when all operations succeeded but
   * the commit failed. Rows returned by select are decoded with the database schema.
   */
  async transact<const T extends readonly Operation[]>(db: string, ops: T, options?: RequestOptions): Promise<ResultsOf<T>> {
    // Encode first: a value that cannot be sent is a caller bug, reported before any waiting.
    const params: Json[] = [db, ...ops.map(operationToWire)];
    const needSchema = ops.some((o) => o.op === 'select');
    return this.withLive('transact', options, async (live, timeout) => {
      // Both requests go out back to back; no extra round trip when the schema is not cached.
      const [schema, result] = await settleBoth(
        needSchema ? this.schemaFor(live, db, timeout) : Promise.resolve(undefined),
        live.rpc.request('transact', params, timeout),
      );
      return transactResultFromWire(db, ops, result, schema) as ResultsOf<T>;
    });
  }

  /**
   * monitor (RFC 7047 4.1.5): replicates the requested tables. `handler` gets an 'initial'
   * event before this resolves, then one 'update' event per update notification, and a
   * 'resync' event after each reconnect (the monitor is re-issued automatically).
   */
  monitor(db: string, requests: MonitorRequests<MonitorRequest>, handler: MonitorHandler, options?: MonitorOptions): Promise<Monitor> {
    return this.addMonitor('monitor', db, requests, handler, options);
  }

  /** monitor_cond (ovsdb-server(7) 4.1.12): like monitor, with per-table `where` conditions and update2. */
  monitorCond(db: string, requests: MonitorRequests<MonitorCondRequest>, handler: MonitorHandler, options?: MonitorOptions): Promise<Monitor> {
    return this.addMonitor('monitor_cond', db, requests, handler, options);
  }

  /**
   * lock: true if we own the lock now; false if we are queued for it (a 'locked' event
   * follows when it is granted). Locks are re-requested after a reconnect.
   */
  async lock(id: string, options?: RequestOptions): Promise<boolean> {
    checkId('lock name', id);
    return this.withLive('lock', options, async (live, timeout) => {
      const had = this.locks.has(id);
      if (!had) this.locks.set(id, 'waiting');
      let r: Json;
      try {
        r = await live.rpc.request('lock', [id], timeout);
      } catch (e) {
        if (!had) this.locks.delete(id);
        throw e;
      }
      if (isJsonObject(r) && r.locked === true) this.locks.set(id, 'held');
      // A 'locked' notification may already have been processed before this continuation.
      return this.locks.get(id) === 'held';
    });
  }

  /**
   * steal: takes the lock now; the previous owner gets a 'stolen' notification. A no-op when
   * we hold it already. When we are queued for it, the queue entry is given up first, since
   * ovsdb-server refuses a steal while an earlier lock request of the same client stands.
   */
  async steal(id: string, options?: RequestOptions): Promise<void> {
    checkId('lock name', id);
    await this.withLive('steal', options, async (live, timeout) => {
      const state = this.locks.get(id);
      if (state === 'held') return;
      // Both go out back to back; the server handles them in order.
      const unlocked = state === 'waiting' ? live.rpc.request('unlock', [id], timeout) : undefined;
      const stolen = live.rpc.request('steal', [id], timeout);
      const [, r] = await Promise.all([unlocked, stolen]);
      if (!(isJsonObject(r) && r.locked === true)) {
        throw new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `steal of ${id} did not answer {"locked": true}`);
      }
      this.locks.set(id, 'held');
    });
  }

  /**
   * unlock: releases the lock or leaves its queue. While disconnected this only forgets the
   * lock (the server released it with the session) so it is not re-requested.
   */
  async unlock(id: string, options?: RequestOptions): Promise<void> {
    checkId('lock name', id);
    this.locks.delete(id);
    if (!this.live) {
      if (this._state === 'reconnecting' || this._state === 'connecting') return;
      this.checkUsable('unlock');
    }
    await this.live!.rpc.request('unlock', [id], options?.timeout ?? this.opts.requestTimeout);
  }

  /** echo: resolves with the server's copy of `params`. */
  async echo(params: Json[] = [], options?: RequestOptions): Promise<Json> {
    return this.call('echo', params, options);
  }

  /** Sends any JSON-RPC request (for methods this class does not wrap) and returns its result. */
  request(method: string, params: Json, options?: RequestOptions): Promise<Json> {
    return this.call(method, params, options);
  }

  // -------------------------------------------------------------------------------------------
  // MonitorHost

  /** @internal */
  async cancelMonitor(m: Monitor, timeout?: number): Promise<void> {
    if (!m.active) return;
    m.deactivate();
    this.monitors.delete(m.id);
    const live = this.live;
    if (!live) return; // the server forgot the monitor with the connection
    try {
      await live.rpc.request('monitor_cancel', [m.id], timeout ?? this.opts.requestTimeout);
    } catch (e) {
      if (e instanceof OvsdbConnectionError) return;
      throw e;
    }
  }

  /** @internal */
  async changeMonitorConditions(m: Monitor, where: JsonObject, timeout?: number): Promise<void> {
    if (!m.active) throw new OvsdbValueError(`monitor ${m.id} is no longer active`);
    await this.withLive('monitor_cond_change', { timeout }, (live, t) => live.rpc.request('monitor_cond_change', [m.id, m.id, where], t));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private checkUsable(method: string): void {
    if (this._state === 'closed') {
      const r = this.finalReason;
      const code = r?.code === 'OVSDB_ERR_CLIENT_CLOSED' ? 'OVSDB_ERR_CLIENT_CLOSED' : 'OVSDB_ERR_NOT_CONNECTED';
      throw new OvsdbConnectionError(code, `"${method}" failed: ${r ? r.message : `client for ${this.label} is closed`}`, { cause: r });
    }
    if (this._state === 'idle') {
      throw new OvsdbConnectionError('OVSDB_ERR_NOT_CONNECTED', `"${method}" failed: client for ${this.label} is not connected; call connect() first`);
    }
  }

  /** Resolves with the live connection, waiting (up to `timeout`) while (re)connecting. */
  private waitLive(method: string, timeout: number): Promise<Live> {
    if (this.live) return Promise.resolve(this.live);
    try {
      this.checkUsable(method);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<Live>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        resolve: (live) => {
          if (timer) clearTimeout(timer);
          resolve(live);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      if (timeout > 0) {
        timer = setTimeout(() => {
          this.waiters.delete(w);
          reject(new OvsdbTimeoutError(method, timeout, `not connected to ${this.label}; still waiting to reconnect`));
        }, timeout);
      }
      this.waiters.add(w);
    });
  }

  private async withLive<T>(method: string, options: RequestOptions | undefined, fn: (live: Live, timeout: number) => Promise<T>): Promise<T> {
    const timeout = options?.timeout ?? this.opts.requestTimeout;
    const start = Date.now();
    const live = await this.waitLive(method, timeout);
    try {
      return await fn(live, remaining(timeout, start));
    } catch (err) {
      // The wait for the connection used part of the budget: report the caller's timeout.
      if (err instanceof OvsdbTimeoutError && err.timeoutMs !== timeout) throw new OvsdbTimeoutError(err.method, timeout);
      throw err;
    }
  }

  private call(method: string, params: Json, options?: RequestOptions): Promise<Json> {
    return this.withLive(method, options, (live, timeout) => live.rpc.request(method, params, timeout));
  }

  private schemaFor(live: Live, db: string, timeout: number): Promise<DatabaseSchema> {
    let p = live.schemas.get(db);
    if (!p) {
      p = live.rpc.request('get_schema', [db], timeout).then(parseSchema);
      live.schemas.set(db, p);
      // A failure is not cached: the next caller asks again.
      p.catch(() => {
        if (live.schemas.get(db) === p) live.schemas.delete(db);
      });
    }
    return p;
  }

  private async addMonitor(
    method: 'monitor' | 'monitor_cond',
    db: string,
    requests: MonitorRequests<MonitorCondRequest>,
    handler: MonitorHandler,
    options: MonitorOptions = {},
  ): Promise<Monitor> {
    const m = new Monitor(this, `m${this.nextMonitorId++}`, db, method, requests, handler, options);
    m.wireRequests(); // validates conditions before anything is sent
    return this.withLive(method, { timeout: options.timeout }, async (live, timeout) => {
      // Registered only now, with a live connection, so a reconnect cannot start it twice.
      this.monitors.set(m.id, m);
      try {
        await this.startMonitor(m, live, timeout);
      } catch (e) {
        this.monitors.delete(m.id);
        m.deactivate();
        throw e;
      }
      return m;
    });
  }

  /** Sends the monitor request and applies its reply; notifications meanwhile are buffered. */
  private async startMonitor(m: Monitor, live: Live, timeout: number): Promise<void> {
    m.starting = true;
    m.buffered = [];
    const schemaP = this.schemaFor(live, m.database, timeout);
    const resultP = live.rpc.request(m.method, [m.database, m.id, m.wireRequests()], timeout);
    const [schema, result] = await settleBoth(schemaP, resultP);
    if (!m.active || this.live !== live) return;
    let ev: MonitorEvent;
    try {
      ev = m.applyStart(schema, result);
    } catch (e) {
      // The server has the monitor but we cannot read it: stop it rather than leak it.
      live.rpc.request('monitor_cancel', [m.id], timeout).catch(() => undefined);
      throw e;
    }
    m.starting = false;
    this.dispatch(m, ev);
    const buffered = m.buffered;
    m.buffered = [];
    for (const [method, params] of buffered) this.deliver(m, method, params);
  }

  private deliver(m: Monitor, method: string, payload: Json): void {
    if (!m.active) return;
    if (m.starting) {
      m.buffered.push([method, payload]);
      return;
    }
    let ev: MonitorEvent;
    try {
      ev = m.applyNotification(method, payload);
    } catch (e) {
      // The cache can no longer be trusted. Dropping the connection makes the reconnect
      // re-issue the monitor and resynchronise the cache from scratch.
      this.live?.rpc.close(
        new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `bad ${method} for monitor ${m.id} from ${this.label}: ${(e as Error).message}`, { cause: e }),
      );
      return;
    }
    this.dispatch(m, ev);
  }

  private dispatch(m: Monitor, ev: MonitorEvent): void {
    try {
      m.handler(ev);
    } catch (e) {
      this.reportError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else
      process.nextTick(() => {
        throw err;
      });
  }

  private onNotification(method: string, params: Json): void {
    const args = Array.isArray(params) ? params : [];
    switch (method) {
      case 'update':
      case 'update2': {
        const m = typeof args[0] === 'string' ? this.monitors.get(args[0]) : undefined;
        if (m && args.length >= 2) this.deliver(m, method, args[1]!);
        return;
      }
      case 'locked':
      case 'stolen': {
        const id = args[0];
        if (typeof id !== 'string' || !this.locks.has(id)) return;
        const was = this.locks.get(id);
        if (method === 'locked') {
          this.locks.set(id, 'held');
          // ovsdb-server repeats "locked" to the owner when the queue changes: report changes only.
          if (was !== 'held') this.emit('locked', id);
        } else {
          // The server keeps us queued: we get "locked" again when the thief lets go.
          this.locks.set(id, 'waiting');
          this.emit('stolen', id);
        }
        return;
      }
      case 'monitor_canceled': {
        const m = typeof args[0] === 'string' ? this.monitors.get(args[0]) : undefined;
        if (!m) return;
        this.monitors.delete(m.id);
        m.deactivate();
        const reason = new OvsdbError('OVSDB_ERR_RPC', `server cancelled monitor ${m.id} on ${m.database}`);
        if (m.options.onCanceled) m.options.onCanceled(reason);
        return;
      }
      default:
        this.emit('notification', method, params);
    }
  }

  private attach(stream: Duplex): void {
    const rpc = new JsonRpcConnection(stream, {
      label: this.label,
      maxMessageSize: this.opts.maxMessageSize,
      echoInterval: this.opts.echoInterval,
      echoTimeout: this.opts.echoTimeout,
    });
    const live: Live = { rpc, schemas: new Map() };
    this.live = live;
    this._state = 'connected';
    this.attempt = 0;
    this.finished = rpc.finished;
    rpc.on('notification', (method, params) => this.onNotification(method, params));
    rpc.on('close', (reason) => this.onConnectionClose(live, reason));
    // Re-issue monitors and locks first, so queued requests reach the server after them.
    for (const m of this.monitors.values()) {
      this.startMonitor(m, live, this.opts.requestTimeout).catch((e: unknown) => this.monitorRestoreFailed(m, live, e));
    }
    for (const id of this.locks.keys()) this.relock(live, id);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.resolve(live);
    this.emit('connected');
  }

  private monitorRestoreFailed(m: Monitor, live: Live, e: unknown): void {
    if (!m.active) return;
    // The connection dropped again: the next reconnect retries.
    if (this.live !== live || e instanceof OvsdbConnectionError) return;
    if (e instanceof OvsdbTimeoutError) {
      // A server too slow to answer is not a reason to lose the monitor: start over.
      live.rpc.close(new OvsdbConnectionError('OVSDB_ERR_CONNECTION_CLOSED', `re-issuing monitor ${m.id} on ${this.label}: ${e.message}`, { cause: e }));
      return;
    }
    this.monitors.delete(m.id);
    m.deactivate();
    const reason =
      e instanceof OvsdbError
        ? e
        : new OvsdbError('OVSDB_ERR_PROTOCOL', `monitor ${m.id} could not be re-established: ${(e as Error).message}`);
    if (m.options.onCanceled) m.options.onCanceled(reason);
    else this.reportError(reason);
  }

  private relock(live: Live, id: string): void {
    live.rpc.request('lock', [id], this.opts.requestTimeout).then(
      (r) => {
        if (this.live !== live || !this.locks.has(id)) return;
        if (isJsonObject(r) && r.locked === true && this.locks.get(id) !== 'held') {
          this.locks.set(id, 'held');
          this.emit('locked', id);
        }
      },
      (e: unknown) => {
        if (this.live !== live || e instanceof OvsdbConnectionError) return;
        this.reportError(e as Error);
      },
    );
  }

  private onConnectionClose(live: Live, reason: OvsdbError): void {
    if (this.live !== live) return;
    this.live = undefined;
    // Locks end with the session; monitors hear nothing until they are re-issued.
    for (const id of this.locks.keys()) this.locks.set(id, 'waiting');
    for (const m of this.monitors.values()) {
      m.starting = true;
      m.buffered = [];
    }
    if (this._state === 'closed') return;
    if (!this.reconnectOpts) {
      this.emit('disconnected', reason);
      this.shutdown(reason);
      return;
    }
    this._state = 'reconnecting';
    this.emit('disconnected', reason);
    if (this._state === 'reconnecting' && !this.reconnectTimer) this.scheduleReconnect();
  }

  private scheduleReconnect(lastError?: Error): void {
    const r = this.reconnectOpts!;
    this.attempt++;
    if (this.attempt > r.maxAttempts) {
      this.shutdown(
        new OvsdbConnectionError(
          'OVSDB_ERR_NOT_CONNECTED',
          `gave up reconnecting to ${this.label} after ${r.maxAttempts} attempts${lastError ? `: ${lastError.message}` : ''}`,
          { cause: lastError },
        ),
      );
      return;
    }
    const base = Math.min(r.maxDelay, r.initialDelay * r.factor ** (this.attempt - 1));
    const delay = Math.round(Math.min(r.maxDelay, base * (1 + r.jitter * (2 * Math.random() - 1))));
    this.emit('reconnecting', lastError ? { attempt: this.attempt, delay, lastError } : { attempt: this.attempt, delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnectNow();
    }, delay);
  }

  private async reconnectNow(): Promise<void> {
    let stream: Duplex;
    try {
      stream = await openTransport(this.endpoint, this.opts.connectTimeout, this.tls);
    } catch (e) {
      if (this._state === 'reconnecting') this.scheduleReconnect(e as Error);
      return;
    }
    if (this._state !== 'reconnecting') {
      stream.destroy();
      return;
    }
    this.attach(stream);
  }

  /** Final close: by close(), a failed first connect, no reconnect, or giving up. */
  private shutdown(reason: OvsdbError): void {
    if (this._state === 'closed') return;
    const byUser = reason.code === 'OVSDB_ERR_CLIENT_CLOSED';
    this._state = 'closed';
    this.finalReason = reason;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const live = this.live;
    this.live = undefined;
    live?.rpc.close(reason);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) {
      const code = byUser ? 'OVSDB_ERR_CLIENT_CLOSED' : 'OVSDB_ERR_NOT_CONNECTED';
      w.reject(new OvsdbConnectionError(code, `request not sent: ${reason.message}`, { cause: reason }));
    }
    const monitors = [...this.monitors.values()];
    this.monitors.clear();
    this.locks.clear();
    for (const m of monitors) {
      m.deactivate();
      if (!byUser) m.options.onCanceled?.(reason);
    }
    this.emit('close', reason);
  }
}
