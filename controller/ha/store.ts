/**
 * Where the controller keeps what it must not forget: container locations and migrations.
 * Two stores behind one interface: the state file (a single controller, as before) and etcd
 * (a cluster of controllers). In etcd every location and every migration is its own key, so a
 * change writes only what changed, and every write is a transaction that compares each key's
 * mod_revision with the one we last saw (compare-and-swap) and, on a cluster member, that the
 * writer still holds the leader key (fencing: a deposed master cannot overwrite its successor).
 */
import { EventEmitter } from 'node:events';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

/** What is persisted: rows as the location table and the migration manager serialise them. */
export interface StoredState {
  locations: unknown[];
  migrations: unknown[];
}

export interface StateStore {
  /** Reads the whole state; undefined when nothing was ever saved. */
  load(): Promise<StoredState | undefined>;
  /** Writes `state` (the whole snapshot; stores may write only the difference). */
  save(state: StoredState): Promise<void>;
  /** What to call the store in logs. */
  readonly description: string;
}

/** The store cannot be reached: the API answers 503, the controller keeps serving from memory. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

/** Someone else changed a key since we read it, or we no longer hold the leader key. */
export class StoreConflict extends Error {
  override readonly name = 'StoreConflict';
}

/**
 * An etcd client tuned for failover: every unary call has a deadline (an unreachable etcd
 * must answer "unavailable" quickly, not hang an API request), and gRPC retries a lost
 * connection every second at most (its default backoff grows to two minutes, which would
 * keep a member away long after etcd came back).
 */
/** How long a failed etcd host is left alone before the next call tries it (a quarter of the shortest lease). */
const HOST_RETRY_MS = 250;

export function etcdClient(hosts: string[], timeoutMs = 2000): Etcd3 {
  return new Etcd3({
    hosts,
    dialTimeout: timeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
    // etcd3's own breaker stops calling a host for 5 s after three failures: longer than an
    // election lease (etcd's minimum is about 2 s), so once etcd returned the master could not
    // renew in time and lost the lead and what it learned meanwhile. Ours tries again sooner
    // than the election's keep-alive period.
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: HOST_RETRY_MS, breaker: new ConsecutiveBreaker(3) }),
    },
  });
}

/** The state file does not hold what saveState writes (truncated, corrupt, another format). */
export class CorruptStateFile extends Error {
  override readonly name = 'CorruptStateFile';
  constructor(readonly file: string, readonly reason: string) {
    super(`state file ${file} is truncated or corrupt (${reason})`);
  }
}

/**
 * The single-node store: one JSON file, written atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so a crash or a full disk at any point
 * leaves the previous file whole.
 */
export class FileStateStore implements StateStore {
  constructor(readonly file: string) {}

  get description(): string {
    return `state file ${this.file}`;
  }

