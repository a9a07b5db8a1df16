import t from 'tap';
import { buildFabric, desired, ep, frame, install } from './fabric-fixture.js';
import { FLOOD_GROUP } from '../../controller/core/forwarding.js';
import { cookieKind, isOurCookie, RuleKind } from '../../controller/core/cookies.js';

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

t.test('unknown destination MAC is flooded and its source goes to the controller', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['c', 'a']]);
  const x = ep('x', 1, 'a', 1);
  install(net, desired(fabric, [x]));
  const stranger = ep('s', 9, 'b', 2);
  const r = net.walk('b', 2, frame(stranger, { mac: '02:00:00:00:00:77' }));
  t.notOk(r.looped);
  t.equal(r.delivered.length, 3 * 3 - 1, 'flooded to every other edge port once');
  t.same(r.toController.map((d) => `${d.switch}:${d.port}`), ['b:2'], 'unknown source reported once, at its ingress');
  const known = net.walk('a', 1, frame(x, { mac: '02:00:00:00:00:77' }));
  t.same(known.toController, [], 'a known source at its own port is not sent to the controller');
});

t.test('a known MAC at another edge port is reported (host move detection)', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b'], [['a', 'b']]);
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'b', 1);
  install(net, desired(fabric, [x, y]));
  const r = net.walk('b', 3, frame(x, y));
  t.same(r.toController.map((d) => `${d.switch}:${d.port}`), ['b:3']);
});

t.test('ARP requests for known IPs go to the controller, not across the overlay', async (t) => {
  const { fabric, net } = buildFabric(['a', 'b'], [['a', 'b']]);
  const x = ep('x', 1, 'a', 1);
  const y = ep('y', 2, 'b', 1);
  const state = desired(fabric, [x, y]);
  install(net, state);
  const r = net.walk('a', 1, { eth_src: x.mac, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806, arp_op: 1, arp_spa: x.ip!, arp_tpa: y.ip! });
  t.same(r.delivered, [], 'not flooded');
  t.same(r.toController.map((d) => d.switch), ['a']);
  t.ok([...state.get('a')!.flows].some((f) => cookieKind(f.cookie) === RuleKind.PROXY_ARP));
});
