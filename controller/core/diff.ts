/**
 * Desired vs installed: the minimal set of changes that turns one switch's installed state
 * into its desired state, and the OpenFlow messages that carry them. No I/O.
 */
import { Group, Port } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';
import { isOurCookie } from './cookies.js';
import { canonicalKey, flowKey, flowMacsOf, instructionsKey, lowerMac, macOf, matchKey, sameData, sameInstructions, type FlowSpec, type GroupSpec, type MeterSpec, type SwitchState } from './flows.js';
import type { Match } from '../../src/openflow/types/index.js';
import { decodeRawFlowStats, type RawFlowStats } from '../../src/openflow/decode/flow-stats-raw.js';
import { writeMatch } from '../../src/openflow/encode/match.js';
import { writeInstructions } from '../../src/openflow/encode/actions.js';
import { BufferWriter } from '../../src/openflow/writer.js';

/** DELETE_STRICT with the exact cookie: never removes a flow some other rule (or tool) owns. */
const ALL_COOKIE_BITS = 0xffff_ffff_ffff_ffffn;
/**
 * OFPFF_RESET_COUNTS: an ADD that replaces a flow (the flip gives it new actions) would keep
 * the old counters (OF 1.3 §6.4), crediting the new path with the old one's packets. A new
 * flow starts at zero anyway, so every ADD carries it.
 */
export const OFPFF_RESET_COUNTS = 1 << 2;
/** OFPFF_SEND_FLOW_REM: the switch reports the flow's removal (idle timeout of an on-demand entry). */
export const OFPFF_SEND_FLOW_REM = 1 << 0;

export interface SwitchDiff {
  /** Flows to add or replace (an ADD with the same table/priority/match replaces atomically). */
  flowsToAdd: FlowSpec[];
  /** Installed flows of ours that no rule wants any more. */
  flowsToDelete: FlowSpec[];
  groupsToAdd: GroupSpec[];
  groupsToModify: GroupSpec[];
  groupsToDelete: GroupSpec[];
  metersToAdd: MeterSpec[];
  metersToModify: MeterSpec[];
  metersToDelete: MeterSpec[];
}

export function emptyDiff(): SwitchDiff {
  return {
    flowsToAdd: [], flowsToDelete: [], groupsToAdd: [], groupsToModify: [], groupsToDelete: [],
    metersToAdd: [], metersToModify: [], metersToDelete: [],
  };
}

export function isEmptyDiff(d: SwitchDiff): boolean {
  return d.flowsToAdd.length + d.flowsToDelete.length + d.groupsToAdd.length + d.groupsToModify.length +
    d.groupsToDelete.length + d.metersToAdd.length + d.metersToModify.length + d.metersToDelete.length === 0;
}

/**
 * What a switch holds, indexed: our flows by flowKey, groups and meters by id. The controller
 * keeps one per switch and updates it in place as changes are confirmed. The flows of one MAC
 * (an unmasked eth_dst or eth_src in their match: a container's known source, deliveries, ingress
 * and relabel entries) are not in `flows` but in `macs`, shared by every switch of the controller
 * (a run per MAC instead of a map entry and a key string per switch and flow: there are about
 * eleven per container): use installedFlow, countInstalled and allInstalled to see them too.
 */
export interface InstalledState {
  flows: Map<string, FlowSpec>;
  groups: Map<number, GroupSpec>;
  meters: Map<number, MeterSpec>;
  /** The switch's name in `macs`. */
  bridge: string;
  macs: MacFlows;
  /**
   * Just read back (indexInstalled): its MAC flows as the switch reported them, not yet entered
   * among every switch's runs. The diff that follows compares against them by MAC and enters the
   * desired object for each equal one: a restart enters each of a million flows once, instead of
   * the one read and then the desired one in its place. Any other use enters them as read
   * (settleReadBack).
   */
  readBack?: ReadBack;
}

type Run = (string | FlowSpec)[];

/**
 * What the switches hold of each MAC's flows, by MAC: a flat run per MAC of flows each followed
 * by the switches that hold it, e.g. [source, h1, local, h1, entry, h2, h3, h4]. The switches that
 * hold a MAC's ingress entry mostly hold the same flow object (the forwarding code shares it),
 * so a container costs about a pointer per switch and flow. Within a switch a flow is identified
 * as OpenFlow does, by table, priority and match.
 *
 * Runs change in place (elements shifted, push): a copy per insert left a dead run in the old generation
 * for every switch added during start-up (memory V8 keeps after collecting it) and made a MAC on
 * n switches cost n² to build. Growth leaves spare room in a run; compact() trims the runs grown
 * since the last call to their exact length (after a sync, when they have stopped growing).
 */