  async load(): Promise<StoredState | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read state file ${this.file}: ${(err as Error).message}`);
    }
    let parsed: { locations?: unknown; migrations?: unknown };
    try {
      parsed = parseStateFile(text);
    } catch (err) {
      throw new CorruptStateFile(this.file, (err as Error).message);
    }
    return { locations: parsed.locations as unknown[], migrations: Array.isArray(parsed.migrations) ? parsed.migrations : [] };
  }

  async save(state: StoredState): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify({ version: 1, savedAt: new Date().toISOString(), locations: state.locations, migrations: state.migrations }, null, 1));
  }

  /** Moves a bad file aside as `<file>.corrupt-<time>` (kept for a post-mortem); returns its new path. */
  async moveAside(): Promise<string> {
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.file, aside);
    return aside;
  }
}

/** The state file's JSON, checked for the shape FileStateStore.save writes. */
function parseStateFile(text: string): { locations?: unknown; migrations?: unknown } {
  if (text.trim() === '') throw new Error('the file is empty');
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  const { version, locations } = parsed as { version?: unknown; locations?: unknown };
  if (version !== 1) throw new Error(`unknown format version ${JSON.stringify(version)} (expected 1)`);
  if (!Array.isArray(locations)) throw new Error('"locations" is not a list');
  return parsed as { locations?: unknown; migrations?: unknown };
}

/** Writes `file` so that it holds either its old or its new content, never a part. */
export async function writeFileAtomic(file: string, body: string): Promise<void> {
  const tmp = `${dirname(file)}/.${basename(file)}.tmp-${process.pid}`;
  let handle;
  try {
    handle = await open(tmp, 'w', 0o600);
    await handle.writeFile(body);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** The leader key a write must be fenced by: it must still exist with this create revision. */
export interface Fence {
  key: string;
  createRevision: string;
}

export interface EtcdStoreOptions {
  /** Key prefix of this overlay, e.g. `/vino/fig1/` (ends with a slash). */
  prefix: string;
  /** The fence for writes; undefined: this member is not master, writes are refused. */
  fence?: () => Fence | undefined;
  /** Per-request deadline: past it the store counts as unreachable. */
  requestTimeoutMs?: number;
}

interface KnownKey {
  value: string;
  modRevision: string;
}

/** etcd refuses transactions with more operations than this (its --max-txn-ops default is 128). */
const MAX_TXN_OPS = 100;

const KINDS = ['locations', 'migrations'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Events: 'changed' (StoredState: after a watch event from another writer), 'reachable' (bool).
 */
export class EtcdStateStore extends EventEmitter implements StateStore {
  /** Every key of the overlay as last seen (read, written or watched), by full key. */
  private readonly known = new Map<string, KnownKey>();
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private watcher?: import('etcd3').Watcher;
  /** The last revision seen: the watch resumes after it. */
  revision = '0';
  reachable = true;

  constructor(readonly client: Etcd3, private readonly options: EtcdStoreOptions) {
    super();
    if (!options.prefix.startsWith('/') || !options.prefix.endsWith('/')) throw new Error(`etcd prefix must start and end with "/", got "${options.prefix}"`);
    this.prefix = options.prefix;
    this.timeoutMs = options.requestTimeoutMs ?? 2000;
  }

  get description(): string {
    return `etcd prefix ${this.prefix}`;
  }

  async load(): Promise<StoredState | undefined> {
    const res = await this.call(() => this.client.getAll().prefix(this.prefix + 'state/').options(this.deadline()).exec());
    this.known.clear();
    for (const kv of res.kvs) this.known.set(kv.key.toString(), { value: kv.value.toString(), modRevision: kv.mod_revision });
    this.revision = res.header.revision;
    if (this.known.size === 0) return undefined;
    return this.snapshot();
  }

  /** The state as last seen in etcd. */
  snapshot(): StoredState {
    const state: StoredState = { locations: [], migrations: [] };
    for (const [key, k] of this.known) {
      const kind = this.kindOf(key);
      if (kind) state[kind].push(JSON.parse(k.value));
    }
    return state;
  }

  async save(state: StoredState): Promise<void> {
    const fence = this.options.fence ? this.options.fence() : undefined;
    if (this.options.fence && !fence) throw new StoreConflict('not the master: only the master writes the shared state');
    const desired = new Map<string, string>();
    for (const kind of KINDS) {
      for (const row of state[kind]) desired.set(this.keyOf(kind, rowKey(kind, row)), JSON.stringify(row));
    }
    type Op = { key: string; value?: string; was?: KnownKey };
    const ops: Op[] = [];
    for (const [key, value] of desired) {
      const was = this.known.get(key);
      if (was?.value !== value) ops.push({ key, value, ...(was ? { was } : {}) });
    }
    for (const [key, was] of this.known) if (this.kindOf(key) && !desired.has(key)) ops.push({ key, was });
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
      const chunk = ops.slice(i, i + MAX_TXN_OPS);
      let txn = this.client.if(chunk[0]!.key, 'Mod', '==', chunk[0]!.was?.modRevision ?? 0);
      for (const op of chunk.slice(1)) txn = txn.and(op.key, 'Mod', '==', op.was?.modRevision ?? 0);
      if (fence) txn = txn.and(fence.key, 'Create', '==', fence.createRevision);
      txn = txn.then(...chunk.map((op) => (op.value === undefined ? this.client.delete().key(op.key) : this.client.put(op.key).value(op.value))));
      const res = await this.call(() => txn.options(this.deadline()).commit());
      if (!res.succeeded) {
        // Re-read so that the next attempt compares against what etcd holds now.
        await this.load().catch(() => {});
        throw new StoreConflict(fence
          ? `write refused by etcd: the shared state changed since it was read, or this member lost the leader key ${fence.key}`
          : 'write refused by etcd: the shared state changed since it was read');
      }
      const rev = res.header.revision;
      this.revision = rev;
      for (const op of chunk) {
        if (op.value === undefined) this.known.delete(op.key);
        else this.known.set(op.key, { value: op.value, modRevision: rev });
      }
    }
  }

  /** Follows other writers' changes ('changed' events) until close(). */
  async watch(): Promise<void> {
    const next = (BigInt(this.revision) + 1n).toString();
    const w = await this.client.watch().prefix(this.prefix + 'state/').startRevision(next).create();
    this.watcher = w;
    w.on('data', (res) => {
      let changed = false;
      for (const ev of res.events) {
        const key = ev.kv.key.toString();
        if (!this.kindOf(key)) continue;
        if (ev.type === 'Delete') {
          changed = this.known.delete(key) || changed;
        } else {
          const value = ev.kv.value.toString();
          const was = this.known.get(key);
          if (was?.value !== value || was.modRevision !== ev.kv.mod_revision) changed = was?.value !== value || changed;
          this.known.set(key, { value, modRevision: ev.kv.mod_revision });
        }
      }
      if (BigInt(res.header.revision) > BigInt(this.revision)) this.revision = res.header.revision;
      if (changed) this.emit('changed', this.snapshot());
    });
    w.on('disconnected', () => this.setReachable(false));
    w.on('connected', () => this.setReachable(true));
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => {});
  }

  /** Notes whether etcd answered (the member's probe calls this too). */
  setReachable(up: boolean): void {
    if (this.reachable === up) return;
    this.reachable = up;
    this.emit('reachable', up);
  }

  private deadline(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.timeoutMs) };
  }

  /** Runs an etcd call; a transport failure becomes StoreUnavailable (and marks the store unreachable). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      this.setReachable(true);
      return out;
    } catch (err) {
      if (err instanceof StoreConflict) throw err;
      if (isUnreachable(err)) {
        this.setReachable(false);
        throw new StoreUnavailable(`etcd is unreachable: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  private keyOf(kind: Kind, id: string): string {
    return `${this.prefix}state/${kind}/${encodeURIComponent(id)}`;
  }

