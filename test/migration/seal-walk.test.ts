// The explicit freeze with the old port still up, walked message by message on simulated
// switches: first the old edge reports what it delivers, then the hold flow goes in at the new
// edge, then the old edge is sealed (delivers no more). In every intermediate state each frame
// for the mover must end exactly once: taken at the old port, or held at the new edge and not
// reported by the old one (the controller replays a held frame unless the old edge reported it).
import t from 'tap';
import { buildFabric, desired, ep, frame, levelsFor, migrationTopologies, own, walkTransition } from '../controller/fabric-fixture.js';
import { planTransition } from '../../controller/core/transition.js';
import type { MigrationInProgress } from '../../controller/core/forwarding.js';
import type { SwitchState } from '../../controller/core/flows.js';

for (const topo of migrationTopologies.filter((x) => x.from[0] !== x.to[0])) {
  t.test(`seal on ${topo.name}: every frame taken at the old port or held (and not reported), once`, async (t) => {
    const { fabric, net } = buildFabric(topo.bridges, topo.links);
    const mover = ep('web', 1, topo.from[0], topo.from[1]);
    const senders = topo.bridges.map((b, i) => ep(`s${i}`, 10 + i, b, 3));
    const all = [mover, ...senders];
    const [oldEdge, oldPort] = topo.from;
    const [newEdge, newPort] = topo.to;
    const base: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: newEdge } };
    let checks = 0;

    const once = (label: string, expect?: { taken: boolean }) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        t.notOk(r.looped, `${label}: from ${s.name} no loop`);
        const taken = r.delivered.filter((d) => d.switch === oldEdge && d.port === oldPort).length;
        const ours = r.toController.filter((d) => d.frame.eth_dst === mover.mac);
        const reported = ours.filter((d) => d.switch === oldEdge).length;
        const held = ours.filter((d) => d.switch === newEdge).length;
        const replayed = held > 0 && reported === 0 ? 1 : 0;
        if (taken + replayed !== 1 || reported > taken || held > 1 || ours.some((d) => d.frame.vlan_vid !== undefined)) {
          t.fail(`${label}: from ${s.name}: taken ${taken}, reported ${reported}, held ${held} (untagged: ${ours.every((d) => d.frame.vlan_vid === undefined)})`);
        }
        if (expect) t.equal(taken, expect.taken ? 1 : 0, `${label}: from ${s.name} ${expect.taken ? '' : 'not '}taken at the old port`);
        t.equal(r.delivered.filter((d) => d.switch === newEdge && d.port === newPort).length, 0, `${label}: from ${s.name} nothing at the new port yet`);
        checks++;
      }
    };

    const prepared = desired(fabric, all, [base]);
    walkTransition(net, new Map(), prepared, [], () => {});
    once('prepared', { taken: true });
    const reporting = desired(fabric, all, [{ ...base, seal: 'report' }]);
    const reportStages = planTransition(prepared, reporting, levelsFor(fabric, oldEdge), own);
    t.same([...new Set(reportStages.flatMap((s) => [...s.changes.keys()]))], [oldEdge], 'the report touches the old edge only');
    walkTransition(net, prepared, reporting, levelsFor(fabric, oldEdge), (l) => once(`report/${l}`));
    once('reporting', { taken: true });
    const sealed = desired(fabric, all, [{ ...base, hold: true, seal: 'drop' }]);
    walkTransition(net, reporting, sealed, levelsFor(fabric, newEdge), (l) => once(`hold+seal/${l}`));
    once('sealed', { taken: false });
    t.ok(checks > senders.length * 4, `walked ${checks} sender states`);
  });
}

t.test('sealed, the old edge still sends its local senders\' frames towards the new edge', async (t) => {
  const topo = migrationTopologies.find((x) => x.name === 'line')!;
  const { fabric, net } = buildFabric(topo.bridges, topo.links);
  const mover = ep('web', 1, topo.from[0], topo.from[1]);
  const local = ep('nb', 5, topo.from[0], 3);
  const base: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: topo.to[0] } };
  const state = desired(fabric, [mover, local], [{ ...base, hold: true, seal: 'drop' }]);
  walkTransition(net, new Map(), state, [], () => {});
  const r = net.walk(local.at.bridge, local.at.ofport, frame(local, mover));
  t.same(r.delivered, [], 'not delivered at the old port');
  t.same(r.toController.filter((d) => d.frame.eth_dst === mover.mac).map((d) => d.switch), [topo.to[0]], 'held at the new edge');
});