export class MacFlows {
  private readonly byMac = new Map<string, Run>();
  private readonly counts = new Map<string, number>();
  /** MACs whose run grew in place (may have spare room) since the last compact(). */
  private readonly grown = new Set<string>();
  /** Every run may have grown since the last compact() (grown is then not kept). */
  private allGrown = false;

  /** How many MAC flows `bridge` holds. */
  countOn(bridge: string): number {
    return this.counts.get(bridge) ?? 0;
  }

  /** The flow `bridge` holds with the identity of `flow`, whose MAC is `mac`. */
  get(bridge: string, mac: string, flow: Identity): FlowSpec | undefined {
    const run = this.byMac.get(mac);
    const at = run === undefined ? -1 : find(run, bridge, flow);
    return at < 0 ? undefined : run![ownerAt(run!, at)] as FlowSpec;
  }

  set(bridge: string, mac: string, flow: FlowSpec): void {
    const run = this.byMac.get(mac);
    if (!run) {
      // A literal of two: exactly that long, as most runs of one switch stay.
      this.byMac.set(mac, [flow, bridge]);
      this.counts.set(bridge, this.countOn(bridge) + 1);
      return;
    }
    const was = find(run, bridge, flow);
    const length = run.length;
    if (was >= 0) {
      const owner = ownerAt(run, was);
      if (run[owner] === flow) return;
      // Held by this switch alone (an edge flow; a read-back one): the new object takes its place.
      // A recomputation replaces each of a switch's edge flows so (they are not cached): no shift,
      // and no copy of the run by compact().
      if (owner === was - 1 && (was + 1 === run.length || typeof run[was + 1] !== 'string') && !run.includes(flow)) {
        run[owner] = flow;
        return;
      }
      removeAt(run, was);
    }
    const at = run.indexOf(flow);
    if (at < 0) run.push(flow, bridge);
    else insertAt(run, at + 1, bridge);
    // Only a run that grew may have spare room for compact() to trim (a shared flow taken in place
    // of an equal one: one out, one in, the same length).
    if (run.length > length && !this.allGrown) this.grown.add(mac);
    if (was < 0) this.counts.set(bridge, this.countOn(bridge) + 1);
  }

  /**
   * Records that `bridge` holds the `flows` (with their MACs) and no other MAC flow: a switch
   * read back, forgotten just before. No search for what it held; one count.
   */
  addHeld(bridge: string, flows: readonly FlowSpec[], macsOf: readonly string[]): void {
    for (let i = 0; i < flows.length; i++) {
      const flow = flows[i]!;
      const mac = macsOf[i]!;
      const run = this.byMac.get(mac);
      if (!run) {
        this.byMac.set(mac, [flow, bridge]);
        continue;
      }
      // The same object may be held by others (an indexed desired state shares its flows).
      const at = run.indexOf(flow);
      if (at < 0) run.push(flow, bridge);
      else insertAt(run, at + 1, bridge);
      if (!this.allGrown) this.grown.add(mac);
    }
    // Most runs grown (a restart enters every switch's flows): compact() trims them all, and
    // noting each one (a set of 100k MACs, a million adds) costs more than that.
    if (!this.allGrown && this.grown.size * 2 > this.byMac.size) {
      this.allGrown = true;
      this.grown.clear();
    }
    if (flows.length > 0) this.counts.set(bridge, this.countOn(bridge) + flows.length);
  }

  delete(bridge: string, mac: string, flow: Identity): boolean {
    const run = this.byMac.get(mac);
    const was = run === undefined ? -1 : find(run, bridge, flow);
    if (was < 0) return false;
    removeAt(run!, was);
    if (run!.length === 0) {
      this.byMac.delete(mac);
      this.grown.delete(mac);
    }
    this.counts.set(bridge, this.countOn(bridge) - 1);
    return true;
  }

  /** The MAC flows of `bridge`: a pass over every MAC (a full diff that must delete some, a dump). */
  *on(bridge: string): IterableIterator<FlowSpec> {
    if (this.countOn(bridge) === 0) return;
    for (const run of this.byMac.values()) {
      let flow: FlowSpec | undefined;
      for (const x of run) {
        if (typeof x !== 'string') flow = x;
        else if (x === bridge) yield flow!;
      }
    }
  }

