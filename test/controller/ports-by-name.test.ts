/**
 * Ports are known by name; their numbers come from the switch (PORT_DESC, PORT_STATUS), never
 * from the plan alone: fake switches here number every port otherwise than the plan.
 */
import t from 'tap';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { cutPort, makeWorld, type Renumber, walkBetween } from './world.js';
import { join } from 'node:path';
import { repoRoot } from '../util/paths.js';

/** Per node, ports numbered 2, 3, ... in reverse name order: unrelated to the plan's numbers. */
function handNumbering(topology: ResolvedTopology): Renumber {
  const numbers = new Map<string, number>();
  for (const node of Object.values(topology.nodes)) {
    const names = node.bridge.ports.map((p) => p.name).sort().reverse();
    names.forEach((name, i) => numbers.set(`${node.name}/${name}`, i + 2));
  }
  return (node, port) => numbers.get(`${node}/${port}`)!;
}

async function twoRegion(): Promise<ResolvedTopology> {
  return loadTopology(join(repoRoot(), 'topologies', 'two-region.json'));
}

t.test('an overlay numbered by hand: every container reaches every other at the numbers its switches report', async (t) => {
  const topology = await twoRegion();
  const renumber = handNumbering(topology);
  const w = await makeWorld(topology, { renumber });
  t.teardown(() => w.close());
  for (const node of Object.values(topology.nodes)) {
    for (const p of node.bridge.ports) t.not(renumber(node.name, p.name, p.ofport), p.ofport, `${node.name} ${p.name} is not at the planned number`);
  }
  const names = Object.keys(topology.containers);
  for (const a of names) for (const b of names) {
    if (a === b) continue;
    const dst = topology.containers[b]!;
    const r = walkBetween(w, a, b);
    t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), [`${dst.node}:${w.ofport(dst.node, dst.port)}`], `${a} → ${b} delivered at the reported port`);
    t.same(r.toController, [], `${a} → ${b} needs no packet-in`);
  }
  for (const name of names) {
    const c = topology.containers[name]!;
    t.equal(w.app.controller.locations.get(name)!.ofport, w.ofport(c.node, c.port), `${name}: location follows the reported number`);
  }
});

t.test('a tunnel port and a container port recreated under other numbers while running are followed', async (t) => {
  const topology = await twoRegion();
  const w = await makeWorld(topology);
  t.teardown(() => w.close());
  const link = topology.links.find((l) => l.a.node === 'sw1' && l.b.node === 'sw2')!;
  const sw1 = w.switches.get('sw1')!;
  // The tunnel on sw1 towards sw2 is deleted and re-added as 3333.
  await cutPort(w, 'sw1', link.a.ofport);
  t.notOk(walkBetween(w, 'web', 'client').delivered.some((d) => d.switch === 'h4'), 'with the only path gone, nothing reaches h4');
  sw1.addPort(fakePort(3333, link.a.port));
  w.net.link('sw1', 3333, 'sw2', link.b.ofport);
  // The container port of "client" on h4 is recreated as 4444.
  const client = topology.containers['client']!;
  const h4 = w.switches.get('h4')!;
  h4.removePort(client.ofport);
  h4.addPort(fakePort(4444, client.port));
  for (let i = 0; i < 200 && w.app.controller.locations.get('client')!.ofport !== 4444; i++) await new Promise((r) => setTimeout(r, 10));
  await w.waitSettled();
  t.equal(w.app.controller.locations.get('client')!.ofport, 4444, 'the location took the new number');
  t.same(walkBetween(w, 'web', 'client').delivered.map((d) => `${d.switch}:${d.port}`), ['h4:4444'], 'web → client over the renumbered tunnel to the renumbered port');
  t.same(walkBetween(w, 'client', 'web').delivered.map((d) => `${d.switch}:${d.port}`), [`h1:${topology.containers['web']!.ofport}`], 'and back');
  const stale = w.tables.get('sw1')!.flows.filter((f) => JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(`"port":${link.a.ofport}`));
  t.same(stale, [], 'no flow on sw1 outputs to the old tunnel number');
});

t.test('tunnel ports named in the topology: the plan and the forwarding use those names', async (t) => {
  const { resolveTopology } = await import('../../src/topology/load.js');
  const { readFileSync } = await import('node:fs');
  const doc = JSON.parse(readFileSync(join(repoRoot(), 'topologies', 'two-region.json'), 'utf8')) as { links: Record<string, string>[] };
  doc.links[0]!['switch_tunnel'] = 'vxlan-east';
  doc.links[0]!['peer_tunnel'] = 'vxlan-west';
  doc.links[2]!['host_tunnel'] = 'uplink0';
  const topology = resolveTopology(doc);
  t.equal(topology.links[0]!.a.port, 'vxlan-east');
  t.equal(topology.links[0]!.b.port, 'vxlan-west');
  t.equal(topology.links[2]!.b.port, 'uplink0');
  t.ok(topology.nodes['h1']!.bridge.ports.some((p) => p.kind === 'tunnel' && p.name === 'uplink0'), 'h1 plans its tunnel as uplink0');
  const w = await makeWorld(topology, { renumber: handNumbering(topology) });
  t.teardown(() => w.close());
  const web = topology.containers['web']!;
  t.same(walkBetween(w, 'client', 'web').delivered.map((d) => `${d.switch}:${d.port}`), [`h1:${w.ofport('h1', web.port)}`], 'client → web over the named tunnels');
});
