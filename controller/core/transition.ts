/**
 * Ordering a change of forwarding state across switches so that no frame is black-holed or
 * looped while the switches are half-way (make-before-break). Pure: the session layer sends
 * each stage and waits for every switch's barrier reply before the next one.
 *
 *   stage "copies": flows for tagged migration copies, and new groups/meters, everywhere
 *                   first: nothing sends tagged frames before every switch knows them;
 *   stages by level: the other additions/replacements, switches nearest the destination
 *                   first (downstream before upstream), so a switch only starts sending
 *                   towards a next hop that is already in its final state;
 *   stage "relabel": a container's old edge relabelling frames still labelled for it, after
 *                   every ingress entry stopped sending it a copy (a copy relabelled towards the
 *                   new edge would arrive there twice);
 *   stage "cleanup": removals last, once nothing depends on them any more.
 */
import { COOKIE_OWNER_VALUE, RuleKind } from './cookies.js';
import { diffSwitchState, emptyDiff, isEmptyDiff, type OwnIds, type SwitchDiff } from './diff.js';
import type { FlowSpec, SwitchState } from './flows.js';
import { labelDestination, type ForwardingContext } from './forwarding.js';

export interface TransitionStage {
  label: string;
  /** The part of each switch's diff sent in this stage; switches absent here have nothing. */
  changes: Map<string, SwitchDiff>;
}

/**
 * @param levels bridges grouped by distance to the destination of the change, nearest first;
 *   bridges not listed are handled after all levels.
 */
export function planTransition(
  before: ReadonlyMap<string, SwitchState>,
  after: ReadonlyMap<string, SwitchState>,
  levels: string[][],
  own: OwnIds = {},
): TransitionStage[] {
  const empty: SwitchState = { flows: [], groups: [], meters: [] };
  const diffs = new Map<string, SwitchDiff>();
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    diffs.set(name, diffSwitchState(after.get(name) ?? empty, before.get(name) ?? empty, own));
  }
  return stageDiffs(diffs, levels);
}

// Cookies of one kind form a range (owner, kind, then the subject's hash): comparing with its
// bounds tells a copy's flow without BigInt arithmetic per flow.
const COPIES_FROM = COOKIE_OWNER_VALUE | (BigInt(RuleKind.MIGRATION_COPY) << 40n);
const COPIES_TO = COPIES_FROM + (1n << 40n);
const isCopy = (f: { cookie: bigint }) => f.cookie >= COPIES_FROM && f.cookie < COPIES_TO;
const RELABEL_FROM = COOKIE_OWNER_VALUE | (BigInt(RuleKind.RELABEL) << 40n);
const RELABEL_TO = RELABEL_FROM + (1n << 40n);
const isRelabel = (f: { cookie: bigint }) => f.cookie >= RELABEL_FROM && f.cookie < RELABEL_TO;

/**
 * Orders each switch's diff into stages (see above); empty diffs and stages are left out.
 * Switches in no level get `unorderedLabel`: no target was given, or its switch is not
 * connected, or they have no path to it; none of these is a failure.
 */
export function stageDiffs(diffs: ReadonlyMap<string, SwitchDiff>, levels: string[][], unorderedLabel = 'unordered'): TransitionStage[] {
  const copies: TransitionStage = { label: 'copies', changes: new Map() };
  const relabel: TransitionStage = { label: 'relabel', changes: new Map() };
  const cleanup: TransitionStage = { label: 'cleanup', changes: new Map() };
  const rest = new Map<string, SwitchDiff>();
  for (const [name, d] of diffs) {
    const first = { ...emptyDiff(), groupsToAdd: d.groupsToAdd, metersToAdd: d.metersToAdd };
    const middle = { ...emptyDiff(), groupsToModify: d.groupsToModify, metersToModify: d.metersToModify };
    const late = emptyDiff();
    for (const f of d.flowsToAdd) (isCopy(f) ? first : isRelabel(f) ? late : middle).flowsToAdd.push(f);
    const last = { ...emptyDiff(), flowsToDelete: d.flowsToDelete, groupsToDelete: d.groupsToDelete, metersToDelete: d.metersToDelete };
    if (!isEmptyDiff(first)) copies.changes.set(name, first);
    if (!isEmptyDiff(middle)) rest.set(name, middle);
    if (!isEmptyDiff(late)) relabel.changes.set(name, late);
    if (!isEmptyDiff(last)) cleanup.changes.set(name, last);
  }

  const stages: TransitionStage[] = [copies];
  const placed = new Set<string>();
  levels.forEach((level, i) => {
    const stage: TransitionStage = { label: `level ${i}`, changes: new Map() };
    for (const name of level) {
      const d = rest.get(name);
      if (d) stage.changes.set(name, d);
      placed.add(name);
    }
    stages.push(stage);
  });
  const unplaced: TransitionStage = { label: unorderedLabel, changes: new Map() };
  for (const [name, d] of rest) if (!placed.has(name)) unplaced.changes.set(name, d);
  stages.push(unplaced, relabel, cleanup);
  return stages.filter((s) => s.changes.size > 0);
}