  /** Forgets what `bridges` hold (their installed state is unknown or read back anew): one pass over every MAC. */
  forget(bridges: ReadonlySet<string>): void {
    const held = [...bridges].filter((b) => this.countOn(b) > 0);
    if (held.length === 0) return;
    const gone = new Set(held);
    for (const [mac, run] of this.byMac) {
      if (!run.some((x) => typeof x === 'string' && gone.has(x))) continue;
      keepOnly(run, (x) => !gone.has(x));
      if (run.length === 0) {
        this.byMac.delete(mac);
        this.grown.delete(mac);
      }
    }
    for (const b of held) this.counts.delete(b);
  }

  /** Trims the runs grown since the last call to their exact length (a copy each: V8 keeps an array's spare room). */
  compact(): void {
    if (this.allGrown) {
      for (const [mac, run] of this.byMac) this.byMac.set(mac, run.slice());
      this.allGrown = false;
    } else {
      for (const mac of this.grown) {
        const run = this.byMac.get(mac);
        if (run !== undefined) this.byMac.set(mac, run.slice());
      }
    }
    this.grown.clear();
  }
}

type Identity = { tableId: number; priority: number; match: Match };

/** The index in `run` of `bridge` holding a flow with the identity of `flow`, or -1. */
function find(run: Run, bridge: string, flow: Identity): number {
  // The switch first, the flow's identity only where it holds one: a MAC's run lists many
  // switches (its ingress entries) and a switch holds few of its flows.
  let owner = -1;
  for (let i = 0; i < run.length; i++) {
    const x = run[i]!;
    if (typeof x !== 'string') owner = i;
    else if (x === bridge && sameIdentity(run[owner] as FlowSpec, flow)) return i;
  }
  return -1;
}

/** The index of the flow that the switch at `at` in `run` holds. */
function ownerAt(run: Run, at: number): number {
  let i = at;
  while (typeof run[i] === 'string') i--;
  return i;
}

/** Removes the switch at `at` from `run` in place, and its flow too if no other switch holds it. */
function removeAt(run: Run, at: number): void {
  const flowAt = ownerAt(run, at);
  const alone = flowAt === at - 1 && (at + 1 === run.length || typeof run[at + 1] !== 'string');
  const from = alone ? flowAt : at;
  const n = alone ? 2 : 1;
  // By hand, not splice: splice makes an array of what it removed on every call.
  for (let i = from; i + n < run.length; i++) run[i] = run[i + n]!;
  run.length -= n;
}

/** Inserts `bridge` at `at` in `run`, in place (push grows the room: amortised). */
function insertAt(run: Run, at: number, bridge: string): void {
  run.push(bridge);
  for (let i = run.length - 1; i > at; i--) run[i] = run[i - 1]!;
  run[at] = bridge;
}

/** Keeps in `run`, in place, the switches `keep` accepts and the flows some kept switch holds. */
function keepOnly(run: Run, keep: (bridge: string) => boolean): void {
  let n = 0;
  let flowAt = -1;
  for (let i = 0; i < run.length; i++) {
    const x = run[i]!;
    if (typeof x !== 'string') {
      flowAt = i;
      continue;
    }
    if (!keep(x)) continue;
    // The flow goes in before its first kept switch.
    if (flowAt >= 0) {
      run[n++] = run[flowAt]!;
      flowAt = -1;
    }
    run[n++] = x;
  }
  run.length = n;
}

/** Same table, priority and match (fields in any order, MACs in any case). */
function sameIdentity(a: Identity, b: Identity): boolean {
  if (a.tableId !== b.tableId || a.priority !== b.priority) return false;
  if (a.match === b.match) return true;
  const fa = a.match.fields;
  const fb = b.match.fields;
  if (fa.length !== fb.length) return false;
  return fa.every((x) => fb.some((y) => sameField(x, y)));
}

function sameField(x: Match['fields'][number], y: Match['fields'][number]): boolean {
  if (x === y) return true;
  if (x.field !== y.field) return false;
  if (x.field === 'opaque' || y.field === 'opaque') return matchKey({ fields: [x] }) === matchKey({ fields: [y] });
  return sameValue(x.value, y.value) && (x.mask === undefined ? y.mask === undefined : y.mask !== undefined && sameValue(x.mask, y.mask));
}

function sameValue(a: number | bigint | string, b: number | bigint | string): boolean {
  return a === b || (typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase());
}

/**
 * A flow as read back: decoded, or (read raw: see flow-stats-raw.ts) its match and instructions
 * as the switch sent them, decoded only if it differs from every flow we want there.
 */
