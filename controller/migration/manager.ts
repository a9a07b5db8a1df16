/**
 * Live migrations, make-before-break:
 *   prepare  → frames for the container are bicast to the old location and, as soon as the
 *              new port exists, to the new one (flows for the new port are installed the moment
 *              PORT_STATUS announces it); barrier-confirmed before the API answers;
 *   commit   → every switch flips to the new location only, downstream first, each stage
 *              barrier-confirmed; also triggered by the container's first frame at the new port;
 *   abort    → back to the old location (also on timeout).
 * State is persisted with the location table, so a restart keeps prepared migrations.
 */
import { randomUUID } from 'node:crypto';
import type { Controller, ControllerEvent } from '../shell/controller.js';
import type { MigrationInProgress } from '../core/forwarding.js';
import type { Metrics } from '../shell/metrics.js';

export type MigrationState = 'prepared' | 'committing' | 'committed' | 'aborted' | 'failed';

export interface TimelineEntry {
  event: string;
  /** ISO time. */
  at: string;
  /** ms since the migration was created. */
  t: number;
  detail?: string;
}

export interface Migration {
  id: string;
  container: string;
  mac: string;
  from: { node: string; ofport: number; port: string | null };
  to: { node: string; port: string; ofport: number | null };
  state: MigrationState;
  createdAt: string;
  /** Commit requested (or first frame) → last barrier of the flip, ms. */
  flipLatencyMs: number | null;
  committedBy: 'api' | 'first-frame' | null;
  error: string | null;
  timeline: TimelineEntry[];
}

/** An error the API turns into a status code. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(readonly status: 400 | 404 | 409 | 503, message: string, readonly path?: string) {
    super(message);
  }
}

export interface MigrationOptions {
  /** Prepared migrations not committed within this time are aborted. */
  timeoutMs: number;
  /** Finished migrations kept for GET (most recent). */
  keepFinished: number;
}

export class MigrationManager {
  private readonly migrations = new Map<string, Migration>();
  private readonly created = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly options: MigrationOptions;

  constructor(readonly controller: Controller, options: Partial<MigrationOptions> = {}, readonly metrics?: Metrics) {
    this.options = { timeoutMs: 120_000, keepFinished: 200, ...options };
    controller.extraState = () => [...this.migrations.values()];
    controller.on('frame-at-new-location', (f: { node: string; ofport: number; mac: string; portName?: string }) => this.onFrame(f));
    controller.on('event', (e: ControllerEvent) => this.onControllerEvent(e));
    this.restore(controller.loadedExtraState);
  }

