/**
 * The resolver: defaults, derived identifiers, their invariants and their stability. Derived
 * identifiers end up in running switches (datapath ids, VNIs, ofport_request), so editing an
 * unrelated part of a file must never change them.
 */
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { resolveTopology } from '../../src/topology/load.js';
import {
  OFPORT_CONTAINER_MAX,
  OFPORT_CONTAINER_MIN,
  OFPORT_INTERNAL,
  OFPORT_TUNNEL_MAX,
  OFPORT_TUNNEL_MIN,
  preferredContainerOfport,
  preferredDpid,
  preferredTunnelOfport,
  preferredVni,
  formatDpid,
} from '../../src/topology/derive.js';
import { nodeByDpid } from '../../src/topology/query.js';
import { MESSAGE_PROBLEMS, TopologyError } from '../../src/topology/problems.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { base, exampleFiles } from './fixtures.js';

/** Every identifier a deployment depends on, by a key that does not depend on file order. */
function identifiers(topo: ResolvedTopology): Map<string, string> {
  const ids = new Map<string, string>();
  for (const node of Object.values(topo.nodes)) {
    ids.set(`dpid ${node.name}`, node.bridge.dpid);
    ids.set(`bridge ${node.name}`, node.bridge.name);
    for (const p of node.bridge.ports) {
      const what = p.kind === 'tunnel' ? `tunnel to ${p.peer}` : p.kind === 'container' ? `container ${p.container}` : 'internal';
      ids.set(`port ${node.name} ${what}`, `${p.name}#${p.ofport}`);
    }
  }
  for (const l of topo.links) ids.set(`vni ${[l.a.node, l.b.node].sort().join('-')}`, String(l.vni));
  for (const c of Object.values(topo.containers)) ids.set(`container ${c.name}`, `${c.bridge}/${c.port}#${c.ofport}`);
  return ids;
}

function assertKept(t: Test, before: Map<string, string>, after: Map<string, string>, what: string) {
  const changed = [...before].filter(([k, v]) => after.has(k) && after.get(k) !== v).map(([k, v]) => `${k}: ${v} -> ${after.get(k)}`);
  t.same(changed, [], `${what}: no identifier changed`);
}

t.test('defaults are filled in', async (t) => {
  const topo = resolveTopology(base());
  t.same(topo.controller, { host: '127.0.0.1', port: 6633, target: 'tcp:127.0.0.1:6633' });
  t.same(topo.overlay, { cidr: '192.168.200.0/24', network: '192.168.200.0', prefixLength: 24, netmask: '255.255.255.0' });
  t.equal(topo.description, null);
  const sw2 = topo.nodes['sw2']!;
  t.equal(sw2.flavor, 'm1.small');
  t.equal(topo.nodes['h1']!.flavor, 'm1.tiny');
  t.equal(sw2.bridge.name, 'sw2_br');
  t.same(sw2.ssh, { user: 'root', port: 22, key: null });
  t.equal(sw2.underlayIp, null);
  t.equal(sw2.bridge.internalPort, null, 'a switch without internal_port has none');
  t.same(topo.nodes['sw1']!.bridge.internalPort, { kind: 'internal', name: 'p1', ofport: OFPORT_INTERNAL, ip: '192.168.200.1', prefixLength: 24 });
  t.same(topo.nodes['h1']!.bridge.internalPort, { kind: 'internal', name: 'int-h1', ofport: OFPORT_INTERNAL, ip: '192.168.200.11', prefixLength: 24 });
  t.same(topo.containers['c1'], {
    name: 'c1',
    mac: '02:00:00:00:00:01',
    ip: '192.168.200.101',
    node: 'h1',
    bridge: 'h1_br',
    port: 'c-c1',
    ofport: topo.containers['c1']!.ofport,
  });
  t.same(Object.keys(topo.nodes), ['sw1', 'sw2', 'h1', 'h2'], 'file order kept');
});

