/**
 * The FlowCache hands out one object per distinct flow, shared by every bridge and by
 * consecutive computations: what it returns must always equal what a computation without it
 * makes, whatever moved in between (a MAC to another bridge on the same port number, a migration
 * to another target through the same new port, relabel entries on other bridges).
 */
import t from 'tap';
import { buildFabric, ep } from './fabric-fixture.js';
import type { Endpoint } from '../../controller/core/fabric.js';
import { BridgeMacs, computeDesiredState, FlowCache, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { flowKey, instructionsKey, type FlowSpec, type SwitchState } from '../../controller/core/flows.js';
import { RuleKind, cookieKind } from '../../controller/core/cookies.js';
import { seededRandom } from '../util/random.js';

const text = (f: FlowSpec) => `${flowKey(f)} ${f.cookie} ${instructionsKey(f.instructions)} ${f.idleTimeout ?? '-'} ${f.notifyRemoval ?? '-'}`;
const view = (state: Map<string, SwitchState>) => [...state].map(([b, s]) => `${b}: ${s.flows.map(text).join(' | ')}`);

t.test('cached flows equal uncached ones across consecutive computations', async (t) => {
  const rand = seededRandom(31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let series = 0; series < 20; series++) {
    const names = Array.from({ length: 3 + Math.floor(rand() * 5) }, (_, i) => `b${i}`);
    const links: [string, string][] = names.slice(1).map((b, i) => [b, pick(names.slice(0, i + 1))]);
    if (rand() < 0.5) links.push([names[0]!, names.at(-1)!]);
    const { fabric } = buildFabric(names, links);
    // Few port numbers: the same port on another bridge is the case that must not hit the cache.
    const spot = () => ({ bridge: pick(names), ofport: 1 + Math.floor(rand() * 2) });
    let endpoints: Endpoint[] = Array.from({ length: 3 + Math.floor(rand() * 4) }, (_, i) => ({ ...ep(`e${i}`, i + 1, '', 0), at: spot() }));
    const demand = new BridgeMacs();
    const departed = new BridgeMacs();
    const cache = new FlowCache();
    for (let round = 0; round < 12; round++) {
      endpoints = endpoints.map((e) => (rand() < 0.4 ? { ...e, at: spot() } : e));
      const migrations: MigrationInProgress[] = endpoints.filter(() => rand() < 0.3).map((e) => {
        const to = rand() < 0.8 ? spot() : { bridge: pick(names) };
        return { name: e.name, mac: e.mac, from: e.at, to, ...(rand() < 0.5 ? { hold: true } : {}) };
      });
      for (const e of endpoints) for (const b of names) {
        if (rand() < 0.3) demand.add(b, e.mac);
        else if (rand() < 0.2) demand.delete(b, e.mac);
        if (rand() < 0.15) departed.add(b, e.mac);
        else if (rand() < 0.2) departed.delete(b, e.mac);
      }
      const input = { fabric, endpoints, migrations, demand, departed };
      const cached = computeDesiredState({ ...input, cache });
      const fresh = computeDesiredState(input);
      t.same(view(cached), view(fresh), `series ${series} round ${round}`);
    }
  }
});

t.test('the ingress entries of one MAC are one object on every bridge that demands it', async (t) => {
  const { fabric } = buildFabric(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'c'], ['c', 'd']]);
  const dst = { ...ep('dst', 1, '', 0), at: { bridge: 'a', ofport: 1 } };
  const demand = new BridgeMacs();
  for (const b of ['b', 'c', 'd']) demand.add(b, dst.mac);
  const state = computeDesiredState({ fabric, endpoints: [dst], demand, cache: new FlowCache() });
  const entries = ['b', 'c', 'd'].map((b) => state.get(b)!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.INGRESS_ENTRY));
  t.same(entries.map((e) => e.length), [1, 1, 1]);
  t.equal(entries[1]![0], entries[0]![0]);
  t.equal(entries[2]![0], entries[0]![0]);
});