  private kindOf(key: string): Kind | undefined {
    const rest = key.startsWith(this.prefix + 'state/') ? key.slice(this.prefix.length + 6) : '';
    return KINDS.find((k) => rest.startsWith(k + '/'));
  }
}

/**
 * Whether an etcd3 error means "no etcd answered": gRPC UNAVAILABLE / DEADLINE_EXCEEDED, a
 * failed dial, or the client's circuit breaker, open after repeated failures of a host.
 */
export function isUnreachable(err: unknown): boolean {
  const e = err as Error & { isBrokenCircuitError?: boolean };
  if (e?.isBrokenCircuitError) return true;
  if (['GRPCUnavailableError', 'GRPCDeadlineExceededError', 'GRPCConnectFailedError', 'BrokenCircuitError'].includes(e?.name)) return true;
  return /deadline exceeded|unavailable|failed to connect|ECONNREFUSED|No connection established/i.test(e?.message ?? '');
}

function rowKey(kind: Kind, row: unknown): string {
  const field = kind === 'locations' ? 'name' : 'id';
  const id = (row as Record<string, unknown> | null)?.[field];
  if (typeof id !== 'string' || id === '') throw new Error(`cannot store a ${kind.slice(0, -1)} without a "${field}": ${JSON.stringify(row).slice(0, 80)}`);
  return id;
}
