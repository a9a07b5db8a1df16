/**
 * Where the controller keeps what it must not forget: container locations and migrations.
 * Two stores behind one interface: the state file (a single controller, as before) and etcd
 * (a cluster of controllers). In etcd every location and every migration is its own key, so a
 * change writes only what changed, and every write is a transaction that compares each key's
 * mod_revision with the one we last saw (compare-and-swap) and, on a cluster member, that the
 * writer still holds the leader key (fencing: a deposed master cannot overwrite its successor).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

/** What is persisted: rows as the location table and the migration manager serialise them. */
export interface StoredState {
  locations: unknown[];
  migrations: unknown[];
}

/**
 * What one save writes: the rows that changed (added or different) and the keys (location
 * names, migration ids) that went, since the last save that succeeded.
 */
export interface StateChanges {
  /** The rows are the whole state: every stored row not among them goes (the first save after a start, a load or a change of role). */
  full: boolean;
  locations: unknown[];
  removedLocations: string[];
  migrations: unknown[];
  removedMigrations: string[];
}

export interface StateStore {
  /** Reads the whole state; undefined when nothing was ever saved. */
  load(): Promise<StoredState | undefined>;
  /** Writes `state` (the whole snapshot; stores may write only the difference). */
  save(state: StoredState): Promise<void>;
  /** Writes what changed (a store without it is given the whole state through save). */
  saveChanges?(changes: StateChanges): Promise<void>;
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
/** The longest wait between a lost watch's reconnection attempts (gRPC's own reconnection is capped alike). */
const WATCH_RETRY_MAX_MS = 1000;

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
      // A watch that lost its etcd node reconnects after at most a second: etcd3's default backoff
      // doubles to 30 s, so a follower whose watch kept landing on the dead node missed the
      // master's writes for most of a minute (the three-node test timed out at 45 s under CI load).
      // (A backoff, not cockatiel 3's factory of them: etcd3 asks it for the next one, then their durations.)
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: WATCH_RETRY_MAX_MS }).next(),
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

export interface FileStoreOptions {
  /**
   * The journal is compacted into a new snapshot once it is larger than this and than half the
   * snapshot (default 1 MiB): a change costs amortised O(1) to write, and a load reads at most
   * about one and a half snapshots.
   */
  compactMinBytes?: number;
}

/** One journal line: rows written and keys removed by one save, after the snapshot `journal`. */
interface JournalLine {
  journal: string;
  seq: number;
  locations?: unknown[];
  removedLocations?: string[];
  migrations?: unknown[];
  removedMigrations?: string[];
}

/**
 * The single-node store: a snapshot (`<file>`, JSON, format version 1 as before) and an
 * append-only journal beside it (`<file>.journal`, one JSON line per save: the rows it wrote and
 * the keys it removed), so that a save costs what it changed, not the whole table.
 *
 * - A save appends its line and fsyncs it before it resolves. A crash mid-append leaves a last
 *   line without its newline: it was never acknowledged, load() ignores it (loadNotes says so)
 *   and the next append cuts it off. Any other line that does not parse is corruption.
 * - The snapshot is written atomically (temporary file in the same directory, fsync, rename,
 *   fsync of the directory), so a crash or a full disk leaves the previous one whole. It names
 *   its journal (`journal`: an id, new with every full write) and the last journal line it
 *   holds (`seq`); load() replays only the lines of that journal after that seq, so a crash
 *   between a new snapshot and the journal's replacement loads the same state (and an old
 *   snapshot without an id, e.g. written by an older controller, ignores any journal).
 * - Compaction (the journal past its bound) captures the rows, writes the snapshot in slices
 *   (the event loop keeps running, saves keep appending), then swaps the journal for the
 *   lines appended since the capture, in turn with the saves.
 * - A full save (the first after a start or a load) or the first save after a failed append
 *   writes a new snapshot and removes the journal.
 */
