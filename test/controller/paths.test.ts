/**
 * Paths (all-pairs next hops, kept in flat arrays) against a reference written the plain way:
 * distances by relaxation until nothing changes, and the next hop towards a bridge is the tunnel
 * to the smallest-named neighbour one hop nearer (the tie-break the flow tables rely on), over
 * tunnels that are up at both ends; random graphs with cycles, cut tunnels and split components.
 */
import t from 'tap';
import { buildFabric } from './fabric-fixture.js';
import { Paths, type Fabric } from '../../controller/core/fabric.js';
import { seededRandom } from '../util/random.js';

/** Neighbours of `name` over tunnels up at both ends: peer → this bridge's port to it. */
function neighbours(fabric: Fabric, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const tun of fabric.bridges.get(name)!.tunnels) {
    if (!tun.up || out.has(tun.peer)) continue;
    if (fabric.bridges.get(tun.peer)?.tunnels.some((back) => back.peer === name && back.up)) out.set(tun.peer, tun.ofport);
  }
  return out;
}

function reference(fabric: Fabric, from: string, to: string, dist: Map<string, Map<string, number>>): { distance?: number; hop?: number } {
  const d = dist.get(to)!.get(from);
  if (d === undefined || d === 0) return { distance: d };
  const nearer = [...neighbours(fabric, from)].filter(([peer]) => dist.get(to)!.get(peer) === d - 1).sort(([a], [b]) => (a < b ? -1 : 1));
  return { distance: d, hop: nearer[0]![1] };
}

function distances(fabric: Fabric): Map<string, Map<string, number>> {
  const names = [...fabric.bridges.keys()];
  const all = new Map<string, Map<string, number>>();
  for (const to of names) {
    const d = new Map([[to, 0]]);
    for (let changed = true; changed;) {
      changed = false;
      for (const from of names) {
        for (const peer of neighbours(fabric, from).keys()) {
          const via = d.get(peer);
          if (via !== undefined && (d.get(from) ?? Infinity) > via + 1) {
            d.set(from, via + 1);
            changed = true;
          }
        }
      }
    }
    all.set(to, d);
  }
  return all;
}

t.test('next hops and distances equal the reference on random fabrics', async (t) => {
  const rand = seededRandom(1313);
  for (let round = 0; round < 40; round++) {
    // Names out of creation order, so that name order and insertion order differ.
    const names = Array.from({ length: 2 + Math.floor(rand() * 12) }, (_, i) => `b${((i * 7) % 13).toString(36)}${i}`);
    const links: [string, string][] = [];
    for (let i = 1; i < names.length; i++) if (rand() < 0.9) links.push([names[i]!, names[Math.floor(rand() * i)]!]);
    for (let k = 0; k < names.length / 2; k++) links.push([names[Math.floor(rand() * names.length)]!, names[Math.floor(rand() * names.length)]!].sort() as [string, string]);
    const { fabric } = buildFabric(names, links.filter(([a, b]) => a !== b));
    // Cut some tunnels at one end only: unusable both ways.
    for (const b of fabric.bridges.values()) for (const tun of b.tunnels) if (rand() < 0.15) tun.up = false;
    const paths = new Paths(fabric);
    const dist = distances(fabric);
    let wrong = 0;
    for (const from of names) {
      for (const to of names) {
        const want = reference(fabric, from, to, dist);
        if (paths.distance(from, to) !== want.distance || paths.nextHop(from, to) !== want.hop || paths.reachable(from, to) !== (want.distance !== undefined)) {
          if (wrong++ < 3) t.fail(`round ${round}: ${from}→${to}: distance ${paths.distance(from, to)} hop ${paths.nextHop(from, to)}, want ${want.distance} ${want.hop}`);
        }
      }
      const reach = [...dist.get(from)!.values()];
      t.same(paths.reachOf(from), { reach: reach.length, farthest: Math.max(...reach) }, `round ${round}: reach of ${from}`);
    }
    t.equal(wrong, 0, `round ${round}: ${names.length} bridges, ${links.length} links`);
  }
  t.equal(new Paths({ bridges: new Map() }).nextHop('x', 'y'), undefined, 'unknown bridges have no path');
});
