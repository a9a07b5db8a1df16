/**
 * Ordering a change of forwarding state across switches so that no frame is black-holed or
 * looped while the switches are half-way (make-before-break). Pure: the session layer sends
 * each stage and waits for every switch's barrier reply before the next one.
 *
 *   stage "copies": flows for tagged migration copies, and new groups/meters, everywhere
 *                   first: nothing sends tagged frames before every switch knows them; with
 *                   them the removal of the same container's relabel entries on that switch
 *                   (it migrates back to where it departed from), which would send the copies
 *                   back to the old edge;
 *   stages by level: the other additions/replacements, switches nearest the destination
 *                   first (downstream before upstream), so a switch only starts sending
 *                   towards a next hop that is already in its final state. With them a
 *                   container's old edge relabelling frames still labelled for it (towards the
 *                   new edge, ready at its level), the more specific entries first: the drop of
 *                   bicast copies meant for the old edge precedes the relabel, so a copy from an
 *                   ingress entry not yet flipped is dropped, never relabelled to the new edge
 *                   where its twin arrives; and the removal of a switch's flows that only frames
 *                   from its own ports reach (a departed container's known source);
 *   stage "cleanup": other removals last, once nothing depends on them any more.
 *
 * A commit's flip (`holdWithLevel`) removes the migration's hold and seal flows with the rest of
 * their switch's part: they sit above the flows that replace them (the new edge's delivery, the
 * old edge's relabel), which the same batch adds first, so the frame that no longer meets them
 * meets the final flow; left to the cleanup, on two switches, they cost a round trip of their own.
 */
import { COOKIE_OWNER_VALUE, cookieKind, RuleKind } from './cookies.js';
import { diffSwitchState, emptyDiff, isEmptyDiff, type OwnIds, type SwitchDiff } from './diff.js';
import { instructionsKey, type FlowSpec, type SwitchState } from './flows.js';
import { LABEL_TABLE, labelFlow, type ForwardingContext } from './forwarding.js';

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
  options: StageOptions = {},
): TransitionStage[] {
  const empty: SwitchState = { flows: [], groups: [], meters: [] };
  const diffs = new Map<string, SwitchDiff>();
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    diffs.set(name, diffSwitchState(after.get(name) ?? empty, before.get(name) ?? empty, own));
  }
  return stageDiffs(diffs, levels, undefined, options);
}

export interface StageOptions {
  /**
   * A commit: the hold and seal flows (MIGRATION_HOLD) go with their switch's level part, not
   * the cleanup. Not for an abort or a freeze: there the frames they hold or drop must not reach
   * the port below them before every switch has turned.
   */
  holdWithLevel?: boolean;
}

// Cookies of one kind form a range (owner, kind, then the subject's hash): comparing with its
// bounds tells a flow's kind without BigInt arithmetic per flow.
function ofKind(kind: number): (f: { cookie: bigint }) => boolean {
  const from = COOKIE_OWNER_VALUE | (BigInt(kind) << 40n);
  const to = from + (1n << 40n);
  return (f) => f.cookie >= from && f.cookie < to;
}
const isCopy = ofKind(RuleKind.MIGRATION_COPY);
const isRelabel = ofKind(RuleKind.RELABEL);
const isKnownSource = ofKind(RuleKind.KNOWN_SOURCE);
const isHold = ofKind(RuleKind.MIGRATION_HOLD);

function destinationMac(f: FlowSpec): unknown {
  const dst = f.match.fields.find((m) => m.field === 'eth_dst');
  return dst && 'value' in dst ? dst.value : undefined;
}

/**
 * Orders each switch's diff into stages (see above); empty diffs and stages are left out.
 * Switches in no level get `unorderedLabel`: no target was given, or its switch is not
 * connected, or they have no path to it; none of these is a failure.
 */
