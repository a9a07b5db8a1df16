/**
 * Live migrations, make-before-break:
 *   prepare  → frames for the container are bicast to the old location and, as soon as the
 *              new port exists, to the new one (flows for the new port are installed the moment
 *              PORT_STATUS announces it); barrier-confirmed before the API answers;
 *   commit   → every switch flips to the new location only, downstream first, each stage
 *              barrier-confirmed; also triggered by the container's first frame at the new port;
 *   freeze   → the old host takes no more frames (checkpoint done, old port down or gone): until
 *              the new port exists, frames that reach the new edge are held by the controller in
 *              arrival order, then replayed there with PACKET_OUT before the hold flow goes;
 *   abort    → back to the old location (also on timeout).
 * State is persisted with the location table, so a restart keeps prepared migrations.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Controller, ControllerEvent, PreparedMove } from '../shell/controller.js';
import type { MigrationInProgress } from '../core/forwarding.js';
import type { Metrics } from '../shell/metrics.js';
import { Port } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';
import { transportFlowKey } from '../core/packet.js';
import { checkHoldLimits, HeldFrames, HoldBudget, type HoldLimits } from './hold.js';

// ofp_port_config / ofp_port_state bits (OpenFlow 1.3, 7.2.1).
const OFPPC_PORT_DOWN = 1;
const OFPPS_LINK_DOWN = 1;

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
  /** `port` is null when the migration was asked for by port number and the switch has not named it yet. */
  to: { node: string; port: string | null; ofport: number | null };
  state: MigrationState;
  createdAt: string;
  /** Commit requested (or first frame) → last barrier of the flip, ms. */
  flipLatencyMs: number | null;
  committedBy: 'api' | 'first-frame' | null;
  error: string | null;
  timeline: TimelineEntry[];
  /** Set by the freeze step (explicit, or the old port going down or away). */
  freeze: FreezeRecord | null;
}

/** The data plane's view of a migration's downtime. */
export interface FreezeRecord {
  by: 'api' | 'old-port-down' | 'old-port-gone';
  /** The freeze: the last moment the old location took frames (ISO). */
  lastAtOld: string;
  /** The first frame delivered at the new port (a replayed one, or any once nothing is held), ISO. */
  firstAtNew: string | null;
  /** lastAtOld → firstAtNew, ms. */
  refractoryMs: number | null;
  /** Frames (and bytes) held at the new edge, replayed there in order, and dropped (caps, abort). */
  held: number;
  heldBytes: number;
  replayed: number;
  dropped: number;
  /**
   * Frames the hold flow sent after the barrier reply of its removal: a barrier orders OpenFlow
   * messages, the datapath's flow cache may still use the removed flow for a moment. They are
   * sent on at once (counted in `held` and `replayed` too).
   */
  afterRelease?: number;
  /**
   * Frames the hold flow sent once its removal was under way (the release's or the flip's
   * flow_mod written), sent on behind that flow_mod: the only frames the switch may have
   * overtaken with one it delivered directly (nothing guarantees the order of a packet-in's way
   * through the controller against the datapath's switch to the new flows). Includes afterRelease.
   */
  behindRelease?: number;
  /**
   * Frames the hold flow sent during the replay of a conversation with nothing queued, sent on
   * at once instead of behind the backlog (counted in `held` and `replayed` too).
   */
  passed?: number;
  /**
   * Frames held at the new edge that the old host had taken: an explicit freeze first has the
   * old edge report what it delivers, then seals it (delivers no more); a held frame equal to a
   * reported one is not replayed.
   */
  takenAtOld?: number;
  /** Frames the old edge reported delivering between the freeze's report and seal steps. */
  reportedAtOld?: number;
}

/**
 * A frame's identity for matching a report against a held frame: its bytes, less trailing
 * zeros up to the Ethernet minimum of 60, which the old port's send path may have added to the
 * reported copy (a 58-byte datagram held at the new edge came back 60 bytes long from the old).
 */
function frameKey(frame: Buffer): string {
  let end = frame.length;
  if (end <= 60) while (end > 14 && frame[end - 1] === 0) end--;
  return frame.toString('latin1', 0, end);
}

/** A port's packet counters: tx, frames the switch delivered to it; rx, frames it sent. */
interface PortPackets {
  tx: bigint;
  rx: bigint;
}

const PORT_STATS_TIMEOUT_MS = 1000;
const UNSUPPORTED_COUNTER = 0xffff_ffff_ffff_ffffn;
/** How often a closed replay window reads the port's counters again. */
const REPLAY_POLL_MS = 1;

/**
 * Paces a replay by its receiver: the container shows it reads by sending (echoes, ACKs,
 * replies: the port's rx count moving), so at most `window` frames go to the new port after its
 * last sign of life. A frozen or descheduled container holds up the rest at the controller
 * instead of overflowing its socket buffers; a running one gets a window per counter read. Not
 * a per-frame balance of delivered against answered: services answer fewer frames than they
 * read (TCP ACKs a batch of segments, echoes a backlog in one write), and such a balance drifts
 * until the window never opens.
 */
class ReplayClock {
  /** Frames delivered since the container last sent one. */
  private sinceAnswer = 0;
  private last: PortPackets;
  private lastAnswerAt = performance.now();
  /** The switch stopped giving counters: the barrier pace alone from then on. */
  private blind = false;

  private constructor(start: PortPackets, private readonly window: number, private readonly idleMs: number) {
    this.last = start;
  }

  /** A clock from the port's counters now, or null when the switch gives none (see HoldLimits.replayWindow, replayIdleMs). */
  static async start(counters: Promise<PortPackets | null>, window: number, idleMs: number): Promise<ReplayClock | null> {
    const c = await counters;
    return c ? new ReplayClock(c, window, idleMs) : null;
  }

  /** Folds new counters in. */
  private update(c: PortPackets): void {
    const delivered = Number(c.tx - this.last.tx);
    const answered = Number(c.rx - this.last.rx);
    if (answered > 0) {
      this.lastAnswerAt = performance.now();
      // Those delivered since the last read and not answered may still be unread.
      this.sinceAnswer = Math.max(0, delivered - answered);
    } else {
      this.sinceAnswer += delivered;
    }
    this.last = c;
  }

  /**
   * Waits until the window has room and returns how much; `first`: counters already asked for;
   * `stop`: give up waiting (aborted).
   * Counters that stop coming open the window for good (the barrier pace still holds).
   */
  async room(read: () => Promise<PortPackets | null>, stop: () => boolean, first?: Promise<PortPackets | null>): Promise<number> {
    for (let next = first; ; next = undefined) {
      if (this.blind) return this.window;
      const c = await (next ?? read());
      if (!c) this.blind = true;
      if (!c || stop()) return this.window;
      this.update(c);
      if (this.sinceAnswer < this.window) return this.window - this.sinceAnswer;
      if (performance.now() - this.lastAnswerAt >= this.idleMs) {
        this.lastAnswerAt = performance.now();
        return this.window;
      }
      await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
    }
  }
}

