/**
 * BridgeMacs (the demand and departed sets) keeps a MAC's bridges in an array while few and in a
 * Set past a threshold: under random operations it must answer like a plain map of sets, in
 * insertion order, across both forms and back.
 */
import t from 'tap';
import { BridgeMacs } from '../../controller/core/forwarding.js';
import { seededRandom } from '../util/random.js';

t.test('answers like a map of sets under random adds, deletes and retains', async (t) => {
  const rand = seededRandom(5);
  const macs = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
  // Enough bridges for a MAC to cross the array/Set threshold both ways.
  const bridges = Array.from({ length: 40 }, (_, i) => `b${i}`);
  const set = new BridgeMacs();
  const model = new Map<string, Set<string>>();
  let mismatches = 0;
  for (let step = 0; step < 5000; step++) {
    const mac = macs[Math.floor(rand() * macs.length)]!;
    const bridge = bridges[Math.floor(rand() * bridges.length)]!;
    const op = rand();
    let got: unknown;
    let want: unknown;
    if (op < 0.55) {
      got = set.add(bridge, op < 0.1 ? mac.toUpperCase() : mac);
      const s = model.get(mac) ?? new Set<string>();
      want = !s.has(bridge);
      s.add(bridge);
      model.set(mac, s);
    } else if (op < 0.9) {
      got = set.delete(bridge, mac);
      const s = model.get(mac);
      want = s?.delete(bridge) ?? false;
      if (s?.size === 0) model.delete(mac);
    } else if (op < 0.93) {
      got = set.deleteMac(mac);
      want = [...(model.get(mac) ?? [])];
      model.delete(mac);
    } else {
      const cut = Math.floor(rand() * bridges.length);
      const keep = (b: string) => Number(b.slice(1)) < cut || rand() < 0.8;
      // The same decisions for both: decided once per bridge.
      const kept = new Set(bridges.filter(keep));
      set.retainBridges((b) => kept.has(b));
      for (const [m, s] of model) {
        for (const b of s) if (!kept.has(b)) s.delete(b);
        if (s.size === 0) model.delete(m);
      }
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches++;
    const size = [...model.values()].reduce((n, s) => n + s.size, 0);
    const same = set.size === size && macs.every((m) => JSON.stringify([...(set.bridgesOf(m) ?? [])]) === JSON.stringify([...(model.get(m) ?? [])]) &&
      set.countOf(m) === (model.get(m)?.size ?? 0) && bridges.every((b) => set.has(b, m) === (model.get(m)?.has(b) ?? false)));
    if (!same) {
      t.fail(`step ${step}: state differs from the model`);
      return;
    }
  }
  t.equal(mismatches, 0, 'every add, delete and deleteMac returned what the model did');
  t.same([...set.entries()].sort(), [...model].flatMap(([m, s]) => [...s].map((b) => [b, m])).sort());
});
