/**
 * Short JSON-RPC 1.0 exchanges over a Unix socket: the control socket of an OVS daemon (what
 * `ovs-appctl` does) and the database socket of ovsdb-server (readiness). Talking to the socket
 * directly costs a fraction of spawning ovs-appctl, which matters when warming N x N tunnel
 * neighbours.
 */
import net from 'node:net';
import { JsonStreamParser } from '../../src/ovsdb/json-stream.js';
import type { Json } from '../../src/ovsdb/json.js';

export class UnixRpcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnixRpcError';
  }
}

/** One connection; requests are answered in order. */
export class UnixRpc {
  private readonly socket: net.Socket;
  private readonly parser = new JsonStreamParser();
  private readonly waiting = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void; method: string }>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    readonly path: string,
    socket: net.Socket,
  ) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      let messages: Json[];
      try {
        messages = this.parser.push(chunk);
      } catch (e) {
        this.fail(new UnixRpcError(`${path}: bad JSON from the daemon: ${(e as Error).message}`));
        return;
      }
      for (const m of messages) this.onMessage(m);
    });
    socket.on('error', (e) => this.fail(new UnixRpcError(`${path}: ${e.message}`)));
    socket.on('close', () => this.fail(new UnixRpcError(`${path}: the daemon closed the connection`)));
  }

  static connect(path: string, timeoutMs = 5000): Promise<UnixRpc> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new UnixRpcError(`${path}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new UnixRpc(path, socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new UnixRpcError(`${path}: ${e.message}`));
      });
    });
  }

  call(method: string, params: Json[], timeoutMs = 10_000): Promise<Json> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new UnixRpcError(`${this.path}: ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.failure ??= new UnixRpcError(`${this.path}: connection closed`);
    this.socket.destroy();
  }

  private onMessage(m: Json): void {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return;
    const msg = m as Record<string, Json>;
    // Requests from the peer: only echo exists in these protocols.
    if (typeof msg['method'] === 'string') {
      if (msg['method'] === 'echo') this.socket.write(JSON.stringify({ id: msg['id'] ?? null, result: msg['params'] ?? [], error: null }));
      return;
    }
    const id = typeof msg['id'] === 'number' ? msg['id'] : NaN;
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    const error = msg['error'];
    if (error !== null && error !== undefined) {
      const text = typeof error === 'string' ? error.trim() : JSON.stringify(error);
      w.reject(new UnixRpcError(`${this.path}: ${w.method}: ${text}`));
    } else {
      w.resolve(msg['result'] ?? null);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }
}

/** Connects, makes one call, closes. */
export async function unixRpcCall(path: string, method: string, params: Json[], timeoutMs = 5000): Promise<Json> {
  const rpc = await UnixRpc.connect(path, timeoutMs);
  try {
    return await rpc.call(method, params, timeoutMs);
  } finally {
    rpc.close();
  }
}