/** Bridges grouped by hop distance to `target`, nearest first (from Paths.distance). */
export function levelsTowards(bridges: Iterable<string>, distance: (from: string) => number | undefined): string[][] {
  const levels: string[][] = [];
  for (const name of [...bridges].sort()) {
    const d = distance(name);
    if (d === undefined) continue;
    (levels[d] ??= []).push(name);
  }
  return levels.filter((l) => l !== undefined);
}

/**
 * Orders a change of paths (a link removed or added while the old tunnels still carry traffic)
 * per destination: a flow towards a destination that is `d` hops away on the new paths goes in
 * stage `d`, so every switch turns to a next hop that already holds its final flow for that
 * destination (no loop, no black hole). Groups, meters and flows with no destination
 * (`distance` undefined) go first; removals last.
 *
 * @param distance new-path hop count from `bridge` to the destination of `flow`, or undefined.
 * @param fallbackDistance new-path hop count from `bridge` to where its fallback flow leads
 *   (the label root), if it has one: a removal waits for the fallback's own stage.
 */
export function stageDiffsByDistance(
  diffs: ReadonlyMap<string, SwitchDiff>,
  distance: (bridge: string, flow: FlowSpec) => number | undefined,
  fallbackDistance: (bridge: string) => number | undefined = () => undefined,
): TransitionStage[] {
  const first: TransitionStage = { label: 'groups and ingress', changes: new Map() };
  const cleanup: TransitionStage = { label: 'cleanup', changes: new Map() };
  const byDistance: TransitionStage[] = [];
  for (const [name, d] of diffs) {
    const head = { ...emptyDiff(), groupsToAdd: d.groupsToAdd, metersToAdd: d.metersToAdd, groupsToModify: d.groupsToModify, metersToModify: d.metersToModify };
    for (const f of d.flowsToAdd) {
      const hops = distance(name, f);
      if (hops === undefined) {
        head.flowsToAdd.push(f);
        continue;
      }
      const stage = (byDistance[hops] ??= { label: `distance ${hops}`, changes: new Map() });
      let part = stage.changes.get(name);
      if (!part) stage.changes.set(name, (part = emptyDiff()));
      part.flowsToAdd.push(f);
    }
    // A removed flow towards a destination that is still reachable hands its frames to a
    // lower-priority flow (a label's own flow giving way to the default towards the label root):
    // that is a change of next hop, ordered like an addition. Removed with the cleanup, every
    // switch would fall back at once, and two neighbours could send a label to each other.
    const last = { ...emptyDiff(), flowsToDelete: [] as FlowSpec[], groupsToDelete: d.groupsToDelete, metersToDelete: d.metersToDelete };
    // The fallback itself changes in the stage of its own destination: not before that.
    const fallbackHops = fallbackDistance(name) ?? 0;
    for (const f of d.flowsToDelete) {
      const own = distance(name, f);
      const hops = own === undefined ? undefined : Math.max(own, fallbackHops);
      if (hops === undefined) {
        last.flowsToDelete.push(f);
        continue;
      }
      const stage = (byDistance[hops] ??= { label: `distance ${hops}`, changes: new Map() });
      let part = stage.changes.get(name);
      if (!part) stage.changes.set(name, (part = emptyDiff()));
      part.flowsToDelete.push(f);
    }
    if (!isEmptyDiff(head)) first.changes.set(name, head);
    if (!isEmptyDiff(last)) cleanup.changes.set(name, last);
  }
  return [first, ...byDistance.filter((s) => s !== undefined), cleanup].filter((s) => s.changes.size > 0);
}

/**
 * The stages of a change of paths (a reload), as the controller sends them: `ctx` is the new
 * forwarding context, `installed` what each switch holds before the change, `edgeOf` the bridge
 * a MAC lives on.
 */
export function stageFabricChange(
  diffs: ReadonlyMap<string, SwitchDiff>,
  ctx: ForwardingContext,
  installed: (bridge: string) => Iterable<FlowSpec> | undefined,
  edgeOf: (mac: string) => string | undefined,
): TransitionStage[] {
  void installed;
  const hops = (bridge: string, flow: FlowSpec): number | undefined => {
    const labelled = labelDestination(ctx, flow);
    if (labelled !== undefined) return ctx.paths.distance(bridge, labelled);
    const dst = flow.match.fields.find((f) => f.field === 'eth_dst');
    if (!dst || dst.field !== 'eth_dst' || typeof dst.value !== 'string') return undefined;
    const at = edgeOf(dst.value);
    return at === undefined ? undefined : ctx.paths.distance(bridge, at);
  };
  return stageDiffsByDistance(diffs, hops, (bridge) => (ctx.labelRoot === undefined ? undefined : ctx.paths.distance(bridge, ctx.labelRoot)));
}
