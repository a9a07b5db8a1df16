import t from 'tap';
import { buildFabric, desired, ep, frame, install } from './fabric-fixture.js';
import { assignLabels, BridgeMacs, FLOOD_GROUP, MAX_LABELS } from '../../controller/core/forwarding.js';
import { cookieKind, cookieKindHigh, isOurCookie, isOurCookieHigh, ruleCookie, RuleKind } from '../../controller/core/cookies.js';

const cases: {
  name: string;
  bridges: string[];
  links: [string, string][];
  endpoints: ReturnType<typeof ep>[];
  down?: [string, string][];
}[] = [
  { name: 'line', bridges: ['a', 'b', 'c'], links: [['a', 'b'], ['b', 'c']], endpoints: [ep('x', 1, 'a', 1), ep('y', 2, 'c', 2)] },
  { name: 'tree', bridges: ['core', 'e1', 'e2', 'h1', 'h2', 'h3'], links: [['core', 'e1'], ['core', 'e2'], ['e1', 'h1'], ['e1', 'h2'], ['e2', 'h3']],
    endpoints: [ep('x', 1, 'h1', 1), ep('y', 2, 'h2', 1), ep('z', 3, 'h3', 2)] },
  { name: 'ring', bridges: ['a', 'b', 'c', 'd'], links: [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'a']],
    endpoints: [ep('x', 1, 'a', 1), ep('y', 2, 'c', 1), ep('z', 3, 'b', 3)] },
  { name: 'two regions', bridges: ['core1', 'core2', 'edge1', 'edge2', 'hc', 'he'],
    links: [['core1', 'core2'], ['core1', 'edge1'], ['core2', 'edge2'], ['edge1', 'edge2'], ['core1', 'hc'], ['edge2', 'he']],
    endpoints: [ep('x', 1, 'hc', 1), ep('y', 2, 'he', 1)] },
  { name: 'same switch', bridges: ['a', 'b'], links: [['a', 'b']], endpoints: [ep('x', 1, 'a', 1), ep('y', 2, 'a', 2)] },
  { name: 'ring with a link down', bridges: ['a', 'b', 'c', 'd'], links: [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'a']],
    endpoints: [ep('x', 1, 'a', 1), ep('y', 2, 'b', 1)], down: [['a', 'b']] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { fabric, net } = buildFabric(c.bridges, c.links);
    for (const [a, b] of c.down ?? []) {
      const ta = fabric.bridges.get(a)!.tunnels.find((x) => x.peer === b)!;
      ta.up = false;
      net.unlink(a, ta.ofport);
    }
    const state = desired(fabric, c.endpoints);
    install(net, state);
    for (const src of c.endpoints) {
      for (const dst of c.endpoints) {
        if (src === dst) continue;
        const r = net.walk(src.at.bridge, src.at.ofport, frame(src, dst));
        t.notOk(r.looped, `${src.name}→${dst.name} does not loop`);
        t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), [`${dst.at.bridge}:${dst.at.ofport}`], `${src.name}→${dst.name} delivered once, only at its port`);
        t.same(r.toController, [], `${src.name}→${dst.name} involves no controller (proactive)`);
      }
    }
    // Broadcast reaches every edge port of every bridge exactly once, never the sender's.
    const src = c.endpoints[0]!;
    const bcast = net.walk(src.at.bridge, src.at.ofport, { ...frame(src, { mac: 'ff:ff:ff:ff:ff:ff' }) });
    t.notOk(bcast.looped, 'broadcast does not loop');
    const got = bcast.delivered.map((d) => `${d.switch}:${d.port}`).sort();
    // Every case keeps the graph connected (a ring survives one link down).
    const expected = c.bridges.flatMap((b) => [1, 2, 3].map((p) => `${b}:${p}`)).filter((x) => x !== `${src.at.bridge}:${src.at.ofport}`).sort();
    t.same(got, expected, 'broadcast flooded to every other edge port exactly once');
    // Every flow carries one of our cookies, and flood flows use the flood group.
    for (const s of state.values()) {
      t.ok(s.flows.every((f) => isOurCookie(f.cookie)), 'all cookies are ours');
      t.ok(s.groups.some((g) => g.groupId === FLOOD_GROUP), 'flood group present');
    }
  });
}

const kindsAt = (r: { toController: { switch: string; port: number; cookie?: bigint }[] }) =>
  r.toController.map((d) => `${d.switch}:${d.port}:${d.cookie === undefined ? '?' : cookieKind(d.cookie)}`);