export class FileStateStore implements StateStore {
  readonly journalFile: string;
  private readonly compactMinBytes: number;
  /** The stored rows by key (snapshot and journal): what a compaction writes. Undefined until loaded or written whole. */
  private rows?: { locations: Map<string, unknown>; migrations: Map<string, unknown> };
  /** The id of the snapshot on disk, which journal lines must carry ('' : none, write a snapshot first). */
  private journalId = '';
  private seq = 0;
  /** Bytes of the journal up to its last whole line. */
  private journalBytes = 0;
  /** The journal ends in a torn line (cut before the next append). */
  private journalTorn = false;
  private snapshotBytes = 0;
  /** The next save writes a snapshot: after a failed append the journal's tail is not known. */
  private rewrite = true;
  /** Saves and the journal swap of a compaction, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  private compaction?: Promise<void>;
  /** Lines appended since the running compaction captured the rows: the journal it leaves. */
  private sinceCapture?: string[];
  /** A failed compaction is tried again once the journal reached this size. */
  private compactRetryAt = 0;
  /** What the last load() noticed that is not an error (a torn last journal line), for the log. */
  loadNotes: string[] = [];
  /** Compactions done, and the error of the last failed one (status, tests). */
  compactions = 0;
  lastCompactionError: Error | undefined;

  constructor(readonly file: string, options: FileStoreOptions = {}) {
    this.journalFile = `${file}.journal`;
    this.compactMinBytes = options.compactMinBytes ?? 1 << 20;
  }

  get description(): string {
    return `state file ${this.file}`;
  }

  /** Bytes of the journal and of the snapshot as this store last wrote or read them (tests, status). */
  get sizes(): { journal: number; snapshot: number } {
    return { journal: this.journalBytes, snapshot: this.snapshotBytes };
  }

  async load(): Promise<StoredState | undefined> {
    await this.compaction;
    return this.read();
  }

