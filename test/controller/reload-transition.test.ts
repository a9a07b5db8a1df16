/**
 * Make-before-break across a change of paths (a reload that adds a region, removes or adds a
 * link), walked through the fake network: the stages are computed as the controller computes
 * them (stageFabricChange over the new forwarding context, the installed state, the demand
 * entries of the probing containers), then applied stage by stage and, within a stage, with
 * every subset of its switches done (a stage's switches answer their barriers in any order),
 * and each switch's messages one by one (a switch applies a batch message by message). After
 * every step a frame between every two containers, both ways, is delivered exactly once: no
 * black hole, no loop, no copy.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Endpoint, Fabric, FabricBridge } from '../../controller/core/fabric.js';
import { BridgeMacs, computeDesiredState, desiredStateFor, forwardingContext } from '../../controller/core/forwarding.js';
import { diffSwitchState, diffToMessages, type SwitchDiff } from '../../controller/core/diff.js';
import type { SwitchState } from '../../controller/core/flows.js';
import { stageFabricChange, type TransitionStage } from '../../controller/core/transition.js';
import { fabricFromTopology } from '../../controller/core/topology-fabric.js';
import { resolveTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { SimNetwork, type SimSwitch } from '../../src/openflow-sim/network.js';
import type { Message } from '../../src/openflow/types/index.js';
import { buildFabric, empty, frame, install, own } from './fabric-fixture.js';

interface Scenario {
  name: string;
  before: Fabric;
  after: Fabric;
  /** Every tunnel of both fabrics: a removed one is still there while the flows move. */
  net: SimNetwork;
  /** Tunnels that go once the flows moved (deprovisioned after the sync): [bridge, ofport]. */
  removedTunnels: [string, number][];
  endpointsBefore: Endpoint[];
  endpointsAfter: Endpoint[];
}

// ------------------------------------------------------------------ the reloads of reload-ovs

const topologyDir = fileURLToPath(new URL('../../../topologies/', import.meta.url));
const doc = (file: string) => JSON.parse(readFileSync(topologyDir + file, 'utf8')) as { links: Record<string, unknown>[] };

function endpointsOf(topology: ResolvedTopology): Endpoint[] {
  return Object.values(topology.containers).map((c) => ({ name: c.name, mac: c.mac, ip: c.ip, at: { bridge: c.node, ofport: c.ofport } }));
}

/** Before and after as the controller sees them (planned ports; port numbers are stable across the documents). */
function topologyScenario(name: string, before: ResolvedTopology, after: ResolvedTopology): Scenario {
  const net = new SimNetwork();
  for (const node of new Set([...Object.keys(before.nodes), ...Object.keys(after.nodes)])) net.addSwitch(node);
  const linkKey = (l: ResolvedTopology['links'][number]) => `${l.a.bridge}:${l.a.ofport}~${l.b.bridge}:${l.b.ofport}`;
  const afterLinks = new Set(after.links.map(linkKey));
  const removedTunnels: [string, number][] = [];
  for (const l of [...before.links, ...after.links]) {
    net.link(l.a.node, l.a.ofport, l.b.node, l.b.ofport);
    if (!afterLinks.has(linkKey(l))) removedTunnels.push([l.a.node, l.a.ofport]);
  }
  return {
    name, net, removedTunnels,
    before: fabricFromTopology(before, new Map()), after: fabricFromTopology(after, new Map()),
    endpointsBefore: endpointsOf(before), endpointsAfter: endpointsOf(after),
  };
}

const twoRegion = resolveTopology(doc('two-region.json'));
const threeRegionDoc = doc('three-region.json');
const threeRegion = resolveTopology(threeRegionDoc);
const shrunkDoc = structuredClone(threeRegionDoc);
shrunkDoc.links = shrunkDoc.links.filter((l) => !(l['switch'] === 'sw1' && l['peer'] === 'sw2'));
const shrunk = resolveTopology(shrunkDoc);

// ------------------------------------------------------------------ generated reloads

/**
 * Switches s1..sN (no edge ports) and hosts (one container each, on port 2) hanging off them;
 * `before`/`after` pick the bridges and links present. Tunnel ports are those of the union, as
 * a reload keeps the ports of links that stay.
 */