t.test('explicit values are used as written', async (t) => {
  const f = base();
  f.controller = 'ctl.example.net:6653';
  f.overlay_subnet = '10.20.0.0/16';
  f.nodes.sw1 = { kind: 'switch', region: 'CORE', flavor: 'm1.large', bridge: 'br-core', dpid: '00000000000000AA', controller: '[fd00::1]:6633', underlay_ip: '10.0.0.1', ssh: { user: 'ubuntu', key: '/keys/id' } };
  f.nodes.sw2.underlay_ip = '10.0.0.2';
  f.links[0].vni = 42;
  f.links[1] = { ...f.links[1], overlay_ip: '10.20.1.1', port: 'ovl0' };
  f.links[2].overlay_ip = '10.20.1.2';
  f.containers = { web: { mac: '02:AA:00:00:00:01', ip: '10.20.2.1', host: 'h1', port: 'eth-web' } };
  const topo = resolveTopology(f);
  t.same(topo.controller, { host: 'ctl.example.net', port: 6653, target: 'tcp:ctl.example.net:6653' });
  t.same(topo.overlay.netmask, '255.255.0.0');
  const sw1 = topo.nodes['sw1']!;
  t.equal(sw1.flavor, 'm1.large');
  t.equal(sw1.bridge.name, 'br-core');
  t.equal(sw1.bridge.dpid, '00000000000000aa', 'lower case');
  t.same(sw1.bridge.controller, { host: 'fd00::1', port: 6633, target: 'tcp:[fd00::1]:6633' });
  t.same(sw1.ssh, { user: 'ubuntu', port: 22, key: '/keys/id' });
  t.same(topo.nodes['sw2']!.bridge.controller, topo.controller, 'others use the top-level controller');
  t.equal(topo.links[0]!.vni, 42);
  const tunnel = sw1.bridge.ports.find((p) => p.kind === 'tunnel' && p.peer === 'sw2');
  t.match(tunnel, { vni: 42, localIp: '10.0.0.1', remoteIp: '10.0.0.2', peerBridge: 'sw2_br' });
  t.same(topo.nodes['h1']!.bridge.internalPort, { kind: 'internal', name: 'ovl0', ofport: 1, ip: '10.20.1.1', prefixLength: 16 });
  t.match(topo.containers['web'], { mac: '02:aa:00:00:00:01', port: 'eth-web', bridge: 'h1_br' });
  t.equal(nodeByDpid(topo, 0xaan)?.name, 'sw1');
  t.equal(nodeByDpid(topo, '00000000000000AA')?.name, 'sw1');
  t.equal(nodeByDpid(topo, 0xabn), undefined);
});

t.test('graph views', async (t) => {
  const topo = resolveTopology(base());
  const sw1 = topo.nodes['sw1']!;
  t.equal(sw1.kind, 'switch');
  if (sw1.kind === 'switch') t.same([sw1.switches, sw1.hosts], [['sw2'], ['h1']]);
  const h2 = topo.nodes['h2']!;
  t.equal(h2.kind, 'host');
  if (h2.kind === 'host') t.same(h2.uplink, { switch: 'sw2', link: 2, overlayIp: '192.168.200.12' });
  t.same(Object.keys(topo.switchGraph), ['sw1', 'sw2']);
  const edge = topo.switchGraph['sw1']![0]!;
  t.match(edge, { switch: 'sw2', port: 'vx-sw2', link: 0, vni: topo.links[0]!.vni });
  t.equal(topo.links[1]!.kind, 'switch-host');
  t.match(topo.links[1], { a: { node: 'sw1', port: 'vx-h1' }, b: { node: 'h1', port: 'vx-sw1' }, overlayIp: '192.168.200.11' });
});