export type ReadFlow = FlowSpec | RawFlowStats;

function isRaw(f: ReadFlow): f is RawFlowStats {
  return (f as RawFlowStats).frame !== undefined;
}

/**
 * A raw flow decoded, as a FlowSpec; undefined if its TLVs do not decode (structure was checked
 * when read: an unknown instruction or action, say). Such a flow is left out of the model: a
 * desired flow of its identity is added over it; one no rule wants stays until an audit.
 */
function decodeRead(f: ReadFlow): FlowSpec | undefined {
  if (!isRaw(f)) return f;
  readFlowsDecoded.count++;
  try {
    return readFlowSpec(f);
  } catch {
    return undefined;
  }
}

/** A flow read raw, decoded as the FlowSpec we would have sent for it; throws if its TLVs do not decode. */
export function readFlowSpec(raw: RawFlowStats): FlowSpec {
  const d = decodeRawFlowStats(raw);
  const spec: FlowSpec = { tableId: d.tableId, priority: d.priority, match: d.match, instructions: d.instructions, cookie: d.cookie };
  if (d.idleTimeout !== 0) spec.idleTimeout = d.idleTimeout;
  return spec;
}

/** How many flows read raw were decoded (not equal as bytes to a desired one): for tests and profiles. */
export const readFlowsDecoded = { count: 0 };

/** A switch's MAC flows as read back, by MAC, and how many. */
interface ReadBack {
  byMac: Map<string, ReadFlow[]>;
  count: number;
}

/** Enters what was read back among the runs, as read (a use of the state other than its diff). */
function settleReadBack(installed: InstalledState): void {
  const r = installed.readBack;
  if (r === undefined) return;
  installed.readBack = undefined;
  const flows: FlowSpec[] = [];
  const macs: string[] = [];
  for (const [mac, list] of r.byMac) {
    for (const g of list) {
      const f = decodeRead(g);
      if (f === undefined) continue;
      flows.push(f);
      macs.push(mac);
    }
  }
  installed.macs.addHeld(installed.bridge, flows, macs);
}

/** The flow the switch holds with the identity (table, priority, match) of `flow`. */
export function installedFlow(installed: InstalledState, flow: Identity): FlowSpec | undefined {
  settleReadBack(installed);
  const mac = macOf(flow);
  return mac === undefined ? installed.flows.get(flowKey(flow)) : installed.macs.get(installed.bridge, mac, flow);
}

/** Records that the switch holds `flow` (replacing the one with its identity). */
export function setInstalled(installed: InstalledState, flow: FlowSpec): void {
  settleReadBack(installed);
  const mac = macOf(flow);
  if (mac === undefined) installed.flows.set(flowKey(flow), flow);
  else installed.macs.set(installed.bridge, mac, flow);
}

/** Records that the switch holds no flow with the identity of `flow` any more. */
export function deleteInstalled(installed: InstalledState, flow: Identity): void {
  settleReadBack(installed);
  const mac = macOf(flow);
  if (mac === undefined) installed.flows.delete(flowKey(flow));
  else installed.macs.delete(installed.bridge, mac, flow);
}

/** How many of our flows the switch holds. */
export function countInstalled(installed: InstalledState): number {
  return installed.flows.size + installed.macs.countOn(installed.bridge) + (installed.readBack?.count ?? 0);
}

/** Every flow of ours the switch holds (its MAC flows take a pass over every MAC). */
export function* allInstalled(installed: InstalledState): IterableIterator<FlowSpec> {
  settleReadBack(installed);
  yield* installed.flows.values();
  yield* installed.macs.on(installed.bridge);
}

/**
 * Indexes a switch's state; flows that are not ours (other cookies) are left out: we never touch
 * them. `macs` and `bridge` place its MAC flows among the other switches' (absent: its own);
 * what `macs` held for `bridge` before is forgotten.
 */