  /** load() without waiting for a compaction (a save's own read runs in the chain the compaction waits for). */
  private async read(): Promise<StoredState | undefined> {
    this.loadNotes = [];
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget();
        return undefined;
      }
      throw new Error(`cannot read state file ${this.file}: ${(err as Error).message}`);
    }
    let parsed: { locations?: unknown; migrations?: unknown; journal?: unknown; seq?: unknown };
    try {
      parsed = parseStateFile(text);
    } catch (err) {
      throw new CorruptStateFile(this.file, (err as Error).message);
    }
    const rows = { locations: new Map<string, unknown>(), migrations: new Map<string, unknown>() };
    try {
      for (const row of parsed.locations as unknown[]) rows.locations.set(rowKey('locations', row), row);
    } catch (err) {
      throw new CorruptStateFile(this.file, (err as Error).message);
    }
    // A migration without an id was never restored either: it is left out.
    for (const row of Array.isArray(parsed.migrations) ? parsed.migrations : []) {
      const id = (row as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && id !== '') rows.migrations.set(id, row);
    }
    const journalId = typeof parsed.journal === 'string' ? parsed.journal : '';
    const snapshotSeq = typeof parsed.seq === 'number' ? parsed.seq : 0;
    let seq = snapshotSeq;
    let journalBytes = 0;
    let torn = false;
    let body: Buffer | undefined;
    try {
      body = await readFile(this.journalFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read state journal ${this.journalFile}: ${(err as Error).message}`);
    }
    if (body) {
      // Every acknowledged line ends with its newline: bytes after the last one are a torn append.
      journalBytes = body.lastIndexOf(0x0a) + 1;
      if (journalBytes < body.length) {
        torn = true;
        this.loadNotes.push(`the journal's last line is torn (${body.length - journalBytes} bytes without a newline: a save cut short, never acknowledged): ignored`);
      }
      const lines = body.subarray(0, journalBytes).toString('utf8').split('\n');
      lines.pop();
      let stale = 0;
      lines.forEach((text, i) => {
        let line: JournalLine;
        try {
          line = parseJournalLine(text);
        } catch (err) {
          throw new CorruptStateFile(this.journalFile, `line ${i + 1}: ${(err as Error).message}`);
        }
        // Lines of another snapshot, or already in this one (a crash before the journal was swapped).
        if (line.journal !== journalId || journalId === '' || line.seq <= snapshotSeq) {
          stale++;
          return;
        }
        try {
          applyLine(rows, line);
        } catch (err) {
          throw new CorruptStateFile(this.journalFile, `line ${i + 1}: ${(err as Error).message}`);
        }
        seq = Math.max(seq, line.seq);
      });
      if (stale > 0) this.loadNotes.push(`${stale} journal lines already in the snapshot or of an older one: skipped`);
    }
    this.rows = rows;
    this.journalId = journalId;
    this.seq = seq;
    this.journalBytes = journalBytes;
    this.journalTorn = torn;
    this.snapshotBytes = Buffer.byteLength(text);
    // No id: a snapshot of the old format, whose journal (if any) is not ours to extend.
    this.rewrite = journalId === '';
    return { locations: [...rows.locations.values()], migrations: [...rows.migrations.values()] };
  }

  /** Writes `state` whole: a new snapshot, the journal removed. */
  save(state: StoredState): Promise<void> {
    return this.saveChanges({ full: true, locations: state.locations, removedLocations: [], migrations: state.migrations, removedMigrations: [] });
  }

  saveChanges(changes: StateChanges): Promise<void> {
    const run = this.chain.then(() => this.write(changes));
    this.chain = run.catch(() => {});
    return run;
  }

  private async write(changes: StateChanges): Promise<void> {
    if (changes.full) {
      // Until it is written, the journal on disk no longer extends what the rows hold.
      this.rewrite = true;
      const rows = { locations: new Map<string, unknown>(), migrations: new Map<string, unknown>() };
      for (const row of changes.locations) rows.locations.set(rowKey('locations', row), row);
      for (const row of changes.migrations) rows.migrations.set(rowKey('migrations', row), row);
      this.rows = rows;
      await this.writeWhole();
      return;
    }
    // Changes with nothing read or written yet: what is on disk is the base they apply to.
    if (!this.rows) {
      await this.read();
      this.rows ??= { locations: new Map(), migrations: new Map() };
    }
    const line: JournalLine = { journal: this.journalId, seq: this.seq + 1 };
    if (changes.locations.length > 0) line.locations = changes.locations;
    if (changes.removedLocations.length > 0) line.removedLocations = changes.removedLocations;
    if (changes.migrations.length > 0) line.migrations = changes.migrations;
    if (changes.removedMigrations.length > 0) line.removedMigrations = changes.removedMigrations;
    // Checked before anything is taken in: a row without its key is refused whole.
    applyLine(this.rows!, line);
    if (this.rewrite) {
      await this.writeWhole();
      return;
    }
    if (!line.locations && !line.removedLocations && !line.migrations && !line.removedMigrations) return;
    const text = JSON.stringify(line) + '\n';
    await this.append(text);
    this.seq = line.seq;
    this.journalBytes += Buffer.byteLength(text);
    this.sinceCapture?.push(text);
    if (!this.compaction && this.journalBytes > Math.max(this.compactMinBytes, this.snapshotBytes / 2, this.compactRetryAt)) {
      this.compaction = this.compact().finally(() => {
        this.compaction = undefined;
      });
    }
  }

  /** Appends one line and makes it durable; on failure the journal is put back (or rewritten next time). */
  private async append(text: string): Promise<void> {
    const created = this.journalBytes === 0 && !this.journalTorn;
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.journalFile, 'a', 0o600);
      if (this.journalTorn) {
        await handle.truncate(this.journalBytes);
        this.journalTorn = false;
      }
      await handle.writeFile(text);
      await handle.datasync();
      await handle.close();
      handle = undefined;
      // A new file's name is durable only once the directory is.
      if (created) await syncDir(dirname(this.journalFile));
    } catch (err) {
      await handle?.close().catch(() => {});
      // Part of the line may be there: the next save writes a snapshot and a new journal.
      this.rewrite = true;
      if (created) await unlink(this.journalFile).catch(() => {});
      else await truncate(this.journalFile, this.journalBytes).catch(() => {});
      throw err;
    }
  }

  /** A new snapshot of `rows` (a new journal id), then the journal removed. */
  private async writeWhole(): Promise<void> {
    // A new id: a compaction under way sees it and drops its older snapshot (see compact).
    const id = randomUUID();
    const bytes = await writeChunksAtomic(this.file, snapshotChunks(id, this.seq, [...this.rows!.locations.values()], [...this.rows!.migrations.values()]));
    this.journalId = id;
    this.snapshotBytes = bytes;
    await unlink(this.journalFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.journalBytes = 0;
    this.journalTorn = false;
    this.rewrite = false;
    this.compactRetryAt = 0;
  }

  /**
   * Folds the journal into a new snapshot: the rows as of now, written in slices while saves go
   * on appending; then, in turn with the saves, the snapshot takes the file's place and the
   * journal is replaced by the lines appended meanwhile. A crash in between loads the same
   * state: the new snapshot's seq says which lines it holds already.
   */
  private async compact(): Promise<void> {
    const locations = [...this.rows!.locations.values()];
    const migrations = [...this.rows!.migrations.values()];
    const id = this.journalId;
    const seq = this.seq;
    this.sinceCapture = [];
    let tmp: string | undefined;
    try {
      const written = await writeChunks(this.file, '.compact', snapshotChunks(id, seq, locations, migrations));
      tmp = written.tmp;
      await new Promise<void>((resolve, reject) => {
        const run = this.chain.then(async () => {
          // A whole write since the capture made this snapshot old: drop it.
          if (this.journalId !== id || this.rewrite) return;
          await rename(written.tmp, this.file);
          tmp = undefined;
          await syncDir(dirname(this.file));
          this.snapshotBytes = written.bytes;
          const rest = this.sinceCapture!.join('');
          if (rest === '') await unlink(this.journalFile);
          else await writeChunksAtomic(this.journalFile, [rest]);
          this.journalBytes = Buffer.byteLength(rest);
          this.journalTorn = false;
          this.compactions++;
          this.compactRetryAt = 0;
        });
        this.chain = run.catch(() => {});
        run.then(resolve, reject);
      });
      this.lastCompactionError = undefined;
    } catch (err) {
      // The old snapshot and journal stand; tried again once the journal grew as much again.
      this.lastCompactionError = err as Error;
      this.compactRetryAt = this.journalBytes * 2;
    } finally {
      this.sinceCapture = undefined;
      if (tmp) await unlink(tmp).catch(() => {});
    }
  }

  /** Waits for a compaction under way (tests, shutdown). */
  async settled(): Promise<void> {
    await this.compaction;
    await this.chain;
  }

  private forget(): void {
    this.rows = undefined;
    this.journalId = '';
    this.journalBytes = 0;
    this.journalTorn = false;
    this.snapshotBytes = 0;
    this.rewrite = true;
  }

  /** Moves a bad file (and its journal) aside as `<file>.corrupt-<time>` (kept for a post-mortem); returns its new path. */
  async moveAside(): Promise<string> {
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.file, aside);
    await rename(this.journalFile, `${aside}.journal`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.forget();
    return aside;
  }
}