function checkInvariants(t: Test, topo: ResolvedTopology) {
  const dpids = new Set<string>();
  const bridges = new Set<string>();
  const vnis = new Set<number>();
  const containerOfports = new Set<number>();
  for (const node of Object.values(topo.nodes)) {
    const b = node.bridge;
    t.match(b.dpid, /^[0-9a-f]{16}$/, `${node.name}: dpid format`);
    t.notOk(dpids.has(b.dpid), `${node.name}: dpid unique`);
    dpids.add(b.dpid);
    t.equal(topo.dpids[b.dpid], node.name);
    t.ok(b.name.length <= 15 && !bridges.has(b.name), `${node.name}: bridge name fits and is unique`);
    bridges.add(b.name);
    const names = new Set<string>();
    const ofports = new Set<number>();
    let last = 0;
    for (const p of b.ports) {
      t.ok(p.name.length <= 15, `${node.name}/${p.name}: name fits IFNAMSIZ`);
      t.not(p.name, b.name);
      t.notOk(names.has(p.name), `${node.name}/${p.name}: name unique on the bridge`);
      t.notOk(ofports.has(p.ofport), `${node.name}/${p.name}: ofport unique on the bridge`);
      t.ok(p.ofport > last, 'ports sorted by ofport');
      last = p.ofport;
      names.add(p.name);
      ofports.add(p.ofport);
      if (p.kind === 'internal') t.equal(p.ofport, OFPORT_INTERNAL);
      if (p.kind === 'tunnel') {
        t.ok(p.ofport >= OFPORT_TUNNEL_MIN && p.ofport <= OFPORT_TUNNEL_MAX, 'tunnel ofport range');
        const back = topo.nodes[p.peer]!.bridge.ports.find((q) => q.kind === 'tunnel' && q.peer === node.name);
        t.match(back, { ofport: p.peerOfport, vni: p.vni, peerOfport: p.ofport, link: p.link }, `${node.name}->${p.peer}: both ends agree`);
      }
      if (p.kind === 'container') {
        t.ok(p.ofport >= OFPORT_CONTAINER_MIN && p.ofport <= OFPORT_CONTAINER_MAX, 'container ofport range');
        t.notOk(containerOfports.has(p.ofport), 'container ofport unique across the topology');
        containerOfports.add(p.ofport);
        t.equal(topo.containers[p.container]!.node, node.name);
      }
    }
  }
  for (const l of topo.links) {
    t.ok(l.vni >= 1 && l.vni <= 0xffffff && !vnis.has(l.vni), `links[${l.index}]: VNI valid and unique`);
    vnis.add(l.vni);
  }
  for (const [sw, adj] of Object.entries(topo.switchGraph)) {
    for (const e of adj) t.ok(topo.switchGraph[e.switch]!.some((x) => x.switch === sw && x.link === e.link), `${sw}-${e.switch} symmetric`);
  }
}