export function indexInstalled(state: SwitchState, bridge = '', macs = new MacFlows(), raw?: Map<string, RawFlowStats[]>): InstalledState {
  macs.forget(new Set([bridge]));
  const installed: InstalledState = {
    flows: new Map(), groups: new Map(state.groups.map((g) => [g.groupId, g])), meters: new Map(state.meters.map((m) => [m.meterId, m])), bridge, macs,
  };
  // A switch holds one flow per identity: its MAC flows, by MAC, go in later without a search (MacFlows.addHeld).
  // Read raw, by MAC (the caller found each one's MAC and kept only ours): a switch reports one
  // flow per identity. The map and its lists are taken over, not copied (a restart's thousand
  // switches, a million entries: their copy was a tenth of its allocations): the diff changes
  // them (flows decoded in place), the caller no longer uses them.
  const byMac = (raw ?? new Map()) as Map<string, ReadFlow[]>;
  let count = 0;
  if (raw) for (const list of raw.values()) count += list.length;
  for (const f of state.flows) {
    if (!isOurCookie(f.cookie)) continue;
    const mac = macOf(f);
    if (mac === undefined) {
      installed.flows.set(flowKey(f), f);
      continue;
    }
    // Two with one identity (not from a switch; a state given by hand): the later one, as set would.
    const same = byMac.get(mac);
    const dup = same?.findIndex((g) => !isRaw(g) && sameIdentity(g, f)) ?? -1;
    if (dup >= 0) same![dup] = f;
    else {
      if (same) same.push(f);
      else byMac.set(mac, [f]);
      count++;
    }
  }
  // Entered among the runs by the diff that follows (or at the first other use).
  installed.readBack = { byMac, count };
  return installed;
}

/**
 * The installed state of every switch of a controller, by switch name, sharing one MacFlows.
 * A switch forgotten (delete) has its MAC flows forgotten before the next one is indexed, all
 * such switches in one pass over the MACs: many switches lost at once (a disconnection, the
 * mastership lost) cost one pass, not one each. Until then nothing reads them: the forgotten
 * state's object is no longer this map's.
 */
export class InstalledTables extends Map<string, InstalledState> {
  readonly macs = new MacFlows();
  private readonly forgotten = new Set<string>();

  /** Indexes what `bridge` holds (read back) as its installed state; `raw`: its MAC flows read raw, by MAC (taken over). */
  index(bridge: string, state: SwitchState, raw?: Map<string, RawFlowStats[]>): InstalledState {
    this.forgetNow();
    const installed = indexInstalled(state, bridge, this.macs, raw);
    super.set(bridge, installed);
    return installed;
  }

  override delete(bridge: string): boolean {
    const had = super.delete(bridge);
    if (had) this.forgotten.add(bridge);
    return had;
  }

  override clear(): void {
    for (const bridge of this.keys()) this.forgotten.add(bridge);
    super.clear();
  }

  /** Trims the MAC runs grown since the last call (MacFlows.compact): once changes stop coming, e.g. after a sync. */
  compact(): void {
    this.forgetNow();
    this.macs.compact();
  }

  /** Drops the MAC flows of the switches forgotten since the last call. */
  forgetNow(): void {
    if (this.forgotten.size === 0) return;
    this.macs.forget(this.forgotten);
    this.forgotten.clear();
  }
}

/** Records a confirmed change in the installed state. */
export function applyDiff(installed: InstalledState, d: SwitchDiff): void {
  for (const f of d.flowsToDelete) deleteInstalled(installed, f);
  for (const f of d.flowsToAdd) setInstalled(installed, f);
  for (const g of d.groupsToDelete) installed.groups.delete(g.groupId);
  for (const g of d.groupsToAdd) installed.groups.set(g.groupId, g);
  for (const g of d.groupsToModify) installed.groups.set(g.groupId, g);
  for (const m of d.metersToDelete) installed.meters.delete(m.meterId);
  for (const m of d.metersToAdd) installed.meters.set(m.meterId, m);
  for (const m of d.metersToModify) installed.meters.set(m.meterId, m);
}

export interface OwnIds {
  groupIds?: ReadonlySet<number>;
  meterIds?: ReadonlySet<number>;
}

/**
 * `installed.flows` may contain flows that are not ours (other cookies): they are left alone.
 * Groups and meters with ids we do not want are deleted only if `own` says we created them.
 */
export function diffSwitchState(desired: SwitchState, installed: SwitchState, own: OwnIds = {}): SwitchDiff {
  return diffInstalled(desired, indexInstalled(installed), own);
}

/**
 * Like diffSwitchState, against an indexed installed state. Where that holds a flow equal to the
 * desired one but as another object, it takes the desired object: the next diff recognises it
 * by identity, and one copy is kept instead of two.
 */