/** The state file's JSON, checked for the shape FileStateStore writes. */
function parseStateFile(text: string): { locations?: unknown; migrations?: unknown; journal?: unknown; seq?: unknown } {
  if (text.trim() === '') throw new Error('the file is empty');
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  const { version, locations } = parsed as { version?: unknown; locations?: unknown };
  if (version !== 1) throw new Error(`unknown format version ${JSON.stringify(version)} (expected 1)`);
  if (!Array.isArray(locations)) throw new Error('"locations" is not a list');
  return parsed as { locations?: unknown; migrations?: unknown };
}

function parseJournalLine(text: string): JournalLine {
  const line: unknown = JSON.parse(text);
  if (typeof line !== 'object' || line === null || Array.isArray(line)) throw new Error('not a JSON object');
  const l = line as Record<string, unknown>;
  if (typeof l['journal'] !== 'string' || typeof l['seq'] !== 'number') throw new Error('no "journal" and "seq"');
  for (const f of ['locations', 'removedLocations', 'migrations', 'removedMigrations']) {
    if (l[f] !== undefined && !Array.isArray(l[f])) throw new Error(`"${f}" is not a list`);
  }
  return line as JournalLine;
}

/** Applies one journal line to the rows by key (idempotent: replaying it again changes nothing). */
function applyLine(rows: { locations: Map<string, unknown>; migrations: Map<string, unknown> }, line: JournalLine): void {
  const keyed = (kind: Kind, list: unknown[] | undefined) => (list ?? []).map((row) => [rowKey(kind, row), row] as const);
  const locations = keyed('locations', line.locations);
  const migrations = keyed('migrations', line.migrations);
  for (const k of line.removedLocations ?? []) rows.locations.delete(String(k));
  for (const k of line.removedMigrations ?? []) rows.migrations.delete(String(k));
  for (const [k, row] of locations) rows.locations.set(k, row);
  for (const [k, row] of migrations) rows.migrations.set(k, row);
}