t.test('invariants hold for every example', async (t) => {
  for (const file of exampleFiles()) {
    t.test(file.replace(/^.*\//, ''), async (t) => checkInvariants(t, resolveTopology(JSON.parse(readFileSync(file, 'utf8')))));
  }
});

t.test('adding nodes, links and containers changes no existing identifier', async (t) => {
  const f = base();
  const before = identifiers(resolveTopology(f));
  f.nodes.sw3 = { kind: 'switch', region: 'EDGE' };
  f.nodes.h3 = { kind: 'host', region: 'EDGE' };
  f.links.push({ switch: 'sw3', peer: 'sw1' }, { switch: 'sw2', peer: 'sw3' }, { switch: 'sw3', host: 'h3', overlay_ip: '192.168.200.13' });
  f.containers.c3 = { mac: '02:00:00:00:00:03', ip: '192.168.200.103', host: 'h1' };
  const after = identifiers(resolveTopology(f));
  assertKept(t, before, after, 'append');
  t.ok(after.size > before.size);

  // Inserting at the front (not only appending) keeps them too, absent hash collisions.
  const g = base();
  g.nodes = { sw0: { kind: 'switch', region: 'EDGE' }, ...g.nodes };
  g.links.unshift({ switch: 'sw0', peer: 'sw1' });
  g.containers = { c0: { mac: '02:00:00:00:00:10', ip: '192.168.200.110', host: 'h2' }, ...g.containers };
  assertKept(t, before, identifiers(resolveTopology(g)), 'prepend');
});

t.test('removing and reordering changes no other identifier', async (t) => {
  const before = identifiers(resolveTopology(base()));
  const f = base();
  delete f.containers.c1;
  assertKept(t, before, identifiers(resolveTopology(f)), 'remove a container');
  const r = base();
  r.nodes = Object.fromEntries(Object.entries(r.nodes).reverse());
  r.links.reverse();
  r.containers = Object.fromEntries(Object.entries(r.containers).reverse());
  t.same(identifiers(resolveTopology(r)), before, 'reversed file: same identifiers');
});

t.test('growing the largest example keeps every identifier', async (t) => {
  const file = exampleFiles().find((f) => f.endsWith('paper-24.json'))!;
  const f = JSON.parse(readFileSync(file, 'utf8'));
  const before = identifiers(resolveTopology(f));
  for (let i = 1; i <= 10; i++) {
    f.nodes[`x${i}`] = { kind: 'switch', region: 'EDGE-NEW' };
    f.nodes[`xh${i}`] = { kind: 'host', region: 'EDGE-NEW' };
    f.links.push({ switch: `x${i}`, peer: i === 1 ? 'core1' : `x${i - 1}` }, { switch: `x${i}`, host: `xh${i}`, overlay_ip: `192.168.200.${200 + i}` });
    f.containers[`xc${i}`] = { mac: `02:00:00:00:01:${(i + 16).toString(16)}`, ip: `192.168.200.${220 + i}`, host: `xh${i}` };
  }
  assertKept(t, before, identifiers(resolveTopology(f)), 'ten more switches, hosts and containers');
});

/** Two names whose preferred numbers collide under `fn`. */
function collidingNames(prefix: string, fn: (name: string) => number | bigint): [string, string] {
  const seen = new Map<number | bigint, string>();
  for (let i = 0; ; i++) {
    const name = `${prefix}${i}`;
    const v = fn(name);
    const prior = seen.get(v);
    if (prior !== undefined) return [prior, name];
    seen.set(v, name);
  }
}

t.test('colliding container ofports: the earlier keeps its number, appending moves nothing', async (t) => {
  const [a, b] = collidingNames('k', preferredContainerOfport);
  const pref = preferredContainerOfport(a);
  const f = base();
  f.containers = {
    [a]: { mac: '02:00:00:00:00:0a', ip: '192.168.200.150', host: 'h1' },
    [b]: { mac: '02:00:00:00:00:0b', ip: '192.168.200.151', host: 'h2' },
  };
  const topo = resolveTopology(f);
  t.equal(topo.containers[a]!.ofport, pref);
  t.equal(topo.containers[b]!.ofport, pref === OFPORT_CONTAINER_MAX ? OFPORT_CONTAINER_MIN : pref + 1, 'next free number');
  f.containers.zz = { mac: '02:00:00:00:00:0c', ip: '192.168.200.152', host: 'h1' };
  const grown = resolveTopology(f);
  t.same([grown.containers[a]!.ofport, grown.containers[b]!.ofport], [topo.containers[a]!.ofport, topo.containers[b]!.ofport]);
});

t.test('colliding tunnel ofports on one bridge get distinct numbers', async (t) => {
  const [p, q] = collidingNames('s', preferredTunnelOfport);
  const f = {
    name: 'collide',
    nodes: { hub: { kind: 'switch', region: 'R' }, [p]: { kind: 'switch', region: 'R' }, [q]: { kind: 'switch', region: 'R' } },
    links: [
      { switch: 'hub', peer: p },
      { switch: 'hub', peer: q },
    ],
  };
  const hub = resolveTopology(f).nodes['hub']!.bridge.ports;
  const pref = preferredTunnelOfport(p);
  t.same(
    hub.map((x) => [x.name, x.ofport]),
    [
      [`vx-${p}`, pref],
      [`vx-${q}`, pref + 1],
    ],
  );
});

t.test('pinned values win; derived ones step aside', async (t) => {
  const f = base();
  f.nodes.sw1.dpid = formatDpid(preferredDpid('sw2'));
  const topo = resolveTopology(f);
  t.equal(topo.nodes['sw1']!.bridge.dpid, formatDpid(preferredDpid('sw2')));
  t.equal(topo.nodes['sw2']!.bridge.dpid, formatDpid(preferredDpid('sw2') + 1n));

  const g = base();
  g.links[2].vni = preferredVni('sw1', 'sw2');
  const topo2 = resolveTopology(g);
  t.equal(topo2.links[2]!.vni, preferredVni('sw1', 'sw2'));
  t.equal(topo2.links[0]!.vni, preferredVni('sw1', 'sw2') + 1);
});

t.test('long names are shortened to distinct interface names', async (t) => {
  const f = {
    name: 'long',
    nodes: {
      'edge-switch-toronto-1': { kind: 'switch', region: 'R' },
      'edge-switch-toronto-2': { kind: 'switch', region: 'R' },
      'a-host-with-a-long-name': { kind: 'host', region: 'R' },
    },
    links: [
      { switch: 'edge-switch-toronto-1', peer: 'edge-switch-toronto-2' },
      { switch: 'edge-switch-toronto-1', host: 'a-host-with-a-long-name', overlay_ip: '192.168.200.5' },
    ],
    containers: { 'a-container-with-a-long-name': { mac: '02:00:00:00:00:01', ip: '192.168.200.6', host: 'a-host-with-a-long-name' } },
  };
  const topo = resolveTopology(f);
  checkInvariants(t, topo);
  const b1 = topo.nodes['edge-switch-toronto-1']!.bridge;
  const b2 = topo.nodes['edge-switch-toronto-2']!.bridge;
  t.match(b1.name, /^edge-switc-[0-9a-f]{4}$/);
  t.not(b1.name, b2.name);
  t.match(topo.containers['a-container-with-a-long-name']!.port, /^c-a-contai-[0-9a-f]{4}$/);
  t.same(
    b1.ports.map((p) => p.name.length <= 15),
    b1.ports.map(() => true),
  );
});

t.test('golden identifiers (changing the derivation would renumber deployed networks)', async (t) => {
  const topo = resolveTopology(base());
  t.same(
    Object.fromEntries(Object.values(topo.nodes).map((n) => [n.name, n.bridge.dpid])),
    GOLDEN.dpids,
  );
  t.same(topo.links.map((l) => l.vni), GOLDEN.vnis);
  t.same(
    Object.fromEntries(Object.values(topo.nodes).map((n) => [n.name, n.bridge.ports.map((p) => `${p.name}#${p.ofport}`)])),
    GOLDEN.ports,
  );
});

t.test('invalid input throws a TopologyError listing every problem', async (t) => {
  const f = base();
  f.links[1].host = 'h9';
  f.containers.c1.mac = 'x';
  const err = t.throws(() => resolveTopology(f)) as unknown as TopologyError;
  t.ok(err instanceof TopologyError);
  t.equal(err.problems.length, 2);
  t.match(err.message, /invalid topology \(2 problems\)/);
});

t.test('a TopologyError with thousands of problems keeps them all but spells out the first hundred in its message', async (t) => {
  const f = base();
  for (let i = 0; i < 3000; i++) f.containers[`bad${i}`] = { ...f.containers.c1, mac: `not-a-mac-${i}` };
  const err = t.throws(() => resolveTopology(f)) as unknown as TopologyError;
  t.ok(err instanceof TopologyError);
  t.ok(err.problems.length >= 3000, `every problem kept (${err.problems.length})`);
  t.match(err.message, new RegExp(`invalid topology \\(${err.problems.length} problems\\)`));
  t.match(err.message, new RegExp(`and ${err.problems.length - MESSAGE_PROBLEMS} more`));
  t.ok(err.message.split('\n').length <= MESSAGE_PROBLEMS + 2, 'the message lists at most the first hundred');
});

// Recorded from the first release of the derivation (src/topology/derive.ts).
const GOLDEN = {
  dpids: { sw1: '00008eb4e6dc7700', sw2: '0000c61623f19449', h1: '00009ac38434011f', h2: '00009617cea86656' },
  vnis: [3030055, 203681, 4597855],
  ports: {
    sw1: ['p1#1', 'vx-sw2#205', 'vx-h1#1394'],
    sw2: ['vx-sw1#631', 'vx-h2#931'],
    h1: ['int-h1#1', 'vx-sw1#631', 'c-c1#30700'],
    h2: ['int-h2#1', 'vx-sw2#205', 'c-c2#15923'],
  },
};

/** base() with a 10.0.0.0/8 overlay: room for more containers than the port range. */
function wideBase(): Record<string, any> {
  const f = base();
  f.overlay_subnet = '10.0.0.0/8';
  f.nodes.sw1.internal_port.ip = '10.0.0.1';
  f.links[1].overlay_ip = '10.0.0.11';
  f.links[2].overlay_ip = '10.0.0.12';
  return f;
}

/** `n` containers named c0, c1, … on the hosts `hostOf(i)` chooses, with distinct MACs and addresses. */
function manyContainers(n: number, hostOf: (i: number) => string): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = i + 1;
    const mac = `02:01:00:${((k >> 16) & 255).toString(16).padStart(2, '0')}:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`;
    containers[`c${i}`] = { mac, ip: `10.${1 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`, host: hostOf(i) };
  }
  return containers;
}