export function diffInstalled(desired: SwitchState, installed: InstalledState, own: OwnIds = {}): SwitchDiff {
  // A switch that holds no flow (start-up, a wiped table; MAC flows are counted apart): every desired flow is an
  // ADD, no key to compute. Should two share a key, the switch and applyDiff keep the later one.
  if (countInstalled(installed) === 0) return diffEmptyFlows(desired, installed, own);
  const want = new Map<string, FlowSpec>();
  const flowsToAdd: FlowSpec[] = [];
  // MAC flows: a switch's are found by MAC, not listed by switch (see MacFlows).
  const { macs, bridge } = installed;
  // Just read back (see InstalledState.readBack): its flows by MAC at hand; what it holds is
  // entered among the runs at the end, the desired object for each equal one.
  const fresh = installed.readBack;
  installed.readBack = undefined;
  // Each flow read back that the desired state has → its place in `held`.
  const matched = fresh ? new MatchedReads() : undefined;
  const held: FlowSpec[] = [];
  const heldMacs: string[] = [];
  let macFlowsHeld = 0;
  const known = flowMacsOf(desired.flows);
  for (let i = 0; i < desired.flows.length; i++) {
    const f = desired.flows[i]!;
    const mac = known ? known[i] : macOf(f);
    if (mac === undefined) {
      want.set(flowKey(f), f);
      continue;
    }
    if (fresh) {
      const list = fresh.byMac.get(mac);
      const hit = list === undefined ? undefined : findRead(list, f, matched!);
      const add = hit === undefined || !hit.equal;
      if (add) flowsToAdd.push(f);
      if (hit === undefined) continue;
      // Held: the desired object if equal, else the one read until the ADD is confirmed (none if
      // it does not decode: see decodeRead). Two desired flows of one identity: the later one, as
      // set would keep.
      const keep = add ? decodeRead(hit.read) : f;
      const at = matched!.get(hit.read);
      if (at !== undefined) {
        if (at >= 0 && keep !== undefined) held[at] = keep;
      } else if (keep === undefined) matched!.set(hit.read, -1);
      else {
        matched!.set(hit.read, held.length);
        held.push(keep);
        heldMacs.push(mac);
      }
      continue;
    }
    const cur = macs.get(bridge, mac, f);
    if (cur !== undefined) macFlowsHeld++;
    if (needsAdd(cur, f)) flowsToAdd.push(f);
    else if (cur !== f) macs.set(bridge, mac, f);
  }
  for (const [key, f] of want) {
    const cur = installed.flows.get(key);
    if (needsAdd(cur, f)) flowsToAdd.push(f);
    else if (cur !== f) installed.flows.set(key, f);
  }
  const flowsToDelete: FlowSpec[] = [];
  for (const [key, f] of installed.flows) if (!want.has(key)) flowsToDelete.push(f);
  // Every MAC flow held is wanted unless the switch holds more than the wanted ones it has.
  if (fresh) {
    // What no rule wants is deleted, and held until that is confirmed.
    for (const [mac, list] of fresh.byMac) {
      for (const g of list) {
        if (matched!.has(g)) continue;
        const d = decodeRead(g);
        if (d === undefined) continue;
        flowsToDelete.push(d);
        held.push(d);
        heldMacs.push(mac);
      }
    }
    macs.addHeld(bridge, held, heldMacs);
  } else if (macFlowsHeld < macs.countOn(bridge)) {
    const wanted = new Set<string>();
    for (const f of desired.flows) if (macOf(f) !== undefined) wanted.add(passingKey(f));
    for (const f of macs.on(bridge)) if (!wanted.has(passingKey(f))) flowsToDelete.push(f);
  }

  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, sameGroup, own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd, flowsToDelete,
    groupsToAdd: groups.add, groupsToModify: groups.modify, groupsToDelete: groups.remove,
    metersToAdd: meters.add, metersToModify: meters.modify, metersToDelete: meters.remove,
  };
}

/** Where desired flows are encoded to be compared with flows read raw: one buffer, reused. */
const encodeScratch = new BufferWriter(4096);
/** Where encodeBody writes the cookie (8 bytes: compared as bytes, no BigInt read per entry) and the match after it. */
const COOKIE_AT = 0;
const BODY_AT = 8;

/**
 * `f`'s cookie, match (padded) and instructions as a FLOW_MOD carries them, in encodeScratch (the
 * match at BODY_AT): where the instructions start and where they end; undefined if it does not encode.
 */
function encodeBody(f: FlowSpec): { at: number; end: number } | undefined {
  try {
    encodeScratch.pos = COOKIE_AT;
    encodeScratch.u64(f.cookie);
    writeMatch(encodeScratch, f.match);
    const at = encodeScratch.pos;
    writeInstructions(encodeScratch, f.instructions);
    return { at, end: encodeScratch.pos };
  } catch {
    return undefined;
  }
}