  list(): Migration[] {
    return [...this.migrations.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  get(id: string): Migration | undefined {
    return this.migrations.get(id);
  }

  /** Prepare: resolves once every connected switch confirmed the bicast flows. */
  async prepare(containerName: string, to: { node: string; port: string }): Promise<Migration> {
    const { controller } = this;
    const loc = controller.locations.get(containerName);
    if (!loc) throw new MigrationError(404, `unknown container "${containerName}"`, 'container');
    if (!controller.topology.nodes[to.node]) throw new MigrationError(404, `unknown switch "${to.node}"`, 'to.switch');
    const active = this.list().find((m) => m.container === containerName && (m.state === 'prepared' || m.state === 'committing'));
    if (active) throw new MigrationError(409, `migration ${active.id} of "${containerName}" is already in progress`);
    const portNow = this.portNumber(to.node, to.port);
    if (loc.node === to.node && (loc.port === to.port || (portNow !== undefined && portNow === loc.ofport))) {
      throw new MigrationError(409, `"${containerName}" is already at ${to.node} port ${to.port}`);
    }
    const m: Migration = {
      id: randomUUID(), container: containerName, mac: loc.mac,
      from: { node: loc.node, ofport: loc.ofport, port: loc.port ?? null },
      to: { node: to.node, port: to.port, ofport: portNow ?? null },
      state: 'prepared', createdAt: new Date().toISOString(), flipLatencyMs: null, committedBy: null, error: null, timeline: [],
    };
    this.created.set(m.id, Date.now());
    this.migrations.set(m.id, m);
    this.mark(m, 'prepare requested', `${loc.node}:${loc.ofport} → ${to.node}:${to.port}`);
    if (portNow !== undefined) this.mark(m, 'port seen', `ofport ${portNow} (already present)`);
    this.activate();
    const failures = await this.syncCollectingFailures(`prepare migration of ${containerName}`, to.node);
    if (failures.length > 0) {
      m.state = 'failed';
      m.error = `switches refused the prepare: ${failures.join('; ')}`;
      this.mark(m, 'failed', m.error);
      this.activate();
      await controller.requestSync(`undo failed prepare of ${containerName}`, { towards: loc.node });
      this.finish(m);
      throw new MigrationError(503, m.error);
    }
    this.mark(m, 'prepared', 'bicast flows barrier-confirmed on every connected switch');
    this.emit(m, 'migration-prepared');
    this.armTimeout(m);
    void controller.saveState();
    return m;
  }

  /** Flips in progress, by migration id: a commit call that races the first frame joins it. */
  private readonly committing = new Map<string, Promise<Migration>>();

  /**
   * Commit: flip every switch to the new location, downstream first. A commit of a migration
   * that is already committing (the container's first frame won the race) or committed returns
   * its outcome rather than an error: the orchestrator asked for what happened.
   */
  commit(id: string, by: 'api' | 'first-frame' = 'api'): Promise<Migration> {
    const running = this.committing.get(id);
    if (running) return running;
    const m = this.migrations.get(id);
    if (m && m.state === 'committed') return Promise.resolve(m);
    const flip = this.flip(id, by).finally(() => this.committing.delete(id));
    this.committing.set(id, flip);
    return flip;
  }

  private async flip(id: string, by: 'api' | 'first-frame'): Promise<Migration> {
    const m = this.requirePrepared(id);
    const started = performance.now();
    if (m.to.ofport === null) {
      const now = this.portNumber(m.to.node, m.to.port);
      if (now === undefined) throw new MigrationError(409, `port "${m.to.port}" does not exist on ${m.to.node} yet: attach the container first`);
      m.to.ofport = now;
    }
    m.state = 'committing';
    m.committedBy = by;
    this.clearTimeout(m.id);
    this.mark(m, by === 'api' ? 'commit requested' : 'first frame at the new port', by === 'api' ? undefined : 'auto-commit');
    const c = this.controller.locations.get(m.container);
    try {
      this.controller.locations.set({ name: m.container, mac: m.mac, node: m.to.node, ofport: m.to.ofport, port: m.to.port, source: 'migration', ...(c?.ip ? { ip: c.ip } : {}) });
    } catch (err) {
      m.state = 'prepared';
      throw new MigrationError(409, (err as Error).message);
    }
    this.activate();
    const failures = await this.syncCollectingFailures(`commit migration of ${m.container}`, m.to.node);
    m.flipLatencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    this.metrics?.flipLatency.observe(m.flipLatencyMs / 1000);
    if (failures.length > 0) {
      m.state = 'failed';
      m.error = `switches refused the flip: ${failures.join('; ')} (they will be re-read and reconciled)`;
      this.mark(m, 'failed', m.error);
    } else {
      m.state = 'committed';
      this.mark(m, 'committed', `flip confirmed by every switch in ${m.flipLatencyMs} ms`);
    }
    this.emit(m, m.state === 'committed' ? 'migration-committed' : 'migration-failed');
    this.controller.emit('event', { type: 'container-moved', container: m.container, mac: m.mac, from: { node: m.from.node, ofport: m.from.ofport }, to: { node: m.to.node, ofport: m.to.ofport }, source: 'migration' });
    this.finish(m);
    return m;
  }

  async abort(id: string, why = 'abort requested'): Promise<Migration> {
    const m = this.requirePrepared(id);
    m.state = 'aborted';
    this.clearTimeout(m.id);
    this.mark(m, why);
    this.activate();
    await this.syncCollectingFailures(`abort migration of ${m.container}`, m.from.node);
    this.mark(m, 'aborted', 'traffic goes to the old location only');
    this.emit(m, 'migration-aborted');
    this.finish(m);
    return m;
  }

  /** Cancels timers (controller shutdown); prepared migrations stay persisted. */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  // ----------------------------------------------------------------------------------------

  private requirePrepared(id: string): Migration {
    const m = this.migrations.get(id);
    if (!m) throw new MigrationError(404, `unknown migration "${id}"`);
    if (m.state !== 'prepared') throw new MigrationError(409, `migration ${id} is ${m.state}, not prepared`);
    return m;
  }

  /** Publishes the prepared migrations to the forwarding computation. */
  private activate(): void {
    const active: MigrationInProgress[] = [];
    for (const m of this.migrations.values()) {
      if (m.state !== 'prepared') continue;
      active.push({
        name: m.container, mac: m.mac, from: { bridge: m.from.node, ofport: m.from.ofport },
        to: m.to.ofport === null ? { bridge: m.to.node } : { bridge: m.to.node, ofport: m.to.ofport },
      });
    }
    this.controller.migrations = active;
  }

  private async syncCollectingFailures(reason: string, towards: string): Promise<string[]> {
    const failures: string[] = [];
    const onEvent = (e: ControllerEvent) => {
      if (e.type === 'flows-failed') failures.push(`${String(e.switch)}: ${String(e.error)}`);
    };
    this.controller.on('event', onEvent);
    try {
      await this.controller.requestSync(reason, { towards });
    } finally {
      this.controller.off('event', onEvent);
    }
    return failures;
  }

  private onControllerEvent(e: ControllerEvent): void {
    if (e.type === 'flows-applied') {
      for (const m of this.migrations.values()) {
        if (m.state === 'committing' || m.state === 'prepared') this.mark(m, 'barrier confirmed', `${String(e.switch)} (${String(e.stage)}, ${String(e.flowMods)} messages)`);
      }
    } else if (e.type === 'port-change') {
      const ev = e as { switch: string; reason: string; port: { portNo: number; name: string } };
      for (const m of this.migrations.values()) {
        if (m.state !== 'prepared' || m.to.node !== ev.switch || m.to.port !== ev.port.name) continue;
        if (ev.reason === 'DELETE') {
          m.to.ofport = null;
          this.mark(m, 'port gone', `ofport ${ev.port.portNo}`);
        } else if (m.to.ofport !== ev.port.portNo) {
          m.to.ofport = ev.port.portNo;
          this.mark(m, 'port seen', `ofport ${ev.port.portNo}`);
          this.emit(m, 'migration-port-seen');
        }
        // The controller syncs on every port change; our migration list must be current first.
        this.activate();
      }
    }
  }

  private onFrame(f: { node: string; ofport: number; mac: string; portName?: string }): void {
    for (const m of this.migrations.values()) {
      if (m.state !== 'prepared' || m.mac !== f.mac.toLowerCase() || m.to.node !== f.node) continue;
      if (m.to.ofport !== f.ofport && m.to.port !== f.portName) continue;
      if (m.to.ofport === null) m.to.ofport = f.ofport;
      void this.commit(m.id, 'first-frame').catch((err: Error) => this.controller.emit('event', { type: 'migration-failed', id: m.id, error: err.message }));
      return;
    }
  }

  private portNumber(node: string, name: string): number | undefined {
    const s = this.controller.sessions.get(node);
    for (const p of s?.ports.values() ?? []) if (p.name === name) return p.portNo;
    return undefined;
  }

  private mark(m: Migration, event: string, detail?: string): void {
    const created = this.created.get(m.id) ?? Date.parse(m.createdAt);
    m.timeline.push({ event, at: new Date().toISOString(), t: Math.round((Date.now() - created) * 1000) / 1000, ...(detail ? { detail } : {}) });
  }

  private emit(m: Migration, type: string): void {
    this.controller.emit('event', { type, id: m.id, container: m.container, state: m.state, from: m.from, to: m.to, flipLatencyMs: m.flipLatencyMs });
    void this.controller.saveState();
  }

  private armTimeout(m: Migration): void {
    const left = this.options.timeoutMs - (Date.now() - (this.created.get(m.id) ?? Date.now()));
    const timer = setTimeout(() => {
      this.timers.delete(m.id);
      // A cluster follower leaves timeouts to the master (a new master re-arms them on takeover).
      if (m.state === 'prepared' && this.controller.inCharge) void this.abort(m.id, `not committed within ${this.options.timeoutMs} ms: aborting`).catch(() => {});
    }, Math.max(0, left));
    timer.unref();
    this.timers.set(m.id, timer);
  }

  private clearTimeout(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  private finish(m: Migration): void {
    this.metrics?.migrations.inc({ state: m.state });
    void this.controller.saveState();
    const done = this.list().filter((x) => x.state !== 'prepared' && x.state !== 'committing');
    for (const old of done.slice(0, Math.max(0, done.length - this.options.keepFinished))) this.migrations.delete(old.id);
  }

  /**
   * Takes saved migrations in (from the state file at start, or, in a cluster, from etcd: a
   * follower keeps its copy current, a new master takes over the prepared ones). Prepared ones
   * get a fresh timeout.
   */
  restore(saved: unknown, why = 'restored after a controller restart'): void {
    if (!Array.isArray(saved)) return;
    for (const raw of saved as Migration[]) {
      if (!raw || typeof raw.id !== 'string' || !raw.to || !raw.from) continue;
      // Our own flip in progress outranks a stored copy of it.
      if (this.committing.has(raw.id)) continue;
      this.clearTimeout(raw.id);
      // A commit interrupted by a restart is finished by the reconcile: the location was saved first.
      const m: Migration = { ...raw, state: raw.state === 'committing' ? 'committed' : raw.state };
      this.migrations.set(m.id, m);
      this.created.set(m.id, Date.parse(m.createdAt));
      if (m.state === 'prepared') {
        if (why) this.mark(m, why);
        this.armTimeout(m);
      }
    }
    this.activate();
    if (this.controller.migrations.length > 0) void this.controller.requestSync('prepared migrations restored from the state file');
  }
}
