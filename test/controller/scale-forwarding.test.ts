/**
 * Forwarding on generated topologies (src/topology/generate.ts), walked through simulated
 * switches: a migration across a tree and across a ring with cycles delivers in every
 * intermediate state without loops, touches only the two edges and the ingress entries of the
 * mover, and transit switches hold nothing per container.
 */
import t from 'tap';
import { generateTopology, type GeneratedShape } from '../../src/topology/generate.js';
import { resolveTopology } from '../../src/topology/load.js';
import { fabricFromTopology } from '../../controller/core/topology-fabric.js';
import { BridgeMacs, computeDesiredState, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { levelsTowards, planTransition } from '../../controller/core/transition.js';
import { diffToMessages, isEmptyDiff } from '../../controller/core/diff.js';
import { Paths, type Endpoint, type Fabric } from '../../controller/core/fabric.js';
import { cookieKind, RuleKind } from '../../controller/core/cookies.js';
import type { SwitchState } from '../../controller/core/flows.js';
import { SimNetwork } from '../../src/openflow-sim/network.js';
import { allDemand, applyStages, own } from './fabric-fixture.js';

const FIRST_PORT = 4096;

function world(shape: GeneratedShape, bridges: number, containers: number) {
  const file = generateTopology({ shape, bridges, containers });
  const topology = resolveTopology({ ...file, containers: {} });
  const located = new Map<string, number[]>();
  const endpoints: Endpoint[] = [];
  for (const [name, c] of Object.entries(file.containers!)) {
    const ports = located.get(c.host) ?? [];
    located.set(c.host, ports);
    const ofport = FIRST_PORT + ports.length;
    ports.push(ofport);
    endpoints.push({ name, mac: c.mac, ip: c.ip, at: { bridge: c.host, ofport } });
  }
  const net = new SimNetwork();
  for (const name of Object.keys(topology.nodes)) net.addSwitch(name);
  for (const l of topology.links) net.link(l.a.node, l.a.ofport, l.b.node, l.b.ofport);
  return { topology, located, endpoints, net, fabric: fabricFromTopology(topology, new Map(), located) };
}

function withEdgePort(fabric: Fabric, bridge: string, ofport: number): Fabric {
  const bridges = new Map(fabric.bridges);
  const b = bridges.get(bridge)!;
  bridges.set(bridge, { ...b, edgePorts: [...b.edgePorts, ofport].sort((x, y) => x - y) });
  return { bridges };
}


for (const shape of ['tree', 'ring'] as GeneratedShape[]) {
  t.test(`migration across a generated ${shape}: every stage delivers, never loops, touches only switches near its paths`, async (t) => {
    const { endpoints, net, fabric, topology, located } = world(shape, 48, 60);
    const hosts = Object.values(topology.nodes).filter((n) => n.kind === 'host').map((n) => n.name);
    const mover = endpoints[0]!;
    const paths = new Paths(fabric);
    const target = hosts.reduce((best, h) => ((paths.distance(h, mover.at.bridge) ?? -1) > (paths.distance(best, mover.at.bridge) ?? -1) ? h : best), hosts[0]!);
    const newPort = FIRST_PORT + located.get(target)!.length;
    // One sender on every host but the mover's (frames from its own bridge are covered by others' tests).
    const senders = hosts.filter((h) => h !== mover.at.bridge).map((h) => endpoints.find((e) => e.at.bridge === h)!);

    // Every host has sent to every container (the most ingress entries there can be).
    const demand = allDemand(fabric, endpoints);
    const before = computeDesiredState({ fabric, endpoints, demand });
    applyStages(net, planTransition(new Map<string, SwitchState>(), before, [], own), () => {});
    for (const [name, state] of before) {
      const arp = state.flows.filter((f) => cookieKind(f.cookie) === RuleKind.PROXY_ARP).length;
      if (topology.nodes[name]!.kind === 'switch') t.equal(arp, 0, `transit switch ${name} holds no proxy-ARP flow`);
      else t.equal(arp, 1, `host ${name}: one proxy-ARP flow, none per IP`);
    }
    // Transit tables do not depend on the containers at all.
    const fewer = computeDesiredState({ fabric, endpoints: endpoints.slice(0, 5), demand });
    for (const [name, state] of before) {
      if (topology.nodes[name]!.kind === 'switch') t.equal(state.flows.length, fewer.get(name)!.flows.length, `transit switch ${name}: ${state.flows.length} flows with 5 or ${endpoints.length} containers`);
    }

    const moved = withEdgePort(fabric, target, newPort);
    const migration: MigrationInProgress = { name: mover.name, mac: mover.mac, from: mover.at, to: { bridge: target, ofport: newPort } };
    const prepared = computeDesiredState({ fabric: moved, endpoints, migrations: [migration], demand });
    const levels = levelsTowards(fabric.bridges.keys(), (b) => paths.distance(b, target));
    const oldPort = `${mover.at.bridge}:${mover.at.ofport}`;
    const newAt = `${target}:${newPort}`;
    let failures = 0;
    const check = (label: string, must: string[], may: string[] = []) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, { eth_src: s.mac, eth_dst: mover.mac, eth_type: 0x0800, ipv4_src: s.ip!, ipv4_dst: mover.ip! });
        const at = r.delivered.map((d) => `${d.switch}:${d.port}`);
        const extra = at.filter((x) => !must.includes(x));
        const ok = !r.looped && r.delivered.every((d) => d.frame.vlan_vid === undefined) &&
          must.every((p) => at.filter((x) => x === p).length === 1) && extra.every((x) => may.includes(x)) && new Set(extra).size === extra.length;
        if (!ok) t.fail(`${label}: from ${s.name} at ${s.at.bridge}: delivered [${at.join(' ')}]${r.looped ? ', looped' : ''}`, { failures: ++failures });
      }
    };
    check('before', [oldPort]);
    applyStages(net, planTransition(before, prepared, levels, own), (label) => check(`prepare/${label}`, [oldPort], [newAt]));
    check('prepared', [oldPort, newAt]);

    const departed = new BridgeMacs();
    departed.add(mover.at.bridge, mover.mac);
    const committed = computeDesiredState({ fabric: moved, endpoints: [{ ...mover, at: { bridge: target, ofport: newPort } }, ...endpoints.slice(1)], demand, departed });
    const flip = planTransition(prepared, committed, levels, own);
    applyStages(net, flip, (label) => check(`flip/${label}`, [newAt], [oldPort]));
    check('committed', [newAt]);
    t.equal(failures, 0, `${senders.length} senders delivered in every stage`);

    // The commit touches the two edges and the bridges holding an ingress entry for the mover,
    // never a transit switch.
    const touched = new Set<string>();
    for (const stage of flip) for (const [name, d] of stage.changes) if (!isEmptyDiff(d)) touched.add(name);
    const expected = new Set([mover.at.bridge, target, ...demand.bridgesOf(mover.mac)!]);
    t.ok([...touched].every((b) => expected.has(b)), `commit touched ${touched.size} bridges: the edges and the ingress entries' (${expected.size})`);
    t.ok([...touched].every((b) => topology.nodes[b]!.kind === 'host'), 'no transit switch');
  });
}