function generated(name: string, hosts: Record<string, string>, before: { bridges: string[]; links: [string, string][] }, after: { bridges: string[]; links: [string, string][] }): Scenario {
  const bridges = [...new Set([...before.bridges, ...after.bridges, ...Object.keys(hosts)])];
  const hostLinks = Object.entries(hosts).map(([h, s]) => [s, h] as [string, string]);
  const key = ([a, b]: [string, string]) => (a < b ? `${a}~${b}` : `${b}~${a}`);
  const union = new Map<string, [string, string]>();
  for (const l of [...before.links, ...after.links, ...hostLinks]) union.set(key(l), l);
  const edgePorts: Record<string, number[]> = {};
  for (const b of bridges) edgePorts[b] = hosts[b] ? [1, 2] : [];
  const { fabric, net } = buildFabric(bridges, [...union.values()], edgePorts);
  const pick = (part: { bridges: string[]; links: [string, string][] }): Fabric => {
    const present = new Set([...part.bridges, ...Object.keys(hosts).filter((h) => part.bridges.includes(hosts[h]!))]);
    const links = new Set([...part.links, ...hostLinks].map(key));
    const out = new Map<string, FabricBridge>();
    for (const b of present) {
      const whole = fabric.bridges.get(b)!;
      out.set(b, { ...whole, tunnels: whole.tunnels.filter((tn) => present.has(tn.peer) && links.has(key([b, tn.peer]))) });
    }
    return { bridges: out };
  };
  const beforeFabric = pick(before);
  const afterFabric = pick(after);
  const afterLinks = new Set(after.links.map(key));
  const removedTunnels: [string, number][] = [];
  for (const l of before.links) {
    if (afterLinks.has(key(l))) continue;
    removedTunnels.push([l[0], fabric.bridges.get(l[0])!.tunnels.find((tn) => tn.peer === l[1])!.ofport]);
  }
  const eps = (f: Fabric) => Object.keys(hosts).filter((h) => f.bridges.has(h)).sort().map((h): Endpoint => {
    const n = bridges.indexOf(h) + 1;
    return { name: `c-${h}`, mac: `02:00:00:00:01:${n.toString(16).padStart(2, '0')}`, ip: `10.0.1.${n}`, at: { bridge: h, ofport: 2 } };
  });
  return { name, before: beforeFabric, after: afterFabric, net, removedTunnels, endpointsBefore: eps(beforeFabric), endpointsAfter: eps(afterFabric) };
}

const line = (n: number, from = 1): [string, string][] => Array.from({ length: n - 1 }, (_, i) => [`s${from + i}`, `s${from + i + 1}`]);
const switches = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
const oneHostEach = (names: string[], extra: Record<string, string> = {}) => ({ ...Object.fromEntries(names.map((s) => [`h${s.slice(1)}`, s])), ...extra });

function generatedScenarios(): Scenario[] {
  const out: Scenario[] = [];
  // A region (a switch with two hosts) joins a line at both ends: a ring closes.
  const five = switches(5);
  out.push(generated('line of 5 closed into a ring by a new region', oneHostEach([...five, 's6'], { h6b: 's6' }),
    { bridges: five, links: line(5) }, { bridges: [...five, 's6'], links: [...line(5), ['s5', 's6'], ['s6', 's1']] }));
  // A region joins the middle of a line and one of its ends.
  out.push(generated('region joins a line in the middle and at an end', oneHostEach([...five, 's6']),
    { bridges: five, links: line(5) }, { bridges: [...five, 's6'], links: [...line(5), ['s3', 's6'], ['s6', 's5']] }));
  // Every link of a ring of six removed, one reload each.
  const six = switches(6);
  const ring: [string, string][] = [...line(6), ['s6', 's1']];
  for (const gone of ring) {
    out.push(generated(`ring of 6 loses ${gone.join('~')}`, oneHostEach(six), { bridges: six, links: ring }, { bridges: six, links: ring.filter((l) => l !== gone) }));
  }
  // Chords added to a line.
  for (const chord of [['s1', 's6'], ['s2', 's5'], ['s1', 's4']] as [string, string][]) {
    out.push(generated(`line of 6 gains ${chord.join('~')}`, oneHostEach(six), { bridges: six, links: line(6) }, { bridges: six, links: [...line(6), chord] }));
  }
  // A binary tree of seven switches (hosts on the leaves and the root): a link between leaves
  // comes, then a tree link goes once the leaves are joined.
  const seven = switches(7);
  const tree: [string, string][] = [['s1', 's2'], ['s1', 's3'], ['s2', 's4'], ['s2', 's5'], ['s3', 's6'], ['s3', 's7']];
  const treeHosts = oneHostEach(['s1', 's4', 's5', 's6', 's7'], { h4b: 's4' });
  out.push(generated('tree gains a link between leaves', treeHosts, { bridges: seven, links: tree }, { bridges: seven, links: [...tree, ['s5', 's6']] }));
  out.push(generated('tree with a leaf link loses a tree link', treeHosts, { bridges: seven, links: [...tree, ['s5', 's6']] }, { bridges: seven, links: tree.filter((l) => l[1] !== 's3' || l[0] !== 's1').concat([['s5', 's6']]) }));
  out.push(generated('region joins two leaves of a tree', { ...treeHosts, h8: 's8' }, { bridges: seven, links: tree }, { bridges: [...seven, 's8'], links: [...tree, ['s4', 's8'], ['s8', 's7']] }));
  return out;
}

