/**
 * Builds matching pairs of (Fabric for the pure forwarding code, SimNetwork to walk frames
 * through) from a compact description: bridges and the tunnels between them.
 */
import { Paths, type Endpoint, type Fabric, type FabricBridge } from '../../controller/core/fabric.js';
import { BridgeMacs, computeDesiredState, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { diffSwitchState, diffToMessages } from '../../controller/core/diff.js';
import type { SwitchState } from '../../controller/core/flows.js';
import { SimNetwork } from '../../src/openflow-sim/network.js';
import { levelsTowards, planTransition } from '../../controller/core/transition.js';

/** Tunnel ports are numbered from 100 in the order links are listed; edge ports from 1. */
export function buildFabric(bridges: string[], links: [string, string][], edgePorts: Record<string, number[]> = {}): { fabric: Fabric; net: SimNetwork } {
  const map = new Map<string, FabricBridge>();
  const net = new SimNetwork();
  let dpid = 1n;
  for (const name of bridges) {
    map.set(name, { name, dpid: dpid++, tunnels: [], edgePorts: edgePorts[name] ?? [1, 2, 3] });
    net.addSwitch(name);
  }
  const nextPort = new Map(bridges.map((b) => [b, 100]));
  for (const [a, b] of links) {
    const pa = nextPort.get(a)!;
    const pb = nextPort.get(b)!;
    nextPort.set(a, pa + 1);
    nextPort.set(b, pb + 1);
    map.get(a)!.tunnels.push({ ofport: pa, peer: b, up: true });
    map.get(b)!.tunnels.push({ ofport: pb, peer: a, up: true });
    net.link(a, pa, b, pb);
  }
  return { fabric: { bridges: map }, net };
}

export const empty: SwitchState = { flows: [], groups: [], meters: [] };

/** Brings every simulated switch from `before` to the desired state; returns it. */
export function install(net: SimNetwork, desired: Map<string, SwitchState>, before?: Map<string, SwitchState>, only?: string[]): void {
  for (const [name, state] of desired) {
    if (only && !only.includes(name)) continue;
    const sw = net.switches.get(name)!;
    const diff = diffSwitchState(state, before?.get(name) ?? empty, { groupIds: new Set([1]), meterIds: new Set([1]) });
    for (const msg of diffToMessages(diff)) {
      const err = sw.apply(msg);
      if (err) throw new Error(`${name} refused a message: ${err}`);
    }
  }
}

/**
 * The desired state; by default every bridge with edge ports demands every endpoint (as if each
 * had sent to each: the tests that walk frames between endpoints check forwarding, the demand
 * path has its own tests).
 */
export function desired(fabric: Fabric, endpoints: Endpoint[], migrations: MigrationInProgress[] = [], wants: { demand?: BridgeMacs; departed?: BridgeMacs } = {}) {
  return computeDesiredState({ fabric, endpoints, migrations, demand: wants.demand ?? allDemand(fabric, endpoints), ...(wants.departed ? { departed: wants.departed } : {}) });
}

/** Every bridge with edge ports demands every endpoint's MAC. */
export function allDemand(fabric: Fabric, endpoints: readonly Endpoint[]): BridgeMacs {
  const demand = new BridgeMacs();
  for (const b of fabric.bridges.values()) if (b.edgePorts.length > 0) for (const e of endpoints) demand.add(b.name, e.mac);
  return demand;
}

export function ep(name: string, n: number, bridge: string, ofport: number): Endpoint {
  const hex = n.toString(16).padStart(2, '0');
  return { name, mac: `02:00:00:00:00:${hex}`, ip: `10.0.0.${n}`, at: { bridge, ofport } };
}

/** A unicast IPv4 frame from `src` to `dst`. */
export function frame(src: Endpoint, dst: { mac: string; ip?: string }) {
  return { eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ipv4_src: src.ip!, ipv4_dst: dst.ip ?? '10.0.0.254' };
}

/** The group and meter ids a transition may touch (the flood group and the packet-in meter). */
export const own = { groupIds: new Set([1]), meterIds: new Set([1]) };

/** Applies a transition's stages to the simulated switches, calling `after` once each stage is in. */
export function applyStages(net: SimNetwork, stages: ReturnType<typeof planTransition>, after: (label: string) => void): void {
  for (const stage of stages) {
    for (const [name, d] of stage.changes) {
      for (const msg of diffToMessages(d)) {
        const err = net.switches.get(name)!.apply(msg);
        if (err) throw new Error(`${name}: ${err}`);
      }
    }
    after(stage.label);
  }
}

/**
 * Applies `stages` as the controller may see them land: within each stage every non-empty
 * proper subset of its switches done (their barriers come back in any order), and each switch
 * part-way through its batch with the stage's other switches not started or done; `after` is
 * called at each such step (with what was done) and once the stage is complete.
 */
export function applyStagesStepwise(net: SimNetwork, stages: ReturnType<typeof planTransition>, after: (step: string) => void): void {
  const send = (node: string, msgs: ReturnType<typeof diffToMessages>) => {
    for (const msg of msgs) {
      const err = net.switches.get(node)!.apply(msg);
      if (err) throw new Error(`${node}: ${err}`);
    }
  };
  for (const stage of stages) {
    const base = new Map([...net.switches].map(([n, sw]) => [n, { flows: [...sw.flows], groups: new Map(sw.groups) }]));
    const restore = () => {
      for (const [n, saved] of base) {
        const sw = net.switches.get(n)!;
        sw.flows = [...saved.flows];
        sw.groups = new Map(saved.groups);
      }
    };
    const nodes = [...stage.changes.keys()].sort();
    const msgs = new Map(nodes.map((n) => [n, diffToMessages(stage.changes.get(n)!)]));
    for (let mask = 1; mask < (1 << nodes.length) - 1; mask++) {
      const subset = nodes.filter((_, i) => mask & (1 << i));
      restore();
      for (const n of subset) send(n, msgs.get(n)!);
      after(`${stage.label} with only ${subset.join(' ')} done`);
    }
    for (const n of nodes) {
      const own = msgs.get(n)!;
      for (let k = 1; k < own.length; k++) {
        for (const othersDone of [false, true]) {
          restore();
          if (othersDone) for (const m of nodes) if (m !== n) send(m, msgs.get(m)!);
          send(n, own.slice(0, k));
          after(`${stage.label}: ${n} after ${k} of ${own.length} messages, others ${othersDone ? 'done' : 'not started'}`);
        }
      }
    }
    restore();
    for (const n of nodes) send(n, msgs.get(n)!);
    after(stage.label);
  }
}

/** Small fabrics a migration is walked across: a line, two regions, a ring (a cycle), one bridge. */
export const migrationTopologies: { name: string; bridges: string[]; links: [string, string][]; from: [string, number]; to: [string, number] }[] = [
  { name: 'line', bridges: ['a', 'b', 'c', 'd'], links: [['a', 'b'], ['b', 'c'], ['c', 'd']], from: ['a', 1], to: ['d', 2] },
  { name: 'two regions', bridges: ['core', 'edge', 'hc1', 'hc2', 'he1'], links: [['core', 'edge'], ['core', 'hc1'], ['core', 'hc2'], ['edge', 'he1']], from: ['hc1', 1], to: ['he1', 2] },
  { name: 'ring', bridges: ['a', 'b', 'c', 'd', 'e'], links: [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'a']], from: ['a', 1], to: ['c', 2] },
  { name: 'same bridge', bridges: ['a', 'b'], links: [['a', 'b']], from: ['a', 1], to: ['a', 2] },
];

/** Levels towards `towards` by hop distance, nearest first (as the shell orders a flip). */
export const levelsFor = (fabric: Fabric, towards: string) => levelsTowards(fabric.bridges.keys(), (b) => new Paths(fabric).distance(b, towards));

/**
 * Plans the change from `before` to `after` and applies it message by message, calling `check`
 * after each with `stage/switch#message`.
 */
export function walkTransition(net: SimNetwork, before: Map<string, SwitchState>, after: Map<string, SwitchState>, lv: string[][], check: (label: string) => void): void {
  for (const stage of planTransition(before, after, lv, own)) {
    for (const [name, d] of stage.changes) {
      for (const [i, msg] of diffToMessages(d).entries()) {
        const err = net.switches.get(name)!.apply(msg);
        if (err) throw new Error(`${name}: ${err}`);
        check(`${stage.label}/${name}#${i}`);
      }
    }
  }
}