/**
 * Each flow read back that a diff matched with a desired one → its place in the diff's `held`
 * (-1: matched, held nowhere). A raw entry carries it itself (a restart matches a million: a map
 * entry each was a tenth of its allocations); a decoded one is in a map.
 */
class MatchedReads {
  private readonly decoded = new Map<ReadFlow, number>();

  get(g: ReadFlow): number | undefined {
    return isRaw(g) ? g.mark : this.decoded.get(g);
  }

  set(g: ReadFlow, at: number): void {
    if (isRaw(g)) g.mark = at;
    else this.decoded.set(g, at);
  }

  has(g: ReadFlow): boolean {
    return this.get(g) !== undefined;
  }
}

/**
 * The flow in `list` (one MAC's, as read back) with the identity of desired flow `f`, and
 * whether it equals `f`. A flow read raw is compared as bytes with `f` encoded: equal bytes are an
 * equal flow. One that differs in bytes may still be the same flow (a switch that orders a
 * match's fields its own way): when no bytes match, the list's raw flows are decoded in place
 * and compared as objects. `matched` follows a flow decoded so (it is another object then).
 */
function findRead(list: ReadFlow[], f: FlowSpec, matched: MatchedReads): { read: ReadFlow; equal: boolean } | undefined {
  let encoded: { at: number; end: number } | undefined | null = null;
  let raws = 0;
  for (const g of list) {
    if (!isRaw(g)) {
      if (sameIdentity(g, f)) return { read: g, equal: !needsAdd(g, f) };
      continue;
    }
    raws++;
    if (g.tableId !== f.tableId || g.priority !== f.priority) continue;
    if (encoded === null) encoded = encodeBody(f);
    if (encoded === undefined || g.instructionsAt - g.start !== encoded.at - BODY_AT) continue;
    const buf = encodeScratch.buf;
    if (buf.compare(g.frame, g.start, g.instructionsAt, BODY_AT, encoded.at) !== 0) continue;
    return { read: g, equal: g.cookieIs(buf, COOKIE_AT) && buf.compare(g.frame, g.instructionsAt, g.end, encoded.at, encoded.end) === 0 };
  }
  if (raws === 0) return undefined;
  // No bytes alike: the raw ones as objects (those that do not decode leave the list).
  for (let i = list.length - 1; i >= 0; i--) {
    const g = list[i]!;
    if (!isRaw(g)) continue;
    const d = decodeRead(g);
    if (d === undefined) {
      list.splice(i, 1);
      continue;
    }
    list[i] = d;
    const at = matched.get(g);
    if (at !== undefined) matched.set(d, at);
  }
  for (const g of list) if (sameIdentity(g as FlowSpec, f)) return { read: g, equal: !needsAdd(g as FlowSpec, f) };
  return undefined;
}

function diffEmptyFlows(desired: SwitchState, installed: InstalledState, own: OwnIds): SwitchDiff {
  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, sameGroup, own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd: desired.flows.slice(), flowsToDelete: [],
    groupsToAdd: groups.add, groupsToModify: groups.modify, groupsToDelete: groups.remove,
    metersToAdd: meters.add, metersToModify: meters.modify, metersToDelete: meters.remove,
  };
}

/**
 * The diff of a change confined to known flows (an endpoint-only update): `after` are flows the
 * switch must hold, `before` flows it must hold no more unless `after` has one with the same
 * key. Every other flow, group and meter is taken to be as desired already.
 */
export function diffFlowChange(before: readonly FlowSpec[], after: readonly FlowSpec[], installed: InstalledState): SwitchDiff {
  const d = emptyDiff();
  // Keys within `after` are distinct (a MAC or an IP has one owner), as are those within `before`.
  const wanted = before.length > 0 ? new Set<string>() : undefined;
  for (const f of after) {
    const key = passingKey(f);
    wanted?.add(key);
    if (needsAdd(installedFlow(installed, f), f)) d.flowsToAdd.push(f);
  }
  for (const f of before) {
    const key = passingKey(f);
    if (wanted!.has(key)) continue;
    const cur = installedFlow(installed, f);
    if (cur) d.flowsToDelete.push(cur);
  }
  return d;
}

/**
 * diffFlowChange plus, when `groups` is given (the switch's groups as desired now: its flood
 * group changed with its edge ports), the group changes against what it holds.
 */