/** Rows per slice of a snapshot: each is stringified and written before the event loop runs again. */
const SNAPSHOT_SLICE = 2000;

/**
 * The snapshot's text in slices, as `JSON.stringify(state, null, 1)` would write it (the format
 * of earlier versions), plus the journal id and seq.
 */
function* snapshotChunks(id: string, seq: number, locations: unknown[], migrations: unknown[]): Generator<string> {
  yield `{\n "version": 1,\n "savedAt": ${JSON.stringify(new Date().toISOString())},\n "journal": ${JSON.stringify(id)},\n "seq": ${seq},\n "locations": `;
  yield* listChunks(locations);
  yield ',\n "migrations": ';
  yield* listChunks(migrations);
  yield '\n}';
}

function* listChunks(values: unknown[]): Generator<string> {
  if (values.length === 0) {
    yield '[]';
    return;
  }
  let parts: string[] = [];
  let first = true;
  for (const row of values) {
    parts.push(`${first ? '[' : ','}\n  ${JSON.stringify(row, null, 1).replace(/\n/g, '\n  ')}`);
    first = false;
    if (parts.length === SNAPSHOT_SLICE) {
      yield parts.join('');
      parts = [];
    }
  }
  parts.push('\n ]');
  yield parts.join('');
}

/** Writes `file` so that it holds either its old or its new content, never a part. */
export async function writeFileAtomic(file: string, body: string): Promise<void> {
  await writeChunksAtomic(file, [body]);
}

/** writeFileAtomic of a body given in slices (each written before the next is made); returns its bytes. */
async function writeChunksAtomic(file: string, chunks: Iterable<string>): Promise<number> {
  const { tmp, bytes } = await writeChunks(file, '', chunks);
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  await syncDir(dirname(file));
  return bytes;
}

/** Writes the slices to a temporary file beside `file` and fsyncs it; returns its path and size. */
async function writeChunks(file: string, suffix: string, chunks: Iterable<string>): Promise<{ tmp: string; bytes: number }> {
  const tmp = `${dirname(file)}/.${basename(file)}.tmp-${process.pid}${suffix}`;
  let handle: FileHandle | undefined;
  let bytes = 0;
  try {
    handle = await open(tmp, 'w', 0o600);
    for (const chunk of chunks) {
      await handle.writeFile(chunk);
      bytes += Buffer.byteLength(chunk);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (err) {
    await handle?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return { tmp, bytes };
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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

  /** Writes `state` whole: every row that differs from etcd's, and deletes the keys not in it. */
  save(state: StoredState): Promise<void> {
    return this.saveChanges({ full: true, locations: state.locations, removedLocations: [], migrations: state.migrations, removedMigrations: [] });
  }

  /**
   * Writes the rows that differ from what etcd holds and deletes the removed keys; only the
   * changed rows are stringified (a full save compares every row, and deletes every key not in it).
   */
  async saveChanges(changes: StateChanges): Promise<void> {
    const fence = this.options.fence ? this.options.fence() : undefined;
    if (this.options.fence && !fence) throw new StoreConflict('not the master: only the master writes the shared state');
    const desired = new Map<string, string>();
    for (const kind of KINDS) {
      for (const row of changes[kind]) desired.set(this.keyOf(kind, rowKey(kind, row)), JSON.stringify(row));
    }
    type Op = { key: string; value?: string; was?: KnownKey };
    const ops: Op[] = [];
    for (const [key, value] of desired) {
      const was = this.known.get(key);
      if (was?.value !== value) ops.push({ key, value, ...(was ? { was } : {}) });
    }
    if (changes.full) {
      for (const [key, was] of this.known) if (this.kindOf(key) && !desired.has(key)) ops.push({ key, was });
    } else {
      const removed = [...changes.removedLocations.map((k) => this.keyOf('locations', k)), ...changes.removedMigrations.map((k) => this.keyOf('migrations', k))];
      for (const key of removed) {
        const was = this.known.get(key);
        if (was && !desired.has(key)) ops.push({ key, was });
      }
    }
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