export function stageDiffs(diffs: ReadonlyMap<string, SwitchDiff>, levels: string[][], unorderedLabel = 'unordered', options: StageOptions = {}): TransitionStage[] {
  const copies: TransitionStage = { label: 'copies', changes: new Map() };
  const cleanup: TransitionStage = { label: 'cleanup', changes: new Map() };
  const rest = new Map<string, SwitchDiff>();
  for (const [name, d] of diffs) {
    const first = { ...emptyDiff(), groupsToAdd: d.groupsToAdd, metersToAdd: d.metersToAdd };
    const middle = { ...emptyDiff(), groupsToModify: d.groupsToModify, metersToModify: d.metersToModify };
    const relabels: FlowSpec[] = [];
    for (const f of d.flowsToAdd) {
      if (isCopy(f)) first.flowsToAdd.push(f);
      else if (isRelabel(f)) relabels.push(f);
      else middle.flowsToAdd.push(f);
    }
    relabels.sort((a, b) => b.priority - a.priority);
    for (const f of relabels) middle.flowsToAdd.push(f);
    const last = { ...emptyDiff(), groupsToDelete: d.groupsToDelete, metersToDelete: d.metersToDelete };
    const copiedMacs = first.flowsToAdd.length > 0 ? new Set(first.flowsToAdd.map(destinationMac)) : undefined;
    for (const f of d.flowsToDelete) {
      if (isKnownSource(f) || (options.holdWithLevel && isHold(f))) middle.flowsToDelete.push(f);
      // A container's relabel entries on the bridge it now migrates back to go with its copies'
      // flow there: left until the cleanup, the more specific ones (arriving by the port towards
      // its old edge) would send the bicast's copy for this edge back to the old edge, which
      // delivers the frame a second time.
      else if (copiedMacs && isRelabel(f) && copiedMacs.has(destinationMac(f))) first.flowsToDelete.push(f);
      else last.flowsToDelete.push(f);
    }
    if (!isEmptyDiff(first)) copies.changes.set(name, first);
    if (!isEmptyDiff(middle)) rest.set(name, middle);
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
  stages.push(unplaced, cleanup);
  return stages.filter((s) => s.changes.size > 0);
}

/**
 * Bridges grouped for a change whose flows all lead towards `target` (a container's move, where
 * only flows towards it change): a bridge waits only for the changed bridges on its own path to
 * the target, each in its final state before it sends that way, not for every bridge nearer than
 * it. A bridge's level is one more than that of the nearest changed bridge on its path (whose
 * level covers the rest of the path: next hops form a tree towards the target), 0 with none
 * (the target itself). Bridges with no path to the target are left out, as in levelsTowards.
 * @param nextBridge the neighbour `from` forwards to on its way to `to` (Paths.nextHop's peer).
 */
export function levelsAlongPaths(changed: Iterable<string>, target: string, nextBridge: (from: string, to: string) => string | undefined): string[][] {
  const isChanged = new Set(changed);
  const levelOf = new Map<string, number | undefined>();
  const level = (bridge: string): number | undefined => {
    if (levelOf.has(bridge)) return levelOf.get(bridge);
    levelOf.set(bridge, undefined);
    let found: number | undefined;
    // Next hops form a tree towards the target; the walk stops anyway if one ever came back.
    for (let hop = bridge, walked = new Set([bridge]); ; ) {
      if (hop === target) {
        found = 0;
        break;
      }
      const next = nextBridge(hop, target);
      if (next === undefined || walked.has(next)) break;
      walked.add(next);
      if (isChanged.has(next)) {
        const beyond = level(next);
        found = beyond === undefined ? undefined : beyond + 1;
        break;
      }
      hop = next;
    }
    levelOf.set(bridge, found);
    return found;
  };
  const levels: string[][] = [];
  for (const name of [...isChanged].sort()) {
    const l = level(name);
    if (l !== undefined) (levels[l] ??= []).push(name);
  }
  for (let i = 0; i < levels.length; i++) levels[i] ??= [];
  return levels;
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
 * Orders a change of paths (a reload: a region added, a link removed or added, while the old
 * tunnels still carry traffic) so that every intermediate state delivers. What must hold is per
 * label: a switch turns a label to its new next hop only once that next hop forwards the label
 * on its new path, so the switch `d` hops from the label's edge on the new paths turns it in
 * stage `d` (nearest first); until then it keeps the old next hop, whose tunnel is still there.
 * Flows towards a MAC (ingress entries, local delivery) go the same way, by the hops to the
 * MAC's edge.
 *
 * The default flow serves every label with no flow of its own, whatever their distances: when
 * its next hop changes (the label root moved, or the path to it), each label it served is first
 * pinned to its old next hop by a flow of its own (stage "groups and ingress"), the default
 * changes in stage 0, and each pin gives way in its label's stage, to the label's new flow or,
 * removed, to the new default. A label's own flow removed otherwise (its next hop is now the
 * default's) likewise goes in its label's stage. Groups, meters, flows with no destination and
 * a label's local-miss drop go first; other removals last ("cleanup").
 *
 * @param ctx the new forwarding context (paths, labels, label root).
 * @param installed what each switch holds before the change (its old default and own label flows).
 * @param edgeOf the bridge a MAC lives on now.
 */
export function stageFabricChange(
  diffs: ReadonlyMap<string, SwitchDiff>,
  ctx: ForwardingContext,
  installed: (bridge: string) => Iterable<FlowSpec> | undefined,
  edgeOf: (mac: string) => string | undefined,
): TransitionStage[] {
  const first: TransitionStage = { label: 'groups and ingress', changes: new Map() };
  const cleanup: TransitionStage = { label: 'cleanup', changes: new Map() };
  const byDistance: TransitionStage[] = [];
  for (const [name, d] of diffs) {
    const head = { ...emptyDiff(), groupsToAdd: d.groupsToAdd, metersToAdd: d.metersToAdd, groupsToModify: d.groupsToModify, metersToModify: d.metersToModify };
    const last = { ...emptyDiff(), groupsToDelete: d.groupsToDelete, metersToDelete: d.metersToDelete };
    const at = (hops: number): SwitchDiff => {
      const stage = (byDistance[hops] ??= { label: `distance ${hops}`, changes: new Map() });
      let part = stage.changes.get(name);
      if (!part) stage.changes.set(name, (part = emptyDiff()));
      return part;
    };
    const hopsToLabel = (label: number) => {
      const dest = ctx.bridgeOfLabel.get(label);
      return dest === undefined ? undefined : ctx.paths.distance(name, dest);
    };
    const labelAdds = new Map<number, FlowSpec>();
    let defaultChanges = false;
    for (const f of d.flowsToAdd) {
      const kind = cookieKind(f.cookie);
      if (kind === RuleKind.LABEL) labelAdds.set(labelOf(f), f);
      else if (kind === RuleKind.LABEL_DEFAULT) {
        defaultChanges = true;
        at(0).flowsToAdd.push(f);
      } else {
        const mac = kind === RuleKind.LABEL_LOCAL_MISS ? undefined : macOf(f);
        const edge = mac === undefined ? undefined : edgeOf(mac);
        const hops = edge === undefined ? undefined : ctx.paths.distance(name, edge);
        (hops === undefined ? head : at(hops)).flowsToAdd.push(f);
      }
    }
    for (const f of d.flowsToDelete) {
      const kind = cookieKind(f.cookie);
      const hops = kind === RuleKind.LABEL ? hopsToLabel(labelOf(f)) : undefined;
      if (kind === RuleKind.LABEL_DEFAULT) defaultChanges = true;
      (hops === undefined ? last : at(hops)).flowsToDelete.push(f);
    }
    if (defaultChanges) {
      const held = [...(installed(name) ?? [])].filter((f) => f.tableId === LABEL_TABLE);
      const oldDefault = held.find((f) => cookieKind(f.cookie) === RuleKind.LABEL_DEFAULT);
      const ownFlow = new Set(held.filter((f) => cookieKind(f.cookie) === RuleKind.LABEL).map(labelOf));
      const ownLabel = ctx.labels.get(name);
      for (const [label, dest] of oldDefault ? ctx.bridgeOfLabel : []) {
        // Labels that carry frames (their edge has ports) and went by the old default.
        const hops = ctx.paths.distance(name, dest);
        if (label === ownLabel || ownFlow.has(label) || hops === undefined || !ctx.fabric.bridges.get(dest)?.edgePorts.length) continue;
        const final = labelAdds.get(label);
        if (final && instructionsKey(final.instructions) === instructionsKey(oldDefault!.instructions)) {
          // Its own flow keeps the old next hop: it is the pin.
          head.flowsToAdd.push(final);
          labelAdds.delete(label);
          continue;
        }
        const pin = labelFlow(label, oldDefault!.instructions);
        head.flowsToAdd.push(pin);
        // Replaced by its own flow in its stage (below), or removed there in favour of the new default.
        if (!final) at(hops).flowsToDelete.push(pin);
      }
    }
    for (const [label, f] of labelAdds) {
      const hops = hopsToLabel(label);
      (hops === undefined ? head : at(hops)).flowsToAdd.push(f);
    }
    if (!isEmptyDiff(head)) first.changes.set(name, head);
    if (!isEmptyDiff(last)) cleanup.changes.set(name, last);
  }
  return [first, ...byDistance.filter((s) => s !== undefined), cleanup].filter((s) => s.changes.size > 0);
}

/** The label a label-table flow matches (its VLAN id). */
function labelOf(f: FlowSpec): number {
  const vid = f.match.fields.find((m) => m.field === 'vlan_vid');
  return vid && vid.field === 'vlan_vid' ? Number(vid.value) & 0xfff : -1;
}

/** The destination MAC a flow matches, if it matches one. */
function macOf(f: FlowSpec): string | undefined {
  const dst = f.match.fields.find((m) => m.field === 'eth_dst');
  return dst && dst.field === 'eth_dst' && typeof dst.value === 'string' && dst.mask === undefined ? dst.value : undefined;
}