export function diffConfinedChange(change: { before: readonly FlowSpec[]; after: readonly FlowSpec[]; groups?: GroupSpec[] }, installed: InstalledState, own: OwnIds = {}): SwitchDiff {
  const d = diffFlowChange(change.before, change.after, installed);
  if (change.groups) {
    const groups = diffById(change.groups, installed.groups, (g) => g.groupId, sameGroup, own.groupIds);
    d.groupsToAdd = groups.add;
    d.groupsToModify = groups.modify;
    d.groupsToDelete = groups.remove;
  }
  return d;
}

function sameGroup(a: GroupSpec, b: GroupSpec): boolean {
  return a.groupType === b.groupType && sameData(a.buckets, b.buckets);
}

/**
 * flowKey's text, not remembered: for keys needed once (flowKey keeps a key as long as its match
 * lives, a string per flow where MacFlows keeps none).
 */
function passingKey(f: Identity): string {
  return `${f.tableId}/${f.priority}/${matchKey(f.match)}`;
}

/** An ADD with the same table/priority/match replaces atomically: needed unless what is there is equal. */
function needsAdd(cur: FlowSpec | undefined, f: FlowSpec): boolean {
  if (cur === f) return false; // the very object we installed: unchanged
  return !cur || cur.cookie !== f.cookie || !sameInstructions(cur.instructions, f.instructions);
}

function diffById<T>(desired: T[], have: ReadonlyMap<number, T>, id: (x: T) => number, same: (a: T, b: T) => boolean, own?: ReadonlySet<number>) {
  const want = new Map(desired.map((x) => [id(x), x]));
  const add: T[] = [];
  const modify: T[] = [];
  for (const [k, x] of want) {
    const cur = have.get(k);
    if (!cur) add.push(x);
    else if (!same(cur, x)) modify.push(x);
  }
  const remove = [...have].filter(([k]) => !want.has(k) && (own?.has(k) ?? false)).map(([, x]) => x);
  return { add, modify, remove };
}

/**
 * The messages of a diff, in an order that never references a missing group or meter:
 * meters and groups first, then flows, then removals of flows, then of groups and meters.
 * xids are left 0: the session assigns them.
 */
export function diffToMessages(d: SwitchDiff): Message[] {
  const msgs: Message[] = [];
  for (const m of d.metersToAdd) msgs.push(meterMod('ADD', m));
  for (const m of d.metersToModify) msgs.push(meterMod('MODIFY', m));
  for (const g of d.groupsToAdd) msgs.push(groupMod('ADD', g));
  for (const g of d.groupsToModify) msgs.push(groupMod('MODIFY', g));
  // Loops, not push(...list): a spread of 100k+ flows overflows the call stack.
  for (const m of flowAdds(d.flowsToAdd)) msgs.push(m);
  for (const m of flowDeletes(d.flowsToDelete)) msgs.push(m);
  for (const g of d.groupsToDelete) msgs.push(groupMod('DELETE', g));
  for (const m of d.metersToDelete) msgs.push(meterMod('DELETE', m));
  return msgs;
}

export function flowAdds(flows: FlowSpec[]): Message[] {
  return flows.map((f) => ({
    type: 'FLOW_MOD', xid: 0, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'ADD',
    idleTimeout: f.idleTimeout ?? 0, hardTimeout: 0, priority: f.priority, bufferId: 0xffffffff, outPort: Port.ANY,
    outGroup: Group.ANY, flags: OFPFF_RESET_COUNTS | (f.notifyRemoval ? OFPFF_SEND_FLOW_REM : 0), match: f.match, instructions: f.instructions,
  }) as Message);
}

export function flowDeletes(flows: FlowSpec[]): Message[] {
  return flows.map((f) => ({
    type: 'FLOW_MOD', xid: 0, cookie: f.cookie, cookieMask: ALL_COOKIE_BITS,
    tableId: f.tableId, command: 'DELETE_STRICT', idleTimeout: 0, hardTimeout: 0, priority: f.priority,
    bufferId: 0xffffffff, outPort: Port.ANY, outGroup: Group.ANY, flags: 0, match: f.match, instructions: [],
  }) as Message);
}

function groupMod(command: 'ADD' | 'MODIFY' | 'DELETE', g: GroupSpec): Message {
  return { type: 'GROUP_MOD', xid: 0, command, groupType: g.groupType, groupId: g.groupId, buckets: command === 'DELETE' ? [] : g.buckets } as Message;
}

function meterMod(command: 'ADD' | 'MODIFY' | 'DELETE', m: MeterSpec): Message {
  return { type: 'METER_MOD', xid: 0, command, flags: m.flags, meterId: m.meterId, bands: command === 'DELETE' ? [] : m.bands } as Message;
}

