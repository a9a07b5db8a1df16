import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  OvsdbConnectionError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbTimeoutError,
} from './errors.js';
import { isJsonObject, stringifyJson, type Json, type JsonObject } from './json.js';
import { JsonStreamParser } from './json-stream.js';

// JSON-RPC 1.0 over one byte stream, as RFC 7047 section 4 uses it. Knows the echo method
// (liveness in both directions) and nothing else of OVSDB.

export interface JsonRpcConnectionOptions {
  /** Names the peer in error messages, e.g. "unix:/run/openvswitch/db.sock". */
  label: string;
  maxMessageSize?: number;
  /** Send an echo this often (ms) to check the peer is alive; 0 disables. */
  echoInterval?: number;
  /** Declare the connection dead when an echo gets no reply, and nothing else arrives, within this many ms. */
  echoTimeout?: number;
}

export interface JsonRpcEvents {
  /** A JSON-RPC notification (a request with a null id) from the peer. */
  notification: [method: string, params: Json];
  /** The connection is gone; `reason` says why. Emitted exactly once. */
  close: [reason: OvsdbError];
}

interface Pending {
  method: string;
  resolve: (v: Json) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class JsonRpcConnection extends EventEmitter<JsonRpcEvents> {
  readonly label: string;
  private readonly parser: JsonStreamParser;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closeReason: OvsdbError | undefined;
  private echoTimer: NodeJS.Timeout | undefined;
  private echoOutstanding = false;
  private lastReceived = Date.now();
  /** Resolves once the underlying stream has closed. */
  readonly finished: Promise<void>;

  constructor(
    private readonly stream: Duplex,
    options: JsonRpcConnectionOptions,
  ) {
    super();
    this.label = options.label;
    this.finished = stream.destroyed
      ? Promise.resolve()
      : new Promise<void>((resolve) => stream.once('close', () => resolve()));
    this.parser = new JsonStreamParser({ maxMessageSize: options.maxMessageSize });
    stream.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', () => this.shutdown(this.closedError('the peer closed the connection')));
    stream.on('close', () => this.shutdown(this.closedError('the connection closed')));
    stream.on('error', (e: Error) => this.shutdown(this.closedError(e.message, e)));
    const interval = options.echoInterval ?? 0;
    if (interval > 0) {
      const timeout = options.echoTimeout ?? interval * 2;
      this.echoTimer = setInterval(() => this.probe(timeout), interval);
      this.echoTimer.unref();
    }
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its result. Rejects with OvsdbRpcError when the peer
   * answers with an error, OvsdbTimeoutError after `timeoutMs` (0 = never), and
   * OvsdbConnectionError the moment the connection goes away.
   */
  request(method: string, params: Json, timeoutMs: number): Promise<Json> {
    if (this.closeReason) return Promise.reject(this.requestClosedError(method, this.closeReason));
    const id = this.nextId++;
    // Serialise before registering, so a value that cannot be sent fails this call alone.
    const text = stringifyJson({ method, params, id });
    return new Promise<Json>((resolve, reject) => {
      const p: Pending = { method, resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new OvsdbTimeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.stream.write(text);
    });
  }

  /** Sends a notification (no reply expected). */
  notify(method: string, params: Json): void {
    if (this.closeReason) throw this.closeReason;
    this.stream.write(stringifyJson({ method, params, id: null }));
  }

  /** Closes the connection; pending requests reject with an error carrying `reason`. */
  close(reason?: OvsdbError): void {
    this.shutdown(reason ?? new OvsdbConnectionError('OVSDB_ERR_CLIENT_CLOSED', `connection to ${this.label} closed by the client`));
  }

  private closedError(why: string, cause?: Error): OvsdbConnectionError {
    return new OvsdbConnectionError('OVSDB_ERR_CONNECTION_CLOSED', `connection to ${this.label} lost: ${why}`, cause ? { cause } : undefined);
  }

  private requestClosedError(method: string, reason: OvsdbError): OvsdbConnectionError {
    const code = reason.code === 'OVSDB_ERR_CLIENT_CLOSED' ? 'OVSDB_ERR_CLIENT_CLOSED' : 'OVSDB_ERR_CONNECTION_CLOSED';
    return new OvsdbConnectionError(code, `"${method}" failed: ${reason.message}`, { cause: reason });
  }

  private shutdown(reason: OvsdbError): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    if (this.echoTimer) clearInterval(this.echoTimer);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.requestClosedError(p.method, reason));
    }
    if (!this.stream.destroyed) {
      // Let already-written bytes (a final unlock, say) go out, but never wait long for it.
      this.stream.end();
      const t = setTimeout(() => this.stream.destroy(), 1000);
      t.unref();
      this.stream.once('close', () => clearTimeout(t));
    }
    this.emit('close', reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason) return;
    this.lastReceived = Date.now();
    let messages: Json[];
    try {
      messages = this.parser.push(chunk);
    } catch (e) {
      const err = e as OvsdbProtocolError;
      this.shutdown(
        new OvsdbProtocolError(err.code as 'OVSDB_ERR_BAD_JSON', `connection to ${this.label} closed: ${err.message}`, { cause: err }),
      );
      this.stream.destroy();
      return;
    }
    for (const m of messages) {
      if (this.closeReason) return;
      this.onMessage(m);
    }
  }

  private onMessage(m: Json): void {
    if (!isJsonObject(m)) return this.protocolViolation(`expected a JSON-RPC object, got ${Array.isArray(m) ? 'an array' : typeof m}`);
    if (typeof m.method === 'string') {
      const params = m.params ?? null;
      if (m.id === null || m.id === undefined) {
        this.emit('notification', m.method, params);
        return;
      }
      // Requests from the server: only echo exists in OVSDB; it must be answered at once or
      // ovsdb-server's inactivity probe drops us.
      const reply: JsonObject =
        m.method === 'echo'
          ? { result: params, error: null, id: m.id }
          : { result: null, error: { error: 'unknown method', details: `method ${m.method} is not supported by this client` }, id: m.id };
      this.stream.write(stringifyJson(reply));
      return;
    }
    if (m.id === undefined || !('result' in m || 'error' in m)) {
      return this.protocolViolation('message is neither a request, a notification nor a response');
    }
    if (typeof m.id !== 'number') return; // not one of our ids (ours are numbers): ignore
    const p = this.pending.get(m.id);
    if (!p) return; // a reply that arrived after its request timed out
    this.pending.delete(m.id);
    if (p.timer) clearTimeout(p.timer);
    if (m.error !== null && m.error !== undefined) p.reject(new OvsdbRpcError(p.method, m.error));
    else p.resolve(m.result ?? null);
  }

  private protocolViolation(why: string): void {
    this.shutdown(new OvsdbProtocolError('OVSDB_ERR_PROTOCOL', `connection to ${this.label} closed: ${why}`));
    this.stream.destroy();
  }

  private probe(timeoutMs: number): void {
    if (this.echoOutstanding || this.closeReason) return;
    this.echoOutstanding = true;
    const sentAt = Date.now();
    this.request('echo', ['liveness'], timeoutMs).then(
      () => {
        this.echoOutstanding = false;
      },
      (e: unknown) => {
        this.echoOutstanding = false;
        // A peer busy streaming a large reply may answer late; bytes arriving count as alive.
        if (e instanceof OvsdbTimeoutError && this.lastReceived <= sentAt) {
          this.shutdown(
            new OvsdbConnectionError(
              'OVSDB_ERR_ECHO_TIMEOUT',
              `connection to ${this.label} is dead: no reply to echo within ${timeoutMs} ms`,
            ),
          );
          this.stream.destroy();
        }
      },
    );
  }
}