t.test('unknown destination MAC is flooded; its source and the miss go to the controller', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['c', 'a']]);
  const x = ep('x', 1, 'a', 1);
  install(net, desired(fabric, [x]));
  const stranger = ep('s', 9, 'b', 2);
  const r = net.walk('b', 2, frame(stranger, { mac: '02:00:00:00:00:77' }));
  t.notOk(r.looped);
  t.equal(r.delivered.length, 3 * 3 - 1, 'flooded to every other edge port once');
  t.same(kindsAt(r).sort(), [`b:2:${RuleKind.INGRESS_MISS}`, `b:2:${RuleKind.TO_CONTROLLER}`].sort(), 'unknown source and unknown destination reported once each, at the ingress');
  const known = net.walk('a', 1, frame(x, { mac: '02:00:00:00:00:77' }));
  t.same(kindsAt(known), [`a:1:${RuleKind.TO_CONTROLLER}`], 'a known source at its own port: only the destination miss');
});

t.test('on demand: a miss floods (nothing lost) and reports; the ingress entry then delivers once, without the controller', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd']]);
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'd', 2);
  const demand = new BridgeMacs();
  const before = desired(fabric, [x, y], [], { demand });
  install(net, before);
  const miss = net.walk('a', 1, frame(x, y));
  t.equal(miss.delivered.filter((d) => d.switch === 'd' && d.port === 2).length, 1, 'the first frame reaches y once (flooded)');
  t.same(kindsAt(miss), [`a:1:${RuleKind.TO_CONTROLLER}`], 'and the miss is reported at the ingress bridge only');
  demand.add('a', y.mac);
  const after = desired(fabric, [x, y], [], { demand });
  const changed = [...after].filter(([name, s]) => JSON.stringify(s.flows.map((f) => f.cookie.toString())) !== JSON.stringify(before.get(name)!.flows.map((f) => f.cookie.toString()))).map(([n]) => n);
  t.same(changed, ['a'], 'only the demanding bridge changes');
  const entry = after.get('a')!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.INGRESS_ENTRY);
  t.equal(entry.length, 1, 'one ingress entry');
  t.ok(entry[0]!.idleTimeout! > 0 && entry[0]!.notifyRemoval === true, 'with an idle timeout and FLOW_REMOVED');
  install(net, after, before);
  const hit = net.walk('a', 1, frame(x, y));
  t.same(hit.delivered.map((d) => `${d.switch}:${d.port}`), ['d:2'], 'then delivered once, only at its port');
  t.same(hit.toController, [], 'no controller');
  const transit = after.get('b')!.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst' && m.value === y.mac));
  t.same(transit, [], 'transit bridges hold no flow for the MAC');
});

t.test('labels: transit tables do not grow with containers; a label nobody owns cannot loop', async (t) => {
  const bridges = ['a', 'b', 'c', 'd', 'e'];
  const { fabric, net } = buildFabric(bridges, [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'a'], ['a', 'c']], { a: [1, 2, 3], b: [], c: [1, 2, 3], d: [1, 2, 3], e: [1, 2, 3] });
  const few = [ep('x', 1, 'a', 1), ep('y', 2, 'd', 1)];
  const many = [...few, ...Array.from({ length: 40 }, (_, i) => ep(`m${i}`, 10 + i, ['a', 'c', 'd', 'e'][i % 4]!, 1 + (i % 3)))];
  const small = desired(fabric, few);
  const large = desired(fabric, many);
  t.equal(large.get('b')!.flows.length, small.get('b')!.flows.length, `transit bridge b: ${small.get('b')!.flows.length} flows with 2 or 42 containers`);
  install(net, large);
  const labels = assignLabels(fabric);
  const used = new Set(labels.values());
  const stray = [...Array(MAX_LABELS).keys()].map((i) => i + 1).find((l) => !used.has(l))!;
  for (const b of bridges) {
    for (const port of net.linkedPorts(b)) {
      const r = net.walk(b, port, { eth_src: '02:00:00:00:00:99', eth_dst: '02:00:00:00:00:98', eth_type: 0x0800, vlan_vid: 0x1000 | stray });
      t.notOk(r.looped, `label ${stray} (nobody's) entering ${b}:${port} does not loop`);
      t.same(r.delivered, [], 'nor leaves the overlay');
    }
  }
});

