import t from 'tap';
import { applyStages, buildFabric, desired, ep, frame, migrationTopologies, own } from './fabric-fixture.js';
import { Paths } from '../../controller/core/fabric.js';
import { levelsTowards, planTransition } from '../../controller/core/transition.js';
import { diffToMessages } from '../../controller/core/diff.js';
import { LABEL_TABLE, Priority, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { RuleKind, cookieKind } from '../../controller/core/cookies.js';
import type { SwitchState } from '../../controller/core/flows.js';
import type { SimNetwork } from '../../src/openflow-sim/network.js';

const topologies = migrationTopologies;

for (const topo of topologies) {
  t.test(`hold on ${topo.name}: from freeze to release every frame reaches the new port or the controller, exactly once`, async (t) => {
    const { fabric, net } = buildFabric(topo.bridges, topo.links);
    const mover = ep('web', 1, topo.from[0], topo.from[1]);
    const senders = topo.bridges.map((b, i) => ep(`s${i}`, 10 + i, b, 3));
    const all = [mover, ...senders];
    const levels = levelsTowards(fabric.bridges.keys(), (b) => new Paths(fabric).distance(b, topo.to[0]));
    const base: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: topo.to[0] } };
    const newPort = `${topo.to[0]}:${topo.to[1]}`;
    const oldPort = `${topo.from[0]}:${topo.from[1]}`;

    // Where each sender's frame for the mover ends: at edge ports and at the controller (held).
    const outcome = (label: string, expect: { held: boolean; atNew: boolean }) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        t.notOk(r.looped, `${label}: from ${s.name} no loop`);
        const at = r.delivered.map((d) => `${d.switch}:${d.port}`);
        const held = r.toController.filter((d) => d.frame.eth_dst === mover.mac);
        t.equal(at.filter((x) => x === oldPort).length, 1, `${label}: from ${s.name} still once at the old port (bicast)`);
        t.equal(at.filter((x) => x === newPort).length, expect.atNew ? 1 : 0, `${label}: from ${s.name} ${expect.atNew ? 'once' : 'never'} at the new port`);
        t.equal(held.length, expect.held ? 1 : 0, `${label}: from ${s.name} ${expect.held ? 'held once' : 'not held'}`);
        t.ok(held.every((d) => d.switch === topo.to[0] && d.frame.vlan_vid === undefined), `${label}: from ${s.name} held at the new edge, untagged`);
        t.equal(at.length, 1 + (expect.atNew ? 1 : 0), `${label}: from ${s.name} nothing else delivered (${at.join(' ')})`);
      }
    };

    const prepared = desired(fabric, all, [base]);
    applyStages(net, planTransition(new Map<string, SwitchState>(), prepared, [], own), () => {});
    outcome('prepared, no port', { held: false, atNew: false });

    // Freeze: only the new edge changes (its frames go to the controller from then on).
    const frozen = desired(fabric, all, [{ ...base, hold: true }]);
    const freezeStages = planTransition(prepared, frozen, levels, own);
    t.same([...new Set(freezeStages.flatMap((s) => [...s.changes.keys()]))], [topo.to[0]], 'freeze touches the new edge only');
    const holdFlows = frozen.get(topo.to[0])!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD);
    // Another bridge: one hold flow, over the frames labelled for the new edge (its local
    // senders' frames take that label too). Same bridge: one for local, one for labelled frames.
    const sameBridge = topo.from[0] === topo.to[0];
    t.equal(holdFlows.length, sameBridge ? 2 : 1, 'hold flows at the new edge');
    const labelled = holdFlows.find((f) => f.tableId === LABEL_TABLE)!;
    t.equal(labelled.priority, Priority.MIGRATION_HOLD);
    t.ok(Priority.MIGRATION_HOLD > Priority.MIGRATION_COPY, 'the hold flow is above the copies\' flow');
    t.match(labelled.instructions, [{ type: 'APPLY_ACTIONS', actions: [{ type: 'POP_VLAN' }, { type: 'OUTPUT', port: 0xfffffffd, maxLen: 0xffff }] }], 'whole frame, untagged, no switch buffer');
    applyStages(net, freezeStages, () => {});
    outcome('frozen', { held: true, atNew: false });

    // The port appears while holding: the flows under the hold flow point at it, frames are still held.
    const withPort: MigrationInProgress = { ...base, to: { bridge: topo.to[0], ofport: topo.to[1] }, hold: true };
    const portSeen = desired(fabric, all, [withPort]);
    applyStages(net, planTransition(frozen, portSeen, levels, own), (label) => outcome(`port/${label}`, { held: true, atNew: false }));

    // Release (after the replay): every stage either holds or delivers at the new port, never both, never neither.
    const released = desired(fabric, all, [{ ...withPort, hold: false }]);
    const releaseStages = planTransition(portSeen, released, levels, own);
    for (const stage of releaseStages) {
      for (const [name, d] of stage.changes) for (const msg of diffToMessages(d)) t.notOk(net.switches.get(name)!.apply(msg));
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        const atNew = r.delivered.filter((d) => `${d.switch}:${d.port}` === newPort).length;
        const held = r.toController.filter((d) => d.frame.eth_dst === mover.mac).length;
        t.equal(atNew + held, 1, `release/${stage.label}: from ${s.name} exactly one of held (${held}) or delivered (${atNew})`);
      }
    }
    outcome('released', { held: false, atNew: true });
    t.equal(released.get(topo.to[0])!.flows.filter((f) => cookieKind(f.cookie) === RuleKind.MIGRATION_HOLD).length, 0, 'no hold flow once released');
  });
}