/** A freeze's frames while the controller holds them (not persisted: frames do not outlive the process). */
interface Hold {
  queue: HeldFrames;
  /** holding: hold flow in, queueing; replaying: sending the queue to the new port, still queueing;
   *  draining: the queue is out, the hold flow stays in until the switch has sent all we gave it
   *  (late frames go straight out); releasing: hold flow being removed; released: it is gone. */
  phase: 'holding' | 'replaying' | 'draining' | 'releasing' | 'released';
  replayed: number;
  /** performance.now() at the freeze. */
  frozenAt: number;
  release?: Promise<void>;
  /**
   * Resolves once the switch has sent the replay and what the hold flow sent meanwhile (their
   * barrier replies): the hold flow's removal, by a release or a commit's flip, then queues behind
   * no backlog of PACKET_OUTs (see drain).
   */
  drained?: Promise<void>;
  replayDrained?: () => void;
  /** A commit is waiting for the replay: its flip removes the hold flow itself (no release of our own). */
  commitPending?: boolean;
  /** Resolves once that commit's flip has the new edge's stage confirmed (the hold flow gone), or ended. */
  flipAtNewEdge?: Promise<void>;
  flipReachedNewEdge?: () => void;
  /** The hold flow's removal is barrier-confirmed: what it still sends was in flight (afterRelease). */
  holdFlowGone?: boolean;
  /** Frames sent on behind the replay, still waiting for their barrier. */
  forwarding?: Promise<void>;
  /** The old edge: reporting what it delivers, or sealed (see MigrationInProgress.seal). */
  seal?: 'report' | 'drop';
  /** The frames the old edge reported delivering (whole frame as latin1 → how many), matched against the held ones. */
  taken: Map<string, number>;
  takenFrames: number;
  /** Called on the first report (see freeze). */
  onReport?: () => void;
}

/**
 * How long the freeze waits, after the report step's barrier, for the old edge's first report:
 * a barrier reply does not say the datapath's cached flows report yet (Open vSwitch revalidates
 * them afterwards), and a frame delivered unreported while the new edge holds its twin would be
 * delivered twice. No report within this time: no traffic for it, nothing to deliver twice.
 */
const FIRST_REPORT_WAIT_MS = 50;

/**
 * Barrier round trips the release waits for (see MigrationManager.drain): the last burst's, then
 * one for the frames the hold flow sent while the switch was sending it. A stream never pauses,
 * so each round forwards what came during the one before: more rounds would only delay the flip
 * (a round took 10-180 ms on a loaded machine).
 */
const DRAIN_ROUNDS = 2;

/** An error the API turns into a status code; `path` is a JSON Pointer into the request body. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(readonly status: 400 | 404 | 409 | 503, message: string, readonly path?: string, readonly migration?: Migration) {
    super(message);
  }
}

/** What a commit request did: flipped now, found it committed already, or joined the flip the first frame started. */
export type CommitOutcome = 'flipped' | 'already-committed' | 'joined-running-flip';

export interface CommitResult {
  migration: Migration;
  outcome: CommitOutcome;
}

/** The destination port as the switch reports it now. */
export interface PortStatus {
  name: string | null;
  exists: boolean;
  ofport?: number;
}

export interface MigrationOptions {
  /** Prepared migrations not committed within this time are aborted. */
  timeoutMs: number;
  /** Finished migrations kept for GET (most recent). */
  keepFinished: number;
  /** Caps on the frames held during freezes. */
  hold: Partial<HoldLimits>;
}

export class MigrationManager {
  private readonly migrations = new Map<string, Migration>();
  private readonly created = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly options: MigrationOptions;
  private readonly log: Logger;
  private readonly holds = new Map<string, Hold>();
  private readonly holdBudget: HoldBudget;
  /** Compute each flip's flow changes at prepare time so that commit only sends them (bench: off to compare). */
  precomputeFlips = true;
  /** Flips computed ahead, by migration id (dropped when stale: the commit then computes). */
  private readonly plans = new Map<string, PreparedMove>();
  /** Plans being computed (queued with the controller's changes), by migration id. */
  private readonly planning = new Map<string, Promise<void>>();