t.test('a MAC that moved: a stale ingress entry still delivers through the old edge\'s relabel entry', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'd']]);
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'c', 2);
  const before = desired(fabric, [x, y]);
  install(net, before);
  const moved = { ...y, at: { bridge: 'b', ofport: 3 } };
  const departed = new BridgeMacs();
  departed.add('c', y.mac);
  const after = desired(fabric, [x, moved], [], { departed });
  // Every bridge but a takes the new state; a keeps its stale entry (label of c).
  install(net, after, before, ['b', 'c', 'd']);
  const r = net.walk('a', 1, frame(x, moved));
  t.notOk(r.looped);
  t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), ['b:3'], 'delivered once, at the new port');
  t.ok(after.get('c')!.flows.some((f) => cookieKind(f.cookie) === RuleKind.RELABEL && f.idleTimeout! > 0), 'the relabel entry expires when unused');
});

t.test('a bicast copy for the old edge still in flight at the commit is dropped there, not relabelled (no duplicate)', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'd']]);
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'c', 2);
  const to = { bridge: 'b', ofport: 3 };
  const prepared = desired(fabric, [x, y], [{ name: y.name, mac: y.mac, from: y.at, to }]);
  install(net, prepared);
  const moved = { ...y, at: to };
  const departed = new BridgeMacs();
  departed.add('c', y.mac);
  const committed = desired(fabric, [x, moved], [], { departed });
  // a still bicasts (its entry not yet flipped); c already relabels what is labelled for it.
  install(net, committed, prepared, ['b', 'c', 'd']);
  const r = net.walk('a', 1, frame(x, moved));
  t.notOk(r.looped);
  t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), ['b:3'], 'delivered once, at the new port: the old edge drops the copy meant for it');
  // A stale (not bicasting) entry's frame is still relabelled: see the test above.
});

t.test('ARP requests from edge ports go to the controller, not across the overlay', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']], { a: [1, 2, 3], b: [], c: [1, 2, 3] });
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'c', 1);
  const state = desired(fabric, [x, y]);
  install(net, state);
  for (const tpa of [y.ip!, '10.9.9.9']) {
    const r = net.walk('a', 1, { eth_src: x.mac, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806, arp_op: 1, arp_spa: x.ip!, arp_tpa: tpa });
    t.same(r.delivered, [], `request for ${tpa}: not flooded by the switch`);
    t.same(kindsAt(r), [`a:1:${RuleKind.PROXY_ARP}`], 'one packet-in at the ingress');
  }
  t.same([...state].filter(([, s]) => s.flows.some((f) => cookieKind(f.cookie) === RuleKind.PROXY_ARP)).map(([n]) => n), ['a', 'c'], 'one proxy-ARP flow per bridge with edge ports, none on transit');
});

t.test('a bridge with more ports than one group holds floods through a chain of groups', async (t) => {
  const many = Array.from({ length: 2500 }, (_, i) => 1000 + i); // apart from the tunnel ports (100…)
  const { fabric, net } = buildFabric(['a', 'b'], [['a', 'b']], { a: many, b: [1] });
  const x = ep('x', 1, 'b', 1);
  const state = desired(fabric, [x]);
  t.same(state.get('a')!.groups.map((g) => g.groupId), [3, 2, 1], 'three groups, the last first (added before referred to)');
  install(net, state);
  const r = net.walk('b', 1, frame(x, { mac: 'ff:ff:ff:ff:ff:ff' }));
  t.notOk(r.looped);
  t.equal(r.delivered.filter((d) => d.switch === 'a').length, 2500, 'every port of a once');
});

t.test("a cookie's owner and kind read from its high 32 bits agree with the BigInt reading", (t) => {
  const cookies = [ruleCookie(RuleKind.INGRESS_ENTRY, '02:00:00:00:00:01'), ruleCookie(RuleKind.RELABEL, 'aa:bb:cc:dd:ee:ff'), ruleCookie(RuleKind.MIGRATION_ARRIVAL, 'x'),
    0n, 0xffff_ffff_ffff_ffffn, 0x5648_0c00_0000_0000n, 0x5649_ff00_1234_5678n];
  for (const c of cookies) {
    const high = Number(c >> 32n);
    t.equal(isOurCookieHigh(high), isOurCookie(c), `owner of 0x${c.toString(16)}`);
    if (isOurCookie(c)) t.equal(cookieKindHigh(high), cookieKind(c), `kind of 0x${c.toString(16)}`);
  }
  t.end();
});
