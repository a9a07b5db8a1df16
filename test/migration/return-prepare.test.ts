// A container migrating back to a bridge it departed from earlier (there the relabel entries of
// that departure still send frames labelled for that bridge on to its current edge). Preparing
// the migration puts the bicast at the ingress: one copy labelled for the old edge, one for the
// new. Walked message by message on simulated switches, the old port must get every sender's
// frame exactly once in every intermediate state: were the new edge's relabel entries still
// winning over its copy delivery, the new edge's copy would go back to the old edge and be
// delivered there a second time (issue 17: the UDP duplicates of bench:migration before the freeze).
import t from 'tap';
import { buildFabric, desired, ep, frame, levelsFor, migrationTopologies, walkTransition } from '../controller/fabric-fixture.js';
import { BridgeMacs, type MigrationInProgress } from '../../controller/core/forwarding.js';
import type { SwitchState } from '../../controller/core/flows.js';

for (const topo of migrationTopologies.filter((x) => x.from[0] !== x.to[0])) {
  t.test(`back to a bridge it departed from, on ${topo.name}: prepared, the old port gets each frame once`, async (t) => {
    const { fabric, net } = buildFabric(topo.bridges, topo.links);
    const [oldEdge, oldPort] = topo.from;
    const [newEdge, newPort] = topo.to;
    const mover = ep('web', 1, oldEdge, oldPort);
    const senders = topo.bridges.map((b, i) => ep(`s${i}`, 10 + i, b, 3));
    const all = [mover, ...senders];
    // It came to the old edge from the new one: the new edge relabels frames still labelled for it.
    const departed = new BridgeMacs();
    departed.add(newEdge, mover.mac);
    const settled = desired(fabric, all, [], { departed });
    const relabelsAtNew = settled.get(newEdge)!.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst' && m.value === mover.mac) && f.tableId === 2);
    t.ok(relabelsAtNew.length >= 2, `the new edge holds the departure's relabel entries (${relabelsAtNew.length})`);
    walkTransition(net, new Map(), settled, [], () => {});

    let checks = 0;
    const once = (label: string) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        const atOld = r.delivered.filter((d) => d.switch === oldEdge && d.port === oldPort).length;
        const atNew = r.delivered.filter((d) => d.switch === newEdge && d.port === newPort).length;
        if (r.looped || atOld !== 1 || atNew > 1) t.fail(`${label}: from ${s.name}: ${atOld} at the old port, ${atNew} at the new one${r.looped ? ', looped' : ''}`);
        checks++;
      }
    };
    once('settled');
    const base: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: newEdge, ofport: newPort } };
    const prepared = desired(fabric, all, [base], { departed });
    walkTransition(net, settled, prepared, levelsFor(fabric, newEdge), (l) => once(`prepare/${l}`));
    once('prepared');
    // Once prepared every sender's frame also reaches the new port (its copy), once.
    for (const s of senders) {
      const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
      t.equal(r.delivered.filter((d) => d.switch === newEdge && d.port === newPort).length, 1, `prepared: from ${s.name} a copy at the new port`);
    }
    t.ok(checks > senders.length * 3, `walked ${checks} sender states`);
  });
}