  constructor(readonly controller: Controller, options: Partial<MigrationOptions> = {}, readonly metrics?: Metrics) {
    this.options = { timeoutMs: 120_000, keepFinished: 200, hold: {}, ...options };
    this.log = controller.options.logger.child({ component: 'migration' });
    this.holdBudget = new HoldBudget(checkHoldLimits(this.options.hold));
    controller.heldFrameSink = (node, frame) => this.onHeldFrame(node, frame);
    controller.extraState = () => [...this.migrations.values()];
    controller.extraRow = (id) => this.migrations.get(id);
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

  /** The destination port of a migration as its switch reports it now. */
  portStatus(m: Migration): PortStatus {
    const now = m.to.port !== null ? this.portNumber(m.to.node, m.to.port) : this.portName(m.to.node, m.to.ofport!) !== undefined ? m.to.ofport! : undefined;
    return { name: m.to.port, exists: now !== undefined, ...(now !== undefined ? { ofport: now } : m.to.ofport !== null ? { ofport: m.to.ofport } : {}) };
  }

  /**
   * Prepare: resolves once every connected switch confirmed the bicast flows. The destination
   * is a port name, a port number, or both (the name wins for recognising the port).
   */
  async prepare(containerName: string, to: { node: string; port?: string; ofport?: number }): Promise<Migration> {
    const { controller } = this;
    const loc = controller.locations.get(containerName);
    if (!loc) throw new MigrationError(404, `unknown container "${containerName}"`, '/container');
    if (!controller.topology.nodes[to.node]) throw new MigrationError(404, `unknown switch "${to.node}" (not in the topology)`, '/to/switch');
    if (to.port === undefined && to.ofport === undefined) throw new MigrationError(400, 'give the destination port name ("port") or number ("ofport")', '/to/port');
    const active = this.list().find((m) => m.container === containerName && (m.state === 'prepared' || m.state === 'committing'));
    if (active) throw new MigrationError(409, `migration ${active.id} of "${containerName}" is already in progress`);
    const portName = to.port ?? this.portName(to.node, to.ofport!) ?? null;
    const portNow = portName !== null ? this.portNumber(to.node, portName) ?? to.ofport : to.ofport;
    if (loc.node === to.node && ((portName !== null && loc.port === portName) || (portNow !== undefined && portNow === loc.ofport))) {
      throw new MigrationError(409, `"${containerName}" is already at ${to.node} port ${portName ?? portNow}`);
    }
    const m: Migration = {
      id: randomUUID(), container: containerName, mac: loc.mac,
      from: { node: loc.node, ofport: loc.ofport, port: loc.port ?? null },
      to: { node: to.node, port: portName, ofport: portNow ?? null },
      state: 'prepared', createdAt: new Date().toISOString(), flipLatencyMs: null, committedBy: null, error: null, timeline: [], freeze: null,
    };
    this.created.set(m.id, Date.now());
    this.migrations.set(m.id, m);
    this.mark(m, 'prepare requested', `${loc.node}:${loc.ofport} → ${to.node}:${portName ?? portNow}`);
    const status = this.portStatus(m);
    if (status.exists) this.mark(m, 'port seen', `ofport ${status.ofport} (already present)`);
    this.activate();
    const failures = await this.syncCollectingFailures(m, `prepare migration of ${containerName}`, to.node);
    if (failures.length > 0) {
      m.state = 'failed';
      m.error = `switches refused the prepare: ${failures.join('; ')}`;
      this.mark(m, 'failed', m.error);
      this.activate();
      await controller.requestSync(`undo failed prepare of ${containerName}`, { towards: loc.node });
      this.finish(m);
      throw new MigrationError(503, m.error, undefined, m);
    }
    this.mark(m, 'prepared', `bicast flows barrier-confirmed on every connected switch; destination port ${status.exists ? `exists (ofport ${status.ofport})` : 'does not exist yet'}`);
    this.emit(m, 'migration-prepared');
    this.armTimeout(m);
    void controller.saveState();
    await this.precompute(m);
    return m;
  }

  /** Flips in progress, by migration id: a commit call that races the first frame joins it. */
  private readonly committing = new Map<string, Promise<Migration>>();

  /**
   * Commit: flip every switch to the new location, downstream first. Idempotent: a commit of a
   * migration that is already committing (the container's first frame won the race) joins
   * that flip, and one already committed returns it; the orchestrator asked for an outcome,
   * and the outcome is the same whoever flipped. Aborted or failed migrations are a 409.
   */
  async commitRequest(id: string, by: 'api' | 'first-frame' = 'api'): Promise<CommitResult> {
    const running = this.committing.get(id);
    if (running) return { migration: await running, outcome: 'joined-running-flip' };
    const m = this.migrations.get(id);
    if (m && m.state === 'committed') {
      this.log.info(this.fields(m, { by }), `commit of ${m.container}: already committed by ${m.committedBy ?? 'a restart'}`);
      return { migration: m, outcome: 'already-committed' };
    }
    const flip = this.flip(id, by).finally(() => this.committing.delete(id));
    this.committing.set(id, flip);
    return { migration: await flip, outcome: 'flipped' };
  }

  async commit(id: string, by: 'api' | 'first-frame' = 'api'): Promise<Migration> {
    return (await this.commitRequest(id, by)).migration;
  }

  private async flip(id: string, by: 'api' | 'first-frame'): Promise<Migration> {
    let m = this.requirePrepared(id, 'commit');
    const started = performance.now();
    this.mark(m, 'commit started', by === 'api' ? 'commit call' : "the first frame's packet-in at the new port");
    // Where the time before the flip goes (noted in the timeline): the plan, the replay.
    const waited: string[] = [];
    const since = (t: number) => Math.round((performance.now() - t) * 1000) / 1000;
    // A plan still being computed is queued ahead of this flip's change anyway: waiting costs nothing.
    const planning = this.planning.get(id);
    if (planning) {
      const t = performance.now();
      await planning;
      waited.push(`${since(t)} ms for the plan`);
      m = this.requirePrepared(id, 'commit');
    }
    if (m.to.ofport === null) {
      const now = m.to.port === null ? undefined : this.portNumber(m.to.node, m.to.port);
      if (now === undefined) throw new MigrationError(409, `port "${m.to.port}" does not exist on ${m.to.node} yet: attach the container first (the migration stays prepared; commit again, or let its first frame commit it)`, undefined, m);
      m.to.ofport = now;
    }
    const hold = this.holds.get(m.id);
    if (hold) {
      // The held frames go first, in order: the flip would take the hold flow away. Its flow_mods
      // wait until the switch has sent them (see drain; a release already under way goes first:
      // the flip's sync queues behind it); late frames of the hold flow go out as they come.
      void this.releaseHold(m);
      hold.commitPending = true;
      const t = performance.now();
      await hold.drained;
      waited.push(`${since(t)} ms for the replay to be sent`);
      m = this.requirePrepared(id, 'commit');
      if (m.to.ofport === null) throw new MigrationError(409, `port "${m.to.port}" went away on ${m.to.node} during the replay`);
    }
    m.state = 'committing';
    m.committedBy = by;
    this.clearTimeout(m.id);
    this.mark(m, by === 'api' ? 'commit requested' : 'first frame at the new port', [...(by === 'api' ? [] : ['auto-commit']), ...(waited.length ? [`waited ${waited.join(', ')}`] : [])].join('; ') || undefined);
    const c = this.controller.locations.get(m.container);
    let change;
    try {
      change = this.controller.locations.set({ name: m.container, mac: m.mac, node: m.to.node, ofport: m.to.ofport, ...(m.to.port !== null ? { port: m.to.port } : {}), source: 'migration', ...(c?.ip ? { ip: c.ip } : {}) });
    } catch (err) {
      m.state = 'prepared';
      throw new MigrationError(409, (err as Error).message, undefined, m);
    }
    if (change) this.controller.logLocationChange(change, `migration ${m.id} committed by ${by}`);
    this.activate();
    const plan = this.plans.get(m.id);
    this.plans.delete(m.id);
    // A plan made before the freeze's hold and seal is stale (the switches' tables changed) and
    // not sent (Controller.requestPreparedMove); the port changes since planned it again.
    const usable = plan && plan.to.node === m.to.node && plan.to.ofport === m.to.ofport ? plan : undefined;
    const sentAsPreparedBefore = this.controller.syncCounts.prepared;
    let failures: string[];
    try {
      // The stage that includes the new edge takes the hold flow away (see replay).
      const atNewEdge = (switches: string[]) => {
        if (switches.includes(m.to.node)) hold?.flipReachedNewEdge?.();
      };
      failures = await this.syncCollectingFailures(m, `commit migration of ${m.container}`, m.to.node, usable, atNewEdge);
    } finally {
      hold?.flipReachedNewEdge?.();
    }
    m.flipLatencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    // Where a slow flip's time went: a plan found stale at its turn is computed afresh and staged by levels.
    this.mark(m, 'flip confirmed', `${m.flipLatencyMs} ms after the commit started; the new location is saved next`);
    const planNote = !plan ? 'no plan made ahead' : !usable ? 'the plan made ahead was for another port' : this.controller.syncCounts.prepared > sentAsPreparedBefore ? 'sent as planned ahead' : `the plan made ahead was stale at its turn (${this.controller.lastStaleReasons.join(', ')}): computed afresh`;
    this.metrics?.flipLatency.observe(m.flipLatencyMs / 1000);
    // The save is off the flip's path, not off the answer's: the commit is answered (and
    // `committed`) only once the new location is stored. A crash before that leaves it
    // `prepared` in the store (or `committing`, if another save caught the flip): a restart reads
    // the switches back and reinstalls the prepared state, whose copies reach both the old and
    // the new port, so no frame is lost whatever the switches held; the unanswered commit is
    // retried by the orchestrator, or made by the container's next frame at its new port, as for
    // a crash just before the commit arrived. `committing` is finished by the reconcile (restore).
    await this.controller.saveState();
    if (failures.length > 0) {
      m.state = 'failed';
      m.error = `the flip was not confirmed by every switch: ${failures.join('; ')} (they will be re-read and reconciled)`;
      this.mark(m, 'failed', m.error);
    } else {
      m.state = 'committed';
      this.mark(m, 'committed', `flip confirmed by every switch in ${m.flipLatencyMs} ms (committed by ${by}; ${planNote})`);
    }
    this.emit(m, m.state === 'committed' ? 'migration-committed' : 'migration-failed');
    this.controller.emit('event', { type: 'container-moved', container: m.container, mac: m.mac, from: { node: m.from.node, ofport: m.from.ofport }, to: { node: m.to.node, ofport: m.to.ofport }, source: 'migration' });
    this.finish(m);
    return m;
  }

  async abort(id: string, why = 'abort requested'): Promise<Migration> {
    const m = this.requirePrepared(id, 'abort');
    this.plans.delete(id);
    m.state = 'aborted';
    this.clearTimeout(m.id);
    this.mark(m, why);
    const h = this.holds.get(m.id);
    if (h) {
      h.phase = 'released';
      this.dropHeld(m, h, h.queue.discard(), true);
    }
    this.activate();
    await this.syncCollectingFailures(m, `abort migration of ${m.container}`, m.from.node);
    this.mark(m, 'aborted', 'traffic goes to the old location only');
    this.emit(m, 'migration-aborted');
    this.finish(m);
    return m;
  }

  /**
   * Freeze: the old host takes no more frames into the container (its checkpoint captured the
   * sockets, or its port went down or away). Until the new port exists, what reaches the new edge
   * for the container is held by the controller; resolves once the hold flow is barrier-confirmed.
   * A second freeze returns the first one's outcome.
   */
  async freeze(id: string, by: FreezeRecord['by'] = 'api'): Promise<Migration> {
    const m = this.migrations.get(id);
    if (!m) throw new MigrationError(404, `unknown migration "${id}"`);
    if (m.freeze) return m;
    if (m.state !== 'prepared') throw new MigrationError(409, `migration ${id} is ${m.state}, not prepared`);
    m.freeze = { by, lastAtOld: new Date().toISOString(), firstAtNew: null, refractoryMs: null, held: 0, heldBytes: 0, replayed: 0, dropped: 0, afterRelease: 0, behindRelease: 0, takenAtOld: 0 };
    const frozenAt = performance.now();
    this.mark(m, 'frozen', by === 'api' ? 'the old host takes no more frames' : `old port ${by === 'old-port-gone' ? 'gone' : 'down'}: implicit freeze`);
    if (this.holdBudget.limits.maxFrames === 0 || this.holdBudget.limits.maxTotalFrames === 0) {
      // A hold that may keep no frame would only drop them at the controller, and its flow's
      // install and release (two barrier-confirmed syncs) would be queued ahead of the commit.
      this.mark(m, 'not holding', 'no frame may be held (--hold-frames 0): until the new port is up and the flip done, frames for it are dropped by the switches');
      this.emit(m, 'migration-frozen');
      return m;
    }
    const hold = (phase: Hold['phase']): Hold => ({ queue: new HeldFrames(this.holdBudget), phase, replayed: 0, frozenAt, taken: new Map(), takenFrames: 0 });
    // A port that exists with its link down (prepared ahead, the container's end not up yet)
    // would drop what reaches it: hold until it comes up, as for a port that does not exist.
    if (m.to.ofport !== null && this.portUp(m.to.node, m.to.ofport)) {
      this.holds.set(m.id, hold('released'));
      this.firstAtNew(m, 'new port already present: frames reach it directly, nothing held');
      this.emit(m, 'migration-frozen');
      return m;
    }
    const h = hold('holding');
    this.holds.set(m.id, h);
    const otherBridge = m.from.node !== m.to.node;
    // The old port still up: the old host takes frames until the orchestrator cuts it off, which
    // it does once this call answers. Were the hold simply added, the frames between the hold
    // flow and the cut would be taken there and replayed here; were the old edge sealed first,
    // those between the seal and the hold flow would be lost. So the old edge first reports what
    // it delivers, then the hold flow goes in, then the old edge is sealed: what it reported is
    // not replayed.
    if (otherBridge && by === 'api' && this.portUp(m.from.node, m.from.ofport)) {
      h.seal = 'report';
      this.activate();
      const firstReport = new Promise<boolean>((resolve) => {
        h.onReport = () => resolve(true);
      });
      const failures = await this.syncCollectingFailures(m, `report frames of ${m.container} at its old port`, m.from.node);
      if (failures.length > 0) {
        this.mark(m, 'report refused', failures.join('; '));
      } else {
        const confirmed = performance.now();
        const seen = h.takenFrames > 0 || await Promise.race([firstReport, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FIRST_REPORT_WAIT_MS).unref())]);
        const waited = Math.round(performance.now() - confirmed);
        this.mark(m, 'reporting', `${m.from.node} reports the frames it still delivers to port ${m.from.port ?? m.from.ofport} (${seen ? `first report ${waited} ms after the barrier` : `no report within ${waited} ms`})`);
      }
      h.onReport = undefined;
    }
    if (otherBridge) h.seal = 'drop';
    this.activate();
    // Staged from the new edge outwards: the hold flow is confirmed before the old edge is sealed.
    const failures = await this.syncCollectingFailures(m, `hold frames of ${m.container}`, m.to.node);
    if (failures.length > 0) this.mark(m, 'hold refused', failures.join('; '));
    else this.mark(m, 'holding', `frames for it at ${m.to.node} go to the controller until port ${m.to.port} ${m.to.ofport === null ? 'appears' : 'comes up'}${otherBridge ? `; ${m.from.node} delivers them no more` : ''}`);
    this.emit(m, 'migration-frozen');
    return m;
  }

  /** Cancels timers (controller shutdown); prepared migrations stay persisted. */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  // ----------------------------------------------------------------------------------------

  private requirePrepared(id: string, action: 'commit' | 'abort'): Migration {
    const m = this.migrations.get(id);
    if (!m) throw new MigrationError(404, `unknown migration "${id}"`);
    if (m.state === 'prepared') return m;
    const why: Record<Exclude<MigrationState, 'prepared'>, string> = {
      committing: 'is being committed (the flip is in progress)',
      committed: `was committed${m.committedBy ? ` by ${m.committedBy}` : ''}: ${m.container} is at ${m.to.node} now; to go back, prepare a migration to ${m.from.node}`,
      aborted: 'was aborted: traffic goes to the old location; prepare a new migration',
      failed: `failed (${m.error ?? 'no detail'}); prepare a new migration`,
    };
    throw new MigrationError(409, `cannot ${action} migration ${id} of "${m.container}": it ${why[m.state]}`, undefined, m);
  }

  /**
   * Computes `m`'s flip now (its destination port known), so that the commit only sends it.
   * Other plans are dropped: their base (the migrations in progress) differs from now on.
   */
  private async precompute(m: Migration): Promise<void> {
    if (!this.precomputeFlips || m.state !== 'prepared' || m.to.ofport === null) return;
    for (const id of this.plans.keys()) if (id !== m.id) this.plans.delete(id);
    const to = { node: m.to.node, ofport: m.to.ofport };
    const run = this.controller.prepareMove(m.container, to, this.inProgress(m.id), m.to.node).then((plan) => {
      if (plan && m.state === 'prepared') this.plans.set(m.id, plan);
    }, () => {});
    this.planning.set(m.id, run);
    try {
      await run;
    } finally {
      if (this.planning.get(m.id) === run) this.planning.delete(m.id);
    }
  }

  /** Publishes the prepared migrations to the forwarding computation. */
  private activate(): void {
    this.controller.migrations = this.inProgress();
  }

  /** The prepared migrations in the forwarding computation's terms, but `except`. */
  private inProgress(except?: string): MigrationInProgress[] {
    const active: MigrationInProgress[] = [];
    for (const m of this.migrations.values()) {
      if (m.state !== 'prepared' || m.id === except) continue;
      const h = this.holds.get(m.id);
      // While the old edge only reports, nothing is held yet (see freeze).
      // Draining too: a sync meanwhile (an ingress entry, a port change) must not take the hold
      // flow away before the switch has sent the replay.
      const hold = (h?.phase === 'holding' || h?.phase === 'replaying' || h?.phase === 'draining') && h.seal !== 'report';
      active.push({
        name: m.container, mac: m.mac, from: { bridge: m.from.node, ofport: m.from.ofport },
        to: m.to.ofport === null ? { bridge: m.to.node } : { bridge: m.to.node, ofport: m.to.ofport },
        ...(hold ? { hold: true } : {}),
        ...(h?.seal ? { seal: h.seal } : {}),
      });
    }
    return active;
  }

  /** One sync for a stage of `m`; logs each flip stage and notes the switches that got nothing because they are not connected. */
  private async syncCollectingFailures(m: Migration, reason: string, towards: string, plan?: PreparedMove, onStage?: (switches: string[]) => void): Promise<string[]> {
    const failures: string[] = [];
    const onEvent = (e: ControllerEvent) => {
      if (e.type === 'flows-failed') failures.push(`${String(e.switch)} ${e.disconnected === true ? 'disconnected before confirming it' : 'refused it'} (${String(e.error)})`);
      else if (e.type === 'flows-stage-applied') {
        const ev = e as unknown as { stage: string; switches: string[]; failed: string[]; elapsedMs: number };
        onStage?.(ev.switches);
        this.log.info(this.fields(m, { stage: ev.stage, switches: ev.switches, failed: ev.failed, elapsedMs: ev.elapsedMs }),
          `migration of ${m.container} (${m.state}): stage ${ev.stage} confirmed by ${ev.switches.length} switch(es)${ev.failed.length ? `, refused by ${ev.failed.join(', ')}` : ''}`);
      }
    };
    const disconnected = Object.keys(this.controller.topology.nodes).filter((n) => this.controller.sessions.get(n)?.state !== 'ready');
    if (disconnected.length > 0) this.mark(m, 'skipped (switch not connected)', `${disconnected.join(', ')}: reconciled when ${disconnected.length === 1 ? 'it connects' : 'they connect'}`);
    this.controller.on('event', onEvent);
    try {
      await (plan ? this.controller.requestPreparedMove(reason, plan) : this.controller.requestSync(reason, { towards }));
    } finally {
      this.controller.off('event', onEvent);
    }
    return failures;
  }

  private onControllerEvent(e: ControllerEvent): void {
    if (e.type === 'flows-applied') {
      for (const m of this.migrations.values()) {
        if (m.state === 'committing' || m.state === 'prepared') this.mark(m, 'barrier confirmed', `${String(e.switch)} (${String(e.stage)}, ${String(e.flowMods)} messages, ${String(e.elapsedMs)} ms)`);
      }
    } else if (e.type === 'port-change') {
      const ev = e as { switch: string; reason: string; port: { portNo: number; name: string; up: boolean } };
      for (const m of this.migrations.values()) {
        // The old port going down or away: the old host takes no more frames.
        if (m.state === 'prepared' && ev.switch === m.from.node && ev.port.portNo === m.from.ofport && (ev.reason === 'DELETE' || !ev.port.up)) {
          // In the timeline once: from then on a report from the old edge is no delivery (see
          // onHeldFrame), so when it came tells which reports counted.
          const gone = ev.reason === 'DELETE';
          const what = gone ? 'old port gone' : 'old port down';
          if (!m.timeline.some((e) => e.event === what)) this.mark(m, what, `ofport ${ev.port.portNo} on ${ev.switch}`);
          if (!m.freeze) void this.freeze(m.id, gone ? 'old-port-gone' : 'old-port-down').catch(() => {});
        }
        // Every port change makes the flip's plan stale (its fabric may differ): planned again
        // after the sync this change queues, so that the commit still only sends. Noted at once:
        // a commit arriving before the sync is queued waits for this plan, not the stale one.
        const planAgain = () => {
          const run = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.precompute(m));
          this.planning.set(m.id, run);
          void run.finally(() => {
            if (this.planning.get(m.id) === run) this.planning.delete(m.id);
          });
        };
        if (m.state === 'prepared' && ev.switch === m.from.node && ev.port.portNo === m.from.ofport) planAgain();
        if (m.state !== 'prepared' || m.to.node !== ev.switch) continue;
        // Asked for by number: the first port with that number names it.
        if (m.to.port === null && m.to.ofport === ev.port.portNo && ev.reason !== 'DELETE') {
          m.to.port = ev.port.name;
          this.controller.noteExtraChanged(m.id);
        }
        if (m.to.port !== ev.port.name) continue;
        if (ev.reason === 'DELETE') {
          m.to.ofport = null;
          this.mark(m, 'port gone', `ofport ${ev.port.portNo}`);
        } else if (m.to.ofport !== ev.port.portNo) {
          m.to.ofport = ev.port.portNo;
          this.mark(m, 'port seen', `ofport ${ev.port.portNo}`);
          this.emit(m, 'migration-port-seen');
        }
        if (ev.reason !== 'DELETE') planAgain();
        // The controller syncs on every port change; our migration list must be current first.
        this.activate();
        // Replayed once the port is up: a port added with its link down (the container's end of
        // the veth not configured yet) would drop them.
        if (m.to.ofport !== null && ev.port.up && ev.reason !== 'DELETE' && this.holds.get(m.id)?.phase === 'holding') void this.releaseHold(m);
      }
    }
  }

  private onFrame(f: { node: string; ofport: number; mac: string; portName?: string }): void {
    for (const m of this.migrations.values()) {
      if (m.state !== 'prepared' || m.mac !== f.mac.toLowerCase() || m.to.node !== f.node) continue;
      if (m.to.ofport !== f.ofport && m.to.port !== f.portName) continue;
      if (m.to.ofport === null) {
        m.to.ofport = f.ofport;
        this.controller.noteExtraChanged(m.id);
      }
      void this.commit(m.id, 'first-frame').catch((err: Error) => this.controller.emit('event', { type: 'migration-failed', id: m.id, error: err.message }));
      return;
    }
  }

  /** A frame a hold flow sent: queued behind the others, or (hold released) sent on at once. */
  private onHeldFrame(node: string, frame: Uint8Array): void {
    const mac = frame.length >= 14 ? Buffer.from(frame.subarray(0, 6)).toString('hex').replace(/(..)(?!$)/g, '$1:') : '';
    for (const [id, h] of this.holds) {
      const m = this.migrations.get(id);
      if (!m || m.mac !== mac || !m.freeze) continue;
      // Its freeze counters change below (saved with the next save, as every change of a row).
      this.controller.noteExtraChanged(m.id);
      if (m.from.node === node && m.to.node !== node) {
        // Once the switch has said the old port is down or gone, a report is no delivery: a
        // datapath flow not yet revalidated still reported the frame, but its copy to the port
        // went nowhere (the orchestrator cut it off). Its held twin is replayed, not lost.
        if (this.portUp(m.from.node, m.from.ofport)) this.noteTaken(m, h, frame);
        return;
      }
      if (m.to.node !== node) continue;
      if (h.phase === 'draining' || h.phase === 'releasing') {
        if (h.phase === 'releasing') m.freeze.behindRelease = (m.freeze.behindRelease ?? 0) + 1;
        if (h.holdFlowGone) m.freeze.afterRelease = (m.freeze.afterRelease ?? 0) + 1;
        this.forwardHeld(m, h, frame);
        return;
      }
      if (h.phase === 'released') {
        // A packet-in that was in flight while the hold flow went away, or one the hold flow
        // sent until the flip's last stage removed it: sent on at once like those of the
        // release, in order.
        m.freeze.afterRelease = (m.freeze.afterRelease ?? 0) + 1;
        m.freeze.behindRelease = (m.freeze.behindRelease ?? 0) + 1;
        if (m.state === 'prepared' || m.state === 'committing' || m.state === 'committed') {
          this.forwardHeld(m, h, frame);
        } else {
          m.freeze.held++;
          m.freeze.heldBytes += frame.length;
          this.dropHeld(m, h, 1);
        }
        return;
      }
      const key = transportFlowKey(frame);
      if (h.phase === 'replaying' && !h.queue.holdsFlow(key)) {
        // Of a conversation with nothing queued (a new connection, an ARP): nothing of its own
        // to wait for, so it does not wait behind the others' backlog either. A fresh connection
        // to the container is answered as soon as it runs, not once every held stream is out.
        m.freeze.passed = (m.freeze.passed ?? 0) + 1;
        this.forwardHeld(m, h, frame);
        return;
      }
      if (h.queue.push(frame, key)) {
        m.freeze.held++;
        m.freeze.heldBytes += frame.length;
        this.metrics?.heldBytesNow.set(this.holdBudget.bytes);
      } else {
        m.freeze.dropped = h.queue.dropped;
        this.metrics?.holdDropped.inc();
      }
      return;
    }
    this.metrics?.holdDropped.inc(); // no hold for it (any more)
  }

  /** Replays the held frames at the new port, then removes the hold flow; idempotent. */
  private releaseHold(m: Migration): Promise<void> {
    const h = this.holds.get(m.id);
    if (!h || h.phase === 'released') return Promise.resolve();
    h.drained ??= new Promise<void>((resolve) => {
      h.replayDrained = resolve;
    });
    h.flipAtNewEdge ??= new Promise<void>((resolve) => {
      h.flipReachedNewEdge = resolve;
    });
    h.release ??= this.replay(m, h).catch((err: Error) => {
      h.phase = 'released';
      h.replayDrained?.();
      this.mark(m, 'replay failed', err.message);
    });
    return h.release;
  }

  private async replay(m: Migration, h: Hold): Promise<void> {
    h.phase = 'replaying';
    this.mark(m, 'replay started', `${h.queue.length} frames held`);
    // As soon as the port is up (a PACKET_OUT needs no flow; waiting for a sync first only kept
    // the new port idle), in bursts: each burst's barrier reply before the next, so that the
    // container's sockets get the backlog at the pace the switch hands it over rather than all at
    // once (a UDP socket overflowed by a whole freeze drops the rest). Also once a commit waits
    // for it: the container runs then, but the rest of a backlog written at once overflowed its
    // socket more often than paced (bench: 7-32% of held frames vs 0-11%). What the hold flow
    // sends meanwhile joins the queue behind. Paced by barriers alone (no port counters), only
    // the backlog of the freeze is paced: the last burst takes what came meanwhile too, and later
    // frames go out as they come (a stream faster than the pace would otherwise keep the replay,
    // and the commit waiting for it, going forever).
    // The last burst's barrier is awaited by the drain below, before the hold flow goes.
    const burst = this.holdBudget.limits.replayBurst || Infinity;
    // Paced by the receiver when the switch counts the new port's packets (see ReplayClock): the
    // barrier pace still overflowed a resumed but descheduled service (bench: RcvbufErrors, UDP
    // datagrams of the freeze lost). What arrives meanwhile is paced too, the replay ending once
    // the queue fits the window: a stream the container does not keep up with fills the hold's
    // caps (counted drops) instead of its sockets, and the migration's timeout bounds the wait.
    const { replayWindow, replayIdleMs } = this.holdBudget.limits;
    // A backlog of one burst or less needs no pace: no counters read first (a round trip before
    // the release, which would also outdate the flip's plan made at the port's arrival).
    const clock = replayWindow > 0 && h.queue.length > burst ? await ReplayClock.start(this.portCounters(m), replayWindow, replayIdleMs) : null;
    if (h.phase !== 'replaying') {
      h.replayDrained?.();
      return;
    }
    let backlog = h.queue.length;
    // With the clock, frames arriving during the replay are paced too, but at most as many again
    // as the freeze's backlog: an endless stream kept the replay, and the commit waiting for it,
    // going for tens of seconds (bench: 30,000 frames held); then the last burst takes the rest.
    let pacedLeft = 2 * backlog;
    let replayed: Promise<number>;
    let counters: Promise<PortPackets | null> | undefined;
    for (;;) {
      let max: number;
      if (clock) {
        const room = await clock.room(() => this.portCounters(m), () => h.phase !== 'replaying', counters);
        if (h.phase !== 'replaying') {
          h.replayDrained?.();
          return;
        }
        // The window whole (the barrier pace is the clock's read now); the last burst (only
        // written) takes the rest once it fits, or once the pacing has done its share.
        max = h.queue.length <= room || pacedLeft <= 0 ? Infinity : room;
      } else {
        max = backlog > burst ? burst : Infinity;
      }
      const frames = h.queue.take(max);
      backlog -= frames.length;
      pacedLeft -= frames.length;
      replayed = this.sendHeld(m, h, frames);
      if (h.queue.length === 0) break;
      // Asked right behind the burst: the switch answers it once the burst is out, in the same
      // round trip as the burst's barrier.
      if (clock) counters = this.portCounters(m);
      const n = await replayed;
      if (h.phase !== 'replaying') {
        // Aborted meanwhile: its queue was discarded.
        h.replayDrained?.();
        return;
      }
      if (n < 0) {
        // Refused or the switch went away: the rest cannot go out in order either.
        this.dropHeld(m, h, h.queue.discard(), true);
        break;
      }
    }
    // From now on a frame the hold flow sends arrived after every replayed one: it goes out
    // behind them at once (see onHeldFrame), never waiting for the release to finish.
    h.phase = 'draining';
    const drainFrom = performance.now();
    const rounds = await this.drain(h, replayed);
    if (h.phase !== 'draining') {
      // Aborted meanwhile.
      h.replayDrained?.();
      return;
    }
    const drainMs = Math.round((performance.now() - drainFrom) * 1000) / 1000;
    h.phase = 'releasing';
    this.activate();
    h.replayDrained?.();
    // The backlog is out: from now on the network delivers at the new port without us, before
    // and whether or not a commit follows. The release turns the hold flow into the copy flow's
    // local delivery (the old edge stays sealed); a commit already waiting does the same with
    // its flip, whose first stage is the new edge.
    // Until then frames the hold flow sends go out behind the replay as they come; those it
    // sends after are counted (afterRelease): in flight while it went, each may arrive behind a
    // frame the switch delivered directly (reordered by at most the packet-ins in flight).
    const gone = () => {
      h.holdFlowGone = true;
    };
    if (h.commitPending) await h.flipAtNewEdge!.then(gone);
    else if (m.state === 'prepared') await this.syncCollectingFailures(m, `release the hold of ${m.container}`, m.to.node).then(gone);
    await h.forwarding;
    h.phase = 'released';
    this.firstAtNew(m, 'hold released, nothing was held: frames reach the new port directly');
    this.metrics?.heldFrames.observe(h.queue.held);
    this.mark(m, 'replayed', `${h.replayed} held frames replayed in arrival order, ${h.queue.dropped} dropped; the switch had sent them ${drainMs} ms after the last burst (${rounds} round trips)${h.commitPending ? '; the hold flow goes with the flip' : h.holdFlowGone ? '; hold flow released' : ''}`);
    this.emit(m, 'migration-replayed');
  }

  /**
   * Waits until the switch has sent the replay's last burst and the frames the hold flow sent
   * meanwhile, as far as a few barrier round trips go; returns how many it took.
   *
   * Why: direct delivery begins when the switch's datapath stops using the hold flow, shortly
   * after the flow_mod that removes it. Every held frame the switch has not sent by then is
   * overtaken by those it delivers directly. Frames we wrote before that flow_mod are sent
   * before it (one connection, in order), but a switch still working through a backlog of
   * PACKET_OUTs keeps sending new frames to us meanwhile, and those can only go out behind the
   * flow_mod (bench: 20-30 reordered per migration whose flip followed a burst of hundreds of
   * frames). Removed once the backlog is gone, the frames at risk are those of one round trip.
   */
  private async drain(h: Hold, last: Promise<number>): Promise<number> {
    await last;
    let rounds = 1;
    while (rounds < DRAIN_ROUNDS && h.phase === 'draining') {
      const forwarding = h.forwarding;
      if (!forwarding) break;
      await forwarding;
      rounds++;
      // Nothing came meanwhile: the switch holds nothing of ours.
      if (h.forwarding === forwarding) break;
    }
    return rounds;
  }

  /**
   * A frame the hold flow sent after the replay was written: sent on at once, behind everything
   * written before. Not batched to a later turn of the event loop: the drain's last round trip
   * can end in the same read that brought the frame, and the flip (or the release's sync) then
   * writes the hold flow's removal before that turn; the switch delivered the next frames
   * directly, ahead of it (reordered on real OVS, and not counted as at risk).
   */
  private forwardHeld(m: Migration, h: Hold, frame: Uint8Array): void {
    this.controller.noteExtraChanged(m.id);
    const copy = h.queue.pass(frame);
    if (!copy) {
      if (m.freeze) m.freeze.dropped = h.queue.dropped;
      this.metrics?.holdDropped.inc();
      return;
    }
    if (m.freeze) {
      m.freeze.held++;
      m.freeze.heldBytes += frame.length;
    }
    // Written now, synchronously (sendHeld writes before its first await).
    const sent = this.sendHeld(m, h, [copy]).then(() => {}, () => {});
    h.forwarding = h.forwarding ? Promise.all([h.forwarding, sent]).then(() => {}) : sent;
  }

  /** The new port's packet counters, or null when the switch does not give them (soon enough). */
  private async portCounters(m: Migration): Promise<PortPackets | null> {
    const session = this.controller.sessions.get(m.to.node);
    const ofport = m.to.ofport;
    if (!session || session.state !== 'ready' || ofport === null) return null;
    try {
      for (const body of await session.multipart({ kind: 'PORT_STATS', portNo: ofport }, PORT_STATS_TIMEOUT_MS)) {
        if (body.kind !== 'PORT_STATS') continue;
        const p = body.ports.find((x) => x.portNo === ofport);
        // All-ones: a counter the switch does not keep.
        if (p && p.txPackets !== UNSUPPORTED_COUNTER && p.rxPackets !== UNSUPPORTED_COUNTER) return { tx: p.txPackets, rx: p.rxPackets };
      }
    } catch {
      // No counters: the replay falls back to barrier pacing.
    }
    return null;
  }

  /**
   * Sends frames to the new port in order, confirmed by a barrier; returns how many, or -1 when
   * the switch could not take them (gone or refused: counted as dropped).
   */
  private async sendHeld(m: Migration, h: Hold, held: Buffer[]): Promise<number> {
    this.metrics?.heldBytesNow.set(this.holdBudget.bytes);
    const frames = this.notTaken(m, h, held);
    if (frames.length === 0) return 0;
    const session = this.controller.sessions.get(m.to.node);
    const ofport = m.to.ofport;
    if (!session || session.state !== 'ready' || ofport === null) {
      this.dropHeld(m, h, frames.length);
      return -1;
    }
    this.firstAtNew(m, `replay of ${frames.length} held frames`);
    const outs: Message[] = frames.map((data) => ({
      type: 'PACKET_OUT', xid: 0, bufferId: 0xffffffff, inPort: Port.CONTROLLER, actions: [{ type: 'OUTPUT', port: ofport, maxLen: 0 }], data,
    }));
    try {
      await session.applyBatch(outs);
    } catch (err) {
      this.dropHeld(m, h, frames.length);
      this.mark(m, 'replay refused', (err as Error).message);
      return -1;
    }
    h.replayed += frames.length;
    if (m.freeze) m.freeze.replayed = h.replayed;
    this.controller.noteExtraChanged(m.id);
    this.metrics?.replayedFrames.inc(frames.length);
    return frames.length;
  }

  /**
   * A frame the old edge reported delivering (seal 'report'), kept to be matched, within the
   * per-migration frame cap. Also after the seal: a report the datapath's cache made from the
   * removed report flow was a real delivery too.
   */
  private noteTaken(m: Migration, h: Hold, frame: Uint8Array): void {
    if (h.takenFrames >= this.holdBudget.limits.maxFrames) return;
    const key = frameKey(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    h.taken.set(key, (h.taken.get(key) ?? 0) + 1);
    h.takenFrames++;
    if (m.freeze) m.freeze.reportedAtOld = (m.freeze.reportedAtOld ?? 0) + 1;
    this.controller.noteExtraChanged(m.id);
    h.onReport?.();
  }

  /** `frames` less those the old host took (each report cancels one equal held frame). */
  private notTaken(m: Migration, h: Hold, frames: Buffer[]): Buffer[] {
    if (h.taken.size === 0) return frames;
    const out: Buffer[] = [];
    for (const f of frames) {
      const key = frameKey(f);
      const n = h.taken.get(key);
      if (n === undefined) {
        out.push(f);
        continue;
      }
      if (n === 1) h.taken.delete(key);
      else h.taken.set(key, n - 1);
      if (m.freeze) m.freeze.takenAtOld = (m.freeze.takenAtOld ?? 0) + 1;
      this.controller.noteExtraChanged(m.id);
    }
    return out;
  }

  /** `n` frames lost; `counted`: the queue counted them already (discard). */
  private dropHeld(m: Migration, h: Hold, n: number, counted = false): void {
    if (n === 0) return;
    if (!counted) h.queue.dropped += n;
    if (m.freeze) m.freeze.dropped = h.queue.dropped;
    this.controller.noteExtraChanged(m.id);
    this.metrics?.holdDropped.inc(n);
    this.metrics?.heldBytesNow.set(this.holdBudget.bytes);
  }

  private firstAtNew(m: Migration, detail: string): void {
    const h = this.holds.get(m.id);
    if (!m.freeze || m.freeze.firstAtNew !== null || !h) return;
    m.freeze.firstAtNew = new Date().toISOString();
    m.freeze.refractoryMs = Math.round((performance.now() - h.frozenAt) * 1000) / 1000;
    this.metrics?.refractory.observe(m.freeze.refractoryMs / 1000);
    this.mark(m, 'first frame at the new port', detail);
  }

  private portNumber(node: string, name: string): number | undefined {
    const s = this.controller.sessions.get(node);
    for (const p of s?.ports.values() ?? []) if (p.name === name) return p.portNo;
    return undefined;
  }

  /** The port is there and can carry frames: not administratively down (OFPPC_PORT_DOWN), link up (no OFPPS_LINK_DOWN). */
  private portUp(node: string, ofport: number): boolean {
    const p = this.controller.sessions.get(node)?.ports.get(ofport);
    return p !== undefined && (p.config & OFPPC_PORT_DOWN) === 0 && (p.state & OFPPS_LINK_DOWN) === 0;
  }

  private portName(node: string, ofport: number): string | undefined {
    return this.controller.sessions.get(node)?.ports.get(ofport)?.name;
  }

  /** The fields of every migration log line. */
  private fields(m: Migration, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      migration: m.id, container: m.container, from: `${m.from.node}:${m.from.port ?? m.from.ofport}`,
      to: `${m.to.node}:${m.to.port ?? m.to.ofport ?? '?'}`, state: m.state, ...extra,
    };
  }

  /** A timeline entry, and its log line: per-switch barrier confirmations at debug (stages are logged whole). */
  private mark(m: Migration, event: string, detail?: string): void {
    const created = this.created.get(m.id) ?? Date.parse(m.createdAt);
    const entry = { event, at: new Date().toISOString(), t: Math.round((Date.now() - created) * 1000) / 1000, ...(detail ? { detail } : {}) };
    m.timeline.push(entry);
    this.controller.noteExtraChanged(m.id);
    // Each step on the event stream as it happens: the dashboard and the CLI draw the timeline from these.
    this.controller.emit('event', { type: 'migration-step', id: m.id, container: m.container, state: m.state, ...entry });
    const t = entry.t;
    const fields = this.fields(m, { event, t, ...(m.committedBy ? { committedBy: m.committedBy } : {}), ...(m.flipLatencyMs !== null ? { flipLatencyMs: m.flipLatencyMs } : {}) });
    const text = `migration of ${m.container} ${fields.from as string} → ${fields.to as string}: ${event}${detail ? ` (${detail})` : ''}`;
    if (event === 'barrier confirmed') this.log.debug(fields, text);
    else if (event === 'failed') this.log.error(fields, text);
    else this.log.info(fields, text);
  }

  private emit(m: Migration, type: string): void {
    this.controller.emit('event', { type, id: m.id, container: m.container, state: m.state, from: m.from, to: m.to, flipLatencyMs: m.flipLatencyMs, freeze: m.freeze });
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
    const h = this.holds.get(m.id);
    if (h) {
      // Committed: frames still waiting for their batch (forwardHeld) belong at the new port,
      // written now behind everything before them. Otherwise nobody is there to take them.
      if (m.state === 'committed' && h.queue.length > 0) void this.sendHeld(m, h, h.queue.take());
      else this.dropHeld(m, h, h.queue.discard(), true);
      this.holds.delete(m.id);
    }
    void this.controller.saveState();
    const done = this.list().filter((x) => x.state !== 'prepared' && x.state !== 'committing');
    for (const old of done.slice(0, Math.max(0, done.length - this.options.keepFinished))) {
      this.migrations.delete(old.id);
      this.controller.noteExtraChanged(old.id);
    }
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
      // A commit interrupted by a restart is finished by the reconcile: its new location was stored with it.
      const m: Migration = { ...raw, state: raw.state === 'committing' ? 'committed' : raw.state, freeze: raw.freeze ?? null };
      this.migrations.set(m.id, m);
      this.controller.noteExtraChanged(m.id);
      this.created.set(m.id, Date.parse(m.createdAt));
      if (raw.state === 'committing') this.mark(m, 'committed', 'the flip was interrupted by a controller restart: finished by the reconcile towards the new location, stored as committing');
      if (m.state === 'prepared') {
        if (why) this.mark(m, why);
        this.armTimeout(m);
      }
    }
    this.activate();
    if (this.controller.migrations.length > 0) void this.controller.requestSync('prepared migrations restored from the state file');
  }
}