t.test('more containers than the container port range: unique per host past it, earlier numbers kept', async (t) => {
  const range = OFPORT_CONTAINER_MAX - OFPORT_CONTAINER_MIN + 1;
  const f = wideBase();
  f.containers = manyContainers(range + 500, (i) => (i % 2 === 0 ? 'h1' : 'h2'));
  const topo = resolveTopology(f);
  const all = Object.values(topo.containers);
  t.equal(all.length, range + 500, 'every container resolved');
  const first = all.slice(0, range).map((c) => c.ofport);
  t.equal(new Set(first).size, range, 'while the range lasts, numbers are unique in the whole topology');
  for (const host of ['h1', 'h2']) {
    const ports = all.filter((c) => c.node === host).map((c) => c.ofport);
    t.equal(new Set(ports).size, ports.length, `numbers unique on ${host}`);
    t.ok(ports.every((p) => p >= OFPORT_CONTAINER_MIN && p <= OFPORT_CONTAINER_MAX), `${host}: every number in the container range`);
  }
  (f.containers as Record<string, unknown>).zz = { mac: '02:02:00:00:00:01', ip: '10.9.0.1', host: 'h1' };
  const grown = resolveTopology(f);
  t.ok(all.every((c) => grown.containers[c.name]!.ofport === c.ofport), 'appending a container moves no number');
});

t.test('more containers on one host than the container port range: the problem names the host', async (t) => {
  const range = OFPORT_CONTAINER_MAX - OFPORT_CONTAINER_MIN + 1;
  const f = wideBase();
  f.containers = manyContainers(range + 1, () => 'h1');
  const err = t.throws(() => resolveTopology(f)) as unknown as TopologyError;
  t.ok(err instanceof TopologyError, 'a topology error');
  t.match(err.message, /node "h1" has more than 61184 containers \(the container port number range of one bridge\)/);
  t.equal(err.problems.length, 1, 'that is the only problem');
});
