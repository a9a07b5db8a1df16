/**
 * What two worlds' switches hold and received, in comparable text: the tests that check a
 * shortcut of the controller (the endpoint-only path, a plan made ahead) against a controller
 * that recomputes everything.
 */
import type { World } from './world.js';
import { canonicalKey, instructionsKey, matchKey } from '../../controller/core/flows.js';
import type { Message } from '../../src/openflow/types/index.js';

/** Per switch, its flows, groups and meters as one text. */
export function tables(w: World): Map<string, string> {
  const out = new Map<string, string>();
  for (const [node, sw] of w.tables) {
    const flows = sw.flows.map((f) => `${f.tableId}/${f.priority}/${matchKey(f.match)} ${f.cookie} ${instructionsKey(f.instructions)}`).sort();
    const groups = [...sw.groups].sort(([a], [b]) => a - b);
    const meters = [...sw.meters].sort(([a], [b]) => a - b);
    out.set(node, canonicalKey({ flows, groups, meters }));
  }
  return out;
}

/** How many messages each switch has received so far (the start of received()). */
export const marks = (w: World) => new Map([...w.switches].map(([n, sw]) => [n, sw.received.length]));

/** What each switch received since `from`: its modifications, barrier by barrier, each batch sorted. */
export function received(w: World, from: Map<string, number>): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const [node, sw] of w.switches) {
    const batches: string[][] = [[]];
    for (const m of sw.received.slice(from.get(node) ?? 0)) {
      if (m.type === 'BARRIER_REQUEST') batches.push([]);
      else if (m.type === 'FLOW_MOD' || m.type === 'GROUP_MOD' || m.type === 'METER_MOD') batches.at(-1)!.push(describe(m));
    }
    out.set(node, batches.map((b) => b.sort()));
  }
  return out;
}

export function describe(m: Message): string {
  if (m.type === 'FLOW_MOD') return `flow ${m.command} ${m.tableId}/${m.priority}/${matchKey(m.match)} ${m.cookie}/${m.cookieMask} ${instructionsKey(m.instructions)}`;
  if (m.type === 'GROUP_MOD') return `group ${m.command} ${m.groupId} ${canonicalKey(m.buckets)}`;
  if (m.type === 'METER_MOD') return `meter ${m.command} ${m.meterId} ${canonicalKey(m.bands)}`;
  return m.type;
}
