/**
 * The pure side of endpoint-only updates: for random fabrics, endpoint sets and migrations, the
 * diff derived from the changed endpoints' old and new flows equals the full diff of the two
 * desired states, and both stage identically.
 */
import t from 'tap';
import { buildFabric, ep } from './fabric-fixture.js';
import type { Endpoint } from '../../controller/core/fabric.js';
import {
  BridgeMacs, computeDesiredState, endpointChangeFlows, forwardingContext, type EndpointChange, type MigrationInProgress,
} from '../../controller/core/forwarding.js';
import { diffFlowChange, diffInstalled, indexInstalled, type SwitchDiff } from '../../controller/core/diff.js';
import { flowKey, instructionsKey, type FlowSpec } from '../../controller/core/flows.js';
import { stageDiffs } from '../../controller/core/transition.js';
import { seededRandom } from '../util/random.js';

const text = (flows: FlowSpec[]) => flows.map((f) => `${flowKey(f)} ${f.cookie} ${instructionsKey(f.instructions)}`).sort();
const view = (d: SwitchDiff | undefined) => (d ? { add: text(d.flowsToAdd), del: text(d.flowsToDelete), other: d.groupsToAdd.length + d.groupsToModify.length + d.groupsToDelete.length + d.metersToAdd.length + d.metersToModify.length + d.metersToDelete.length } : undefined);

t.test('changed endpoints alone give the full diff', async (t) => {
  const rand = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let checked = 0;
  for (let round = 0; round < 150; round++) {
    const names = Array.from({ length: 2 + Math.floor(rand() * 6) }, (_, i) => `b${i}`);
    const links: [string, string][] = names.slice(1).map((b, i) => [b, pick(names.slice(0, i + 1))]);
    if (names.length > 2 && rand() < 0.5) links.push([names[0]!, names.at(-1)!]);
    const { fabric } = buildFabric(names, links);
    const spot = () => ({ bridge: pick(names), ofport: 1 + Math.floor(rand() * 3) });
    const before: Endpoint[] = Array.from({ length: Math.floor(rand() * 8) }, (_, i) => ({ ...ep(`e${i}`, i + 1, '', 0), at: spot() }));
    const migrations: MigrationInProgress[] = before.filter(() => rand() < 0.25).map((e) => ({ name: e.name, mac: e.mac, from: e.at, to: rand() < 0.8 ? spot() : { bridge: pick(names) } }));

    // Some endpoints move, lose or change their IP, go away, come in, or pass their MAC or IP on.
    let after = before.map((e) => (rand() < 0.3 ? { ...e, at: spot() } : e));
    after = after.map((e) => (rand() < 0.15 ? { ...e, ip: `10.9.${round}.${e.name.slice(1)}` } : e));
    after = after.filter(() => rand() > 0.2);
    for (let i = 0; i < Math.floor(rand() * 3); i++) after.push({ ...ep(`n${i}`, 100 + i, '', 0), at: spot() });
    const gone = before.filter((e) => !after.some((a) => a.name === e.name));
    if (gone.length > 0 && rand() < 0.5) {
      const g = gone[0]!;
      const heir = { ...ep(`heir-${g.name}`, 200, '', 0), at: spot() };
      after.push(rand() < 0.5 ? { ...heir, mac: g.mac } : { ...heir, ip: g.ip! });
    }

    // Ingress entries and relabel entries for some MACs on some bridges.
    const demand = new BridgeMacs();
    const departed = new BridgeMacs();
    for (const e of [...before, ...after]) for (const b of names) {
      if (rand() < 0.4) demand.add(b, e.mac);
      if (rand() < 0.1) departed.add(b, e.mac);
    }
    const old = computeDesiredState({ fabric, endpoints: before, migrations, demand, departed });
    const now = computeDesiredState({ fabric, endpoints: after, migrations, demand, departed });
    const changes: EndpointChange[] = [];
    for (const name of new Set([...before, ...after].map((e) => e.name))) {
      const b = before.find((e) => e.name === name);
      const a = after.find((e) => e.name === name);
      if (b !== a) changes.push({ before: b, after: a });
    }
    const ctx = forwardingContext({ fabric, migrations, demand, departed });
    const flows = endpointChangeFlows(ctx, changes);
    const full = new Map<string, SwitchDiff>();
    const partial = new Map<string, SwitchDiff>();
    for (const name of names) {
      full.set(name, diffInstalled(now.get(name)!, indexInstalled(old.get(name)!)));
      partial.set(name, diffFlowChange(flows.get(name)?.before ?? [], flows.get(name)?.after ?? [], indexInstalled(old.get(name)!)));
    }
    for (const name of names) t.same(view(partial.get(name)), view(full.get(name)), `round ${round}: ${name}`);
    const levels = [names.slice(0, 1), names.slice(1, 3)];
    const stages = (diffs: Map<string, SwitchDiff>) => stageDiffs(diffs, levels).map((s) => ({ label: s.label, changes: [...s.changes].map(([n, d]) => [n, view(d)]) }));
    t.same(stages(partial), stages(full), `round ${round}: same stages`);
    checked += changes.length;
  }
  t.ok(checked > 300, `${checked} endpoint changes checked`);
});