// ------------------------------------------------------------------ the walk

/** Demand as the controller has it once the containers talked: each container's edge holds an entry for every other. */
function demandOf(endpoints: Endpoint[]): BridgeMacs {
  const demand = new BridgeMacs();
  for (const a of endpoints) for (const b of endpoints) if (a !== b) demand.add(a.at.bridge, b.mac);
  return demand;
}

type Snapshot = Map<string, { flows: SimSwitch['flows']; groups: SimSwitch['groups'] }>;
const snapshot = (net: SimNetwork): Snapshot => new Map([...net.switches].map(([n, sw]) => [n, { flows: [...sw.flows], groups: new Map(sw.groups) }]));
function restore(net: SimNetwork, snap: Snapshot): void {
  for (const [n, s] of snap) {
    const sw = net.switches.get(n)!;
    sw.flows = [...s.flows];
    sw.groups = new Map(s.groups);
  }
}
function send(net: SimNetwork, node: string, msgs: Message[]): void {
  for (const msg of msgs) {
    const err = net.switches.get(node)!.apply(msg);
    if (err) throw new Error(`${node} refused a message: ${err}`);
  }
}

/** Frames between every two of `endpoints` (both present in the network): what went wrong, if anything. */
function walkAll(net: SimNetwork, endpoints: Endpoint[]): string[] {
  const problems: string[] = [];
  for (const src of endpoints) {
    for (const dst of endpoints) {
      if (src === dst) continue;
      const r = net.walk(src.at.bridge, src.at.ofport, frame(src, dst));
      const at = r.delivered.filter((d) => d.switch === dst.at.bridge && d.port === dst.at.ofport);
      if (r.looped) problems.push(`${src.name}→${dst.name} loops`);
      else if (at.length === 0) problems.push(`${src.name}→${dst.name} black-holed (delivered at ${JSON.stringify(r.delivered.map((d) => `${d.switch}:${d.port}`))})`);
      else if (r.delivered.length !== 1) problems.push(`${src.name}→${dst.name} delivered ${r.delivered.length} times (${r.delivered.map((d) => `${d.switch}:${d.port}`).join(', ')})`);
    }
  }
  return problems;
}

/** Every non-empty proper subset of `items` when there are few, else each one alone and all but each one. */
function subsets<T>(items: T[]): T[][] {
  if (items.length <= 7) {
    const out: T[][] = [];
    for (let mask = 1; mask < (1 << items.length) - 1; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
    return out;
  }
  return [...items.map((x) => [x]), ...items.map((x) => items.filter((y) => y !== x))];
}

/** The stages the controller computes for the scenario, with the state before them installed in the network. */
function plan(s: Scenario): { stages: TransitionStage[]; desiredAfter: Map<string, SwitchState> } {
  const demandBefore = demandOf(s.endpointsBefore);
  const beforeState = computeDesiredState({ fabric: s.before, endpoints: s.endpointsBefore, demand: demandBefore });
  install(s.net, beforeState);
  // The demand entries stay across the reload; new containers' entries come with their traffic.
  const demand = demandOf(s.endpointsAfter);
  const ctx = forwardingContext({ fabric: s.after, demand });
  const desiredAfter = desiredStateFor(ctx, s.endpointsAfter);
  const diffs = new Map<string, SwitchDiff>();
  for (const [node, state] of desiredAfter) diffs.set(node, diffSwitchState(state, beforeState.get(node) ?? empty, own));
  const where = new Map(s.endpointsAfter.map((e) => [e.mac, e.at.bridge]));
  const stages = stageFabricChange(diffs, ctx, (node) => beforeState.get(node)?.flows, (mac) => where.get(mac.toLowerCase()));
  return { stages, desiredAfter };
}

/** Walks every intermediate state of the scenario's transition; returns the problems found (at most a few per step). */
function walkTransition(s: Scenario): string[] {
  const { stages, desiredAfter } = plan(s);
  const problems: string[] = [];
  // Containers that exist on both sides talk throughout; the new ones once the change is done.
  const macsBefore = new Set(s.endpointsBefore.map((e) => e.mac));
  const steady = s.endpointsAfter.filter((e) => macsBefore.has(e.mac) && s.endpointsBefore.some((b) => b.mac === e.mac && b.at.bridge === e.at.bridge));
  const check = (step: string) => {
    const found = walkAll(s.net, steady);
    if (found.length > 0) problems.push(`${step}: ${found.slice(0, 3).join('; ')}${found.length > 3 ? ` (+${found.length - 3})` : ''}`);
  };
  check('before');
  for (const stage of stages) {
    const base = snapshot(s.net);
    const nodes = [...stage.changes.keys()].sort();
    const msgs = new Map(nodes.map((n) => [n, diffToMessages(stage.changes.get(n)!)]));
    for (const subset of subsets(nodes)) {
      restore(s.net, base);
      for (const n of subset) send(s.net, n, msgs.get(n)!);
      check(`stage "${stage.label}" with only ${subset.join(', ')} done`);
    }
    // One switch part-way through its batch, the others of the stage not started or done.
    for (const n of nodes) {
      const own = msgs.get(n)!;
      for (let k = 1; k < own.length; k++) {
        for (const othersDone of [false, true]) {
          restore(s.net, base);
          if (othersDone) for (const m of nodes) if (m !== n) send(s.net, m, msgs.get(m)!);
          send(s.net, n, own.slice(0, k));
          check(`stage "${stage.label}": ${n} after ${k} of ${own.length} messages, others ${othersDone ? 'done' : 'not started'}`);
        }
      }
    }
    restore(s.net, base);
    for (const n of nodes) send(s.net, n, msgs.get(n)!);
    check(`stage "${stage.label}" done`);
  }
  // The stages end in the desired state exactly.
  for (const [node, state] of desiredAfter) {
    const sw = s.net.switches.get(node)!;
    const held: SwitchState = { flows: sw.flows.map((f) => ({ ...f })), groups: [...sw.groups].map(([groupId, g]) => ({ groupId, groupType: g.groupType, buckets: g.buckets })) as SwitchState['groups'], meters: [] };
    const left = diffSwitchState(state, held, { groupIds: new Set() });
    const extra = left.flowsToDelete.length, missing = left.flowsToAdd.filter((f) => !held.flows.some((h) => h.cookie === f.cookie && h.tableId === f.tableId && h.priority === f.priority && JSON.stringify(h.match) === JSON.stringify(f.match)));
    if (extra > 0 || missing.length > 0) problems.push(`after the last stage ${node} differs from its desired state: ${extra} flows too many, ${missing.length} missing`);
  }
  // Then the removed tunnels go (deprovisioned after the sync).
  for (const [node, port] of s.removedTunnels) s.net.unlink(node, port);
  check('removed tunnels deprovisioned');
  // Every container, new ones included, reaches every other in the end.
  const all = walkAll(s.net, s.endpointsAfter);
  if (all.length > 0) problems.push(`at the end: ${all.slice(0, 3).join('; ')}`);
  return problems;
}

t.test('reload-ovs (1): region EDGE-TR2 joins two-region, closing the ring sw1-sw2-sw3-sw4', async (t) => {
  const s = topologyScenario('two-region → three-region', twoRegion, threeRegion);
  t.ok(s.before.bridges.get('sw1')!.tunnels.every((tn) => s.after.bridges.get('sw1')!.tunnels.some((u) => u.peer === tn.peer && u.ofport === tn.ofport)), 'the tunnels that stay keep their port numbers');
  t.same(walkTransition(s), [], 'every step delivers web, db and client to each other exactly once');
});

t.test('reload-ovs (2): link sw1~sw2 leaves three-region', async (t) => {
  const s = topologyScenario('three-region − sw1~sw2', threeRegion, shrunk);
  t.same(s.removedTunnels.length, 1, 'one tunnel goes');
  t.same(walkTransition(s), [], 'every step delivers web, db, client and far to each other exactly once');
});

t.test('generated reloads: regions added, links removed and added, on rings, lines and trees', async (t) => {
  for (const s of generatedScenarios()) t.same(walkTransition(s), [], s.name);
});
