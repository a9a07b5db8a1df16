import t from 'tap';
import { applyStages, applyStagesStepwise, buildFabric, desired, empty as noState, ep, frame, migrationTopologies, own } from './fabric-fixture.js';
import { Paths } from '../../controller/core/fabric.js';
import { levelsAlongPaths, levelsTowards, planTransition } from '../../controller/core/transition.js';
import { diffSwitchState, diffToMessages, isEmptyDiff } from '../../controller/core/diff.js';
import type { SwitchState } from '../../controller/core/flows.js';
import type { SimNetwork } from '../../src/openflow-sim/network.js';
import { BridgeMacs, type MigrationInProgress } from '../../controller/core/forwarding.js';

const topologies: ((typeof migrationTopologies)[number] & { senders?: string[]; edgePorts?: Record<string, number[]> })[] = [
  ...migrationTopologies,
  // Containers on hosts only, behind switches with none: peers nearer the new host than the old
  // host is, and one beside the mover on its old host.
  {
    name: 'hosts behind switches', bridges: ['s1', 's2', 's3', 'h1', 'h2', 'h3', 'h4'],
    links: [['s1', 's2'], ['s1', 's3'], ['s2', 'h1'], ['s2', 'h2'], ['s3', 'h3'], ['s3', 'h4']],
    from: ['h1', 1], to: ['h4', 2], senders: ['h1', 'h2', 'h3'], edgePorts: { s1: [], s2: [], s3: [] },
  },
];

// The flip's levels as the controller orders a prepared flip (along each switch's path to the
// new location) and, for a flip computed on commit, by distance.
for (const topo of topologies) for (const flipLevels of ['along paths', 'by distance', 'one stage'] as const) {
  t.test(`migration on ${topo.name} (flip levels ${flipLevels}): every intermediate state delivers, never loops`, async (t) => {
    const { fabric, net } = buildFabric(topo.bridges, topo.links, topo.edgePorts);
    const mover = ep('web', 1, topo.from[0], topo.from[1]);
    // One sender on every bridge (or those named), on port 3 (never a port the mover uses in these cases).
    const senders = (topo.senders ?? topo.bridges).map((b, i) => ep(`s${i}`, 10 + i, b, 3));
    const oldState = desired(fabric, [mover, ...senders]);
    const empty = new Map<string, SwitchState>();
    applyStages(net, planTransition(empty, oldState, [], own), () => {});

    const migration: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: topo.to[0], ofport: topo.to[1] } };
    const prepared = desired(fabric, [mover, ...senders], [migration]);
    const paths = new Paths(fabric);
    const levels = levelsTowards(fabric.bridges.keys(), (b) => paths.distance(b, topo.to[0]));

    const oldPort = `${topo.from[0]}:${topo.from[1]}`;
    const newPort = `${topo.to[0]}:${topo.to[1]}`;
    /**
     * `must`: ports that must receive the frame exactly once; every other delivery must be at
     * one of `may` (at most once). Tagged frames must never leave an edge port.
     */
    const check = (label: string, must: string[], may: string[] = []) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        t.notOk(r.looped, `${label}: from ${s.name} no loop`);
        const at = r.delivered.map((d) => `${d.switch}:${d.port}`);
        t.ok(r.delivered.every((d) => d.frame.vlan_vid === undefined), `${label}: from ${s.name} every delivered frame is untagged`);
        for (const port of must) t.equal(at.filter((x) => x === port).length, 1, `${label}: from ${s.name} delivered once at ${port}`);
        const extra = at.filter((x) => !must.includes(x));
        t.ok(extra.every((x) => may.includes(x)) && new Set(extra).size === extra.length, `${label}: from ${s.name} nothing else delivered (${at.join(' ')})`);
      }
    };

    check('before', [oldPort]);
    // Prepare: during every stage frames still reach the old location; once prepared, both.
    const prepStages = planTransition(oldState, prepared, levels, own);
    applyStages(net, prepStages, (label) => check(`prepare/${label}`, [oldPort], [newPort]));
    check('prepared', [oldPort, newPort]);

    // Commit: the container is now at the new port; every stage must deliver there.
    const moved = { ...mover, at: { bridge: topo.to[0], ofport: topo.to[1] } };
    // As the controller does on a move: the old edge relabels frames still labelled for it.
    const departed = new BridgeMacs();
    departed.add(topo.from[0], mover.mac);
    const final = desired(fabric, [moved, ...senders], [], { departed });
    const changed = [...fabric.bridges.keys()].filter((b) => !isEmptyDiff(diffSwitchState(final.get(b) ?? noState, prepared.get(b) ?? noState, own)));
    const nextBridge = (from: string, to: string) => {
      const port = paths.nextHop(from, to);
      return fabric.bridges.get(from)!.tunnels.find((x) => x.ofport === port)?.peer;
    };
    const flipOrder = flipLevels === 'along paths' ? levelsAlongPaths(changed, topo.to[0], nextBridge) : flipLevels === 'one stage' ? [changed] : levels;
    const flip = planTransition(prepared, final, flipOrder, own);
    if (topo.senders) {
      const byDistance = planTransition(prepared, final, levels, own);
      t.comment(`flip stages ${flip.map((s) => `${s.label}: ${[...s.changes.keys()].join(' ')}`).join(', ')}`);
      if (flipLevels === 'along paths') t.ok(flip.length < byDistance.length, `fewer stages along paths (${flip.length}) than by distance (${byDistance.length})`);
    }
    t.ok(flip.length >= 1, 'flip has stages');
    // Each stage switch by switch and message by message: a stage's switches confirm in any order.
    applyStagesStepwise(net, flip, (step) => check(`flip/${step}`, [newPort], [oldPort]));
    check('committed', [newPort]);
  });
}

/**
 * A prepared commit whose new edge already delivers the mover's labelled frames (the copy flow:
 * its port exists) goes in one stage (Controller.stageMove), with the hold and seal flows of a
 * freeze removed in their switch's part (`holdWithLevel`), and it may be a return to a bridge
 * the mover departed from earlier. Every switch subset and message prefix: each sender's frame
 * ends exactly once, delivered at the new port or held at the new edge (replayed by the
 * controller), never at the old port (sealed, the container is gone), never looping.
 */
for (const topo of topologies.filter((x) => x.from[0] !== x.to[0])) for (const returning of [false, true]) for (const frozen of [false, true]) {
  t.test(`one-stage commit on ${topo.name}${frozen ? ', frozen (hold and seal)' : ''}${returning ? ', back to where it departed from' : ''}: each frame once`, async (t) => {
    const { fabric, net } = buildFabric(topo.bridges, topo.links, topo.edgePorts);
    const [oldEdge, oldPort] = topo.from;
    const [newEdge, newPort] = topo.to;
    const mover = ep('web', 1, oldEdge, oldPort);
    const senders = (topo.senders ?? topo.bridges).map((b, i) => ep(`s${i}`, 10 + i, b, 3));
    const all = [mover, ...senders];
    const departedBefore = new BridgeMacs();
    if (returning) departedBefore.add(newEdge, mover.mac);
    const migration: MigrationInProgress = { name: 'web', mac: mover.mac, from: mover.at, to: { bridge: newEdge, ofport: newPort }, ...(frozen ? { hold: true, seal: 'drop' as const } : {}) };
    const before = desired(fabric, all, [migration], { departed: departedBefore });
    applyStages(net, planTransition(new Map(), before, [], own), () => {});
    // Its arrival at the new edge ends the earlier departure there; the old edge relabels now.
    const departed = new BridgeMacs();
    departed.add(oldEdge, mover.mac);
    const final = desired(fabric, [{ ...mover, at: { bridge: newEdge, ofport: newPort } }, ...senders], [], { departed });
    const changed = [...fabric.bridges.keys()].filter((b) => !isEmptyDiff(diffSwitchState(final.get(b) ?? noState, before.get(b) ?? noState, own)));
    const flip = planTransition(before, final, [changed], own, { holdWithLevel: true });
    t.same(flip.map((s) => s.label).filter((l) => l !== 'cleanup'), ['level 0'], `one stage before the cleanup (${flip.map((s) => `${s.label}: ${[...s.changes.keys()].join(' ')}`).join(', ')})`);
    if (frozen) {
      const holds = flip.filter((s) => s.label === 'cleanup').flatMap((s) => [...s.changes.values()]).flatMap((d) => d.flowsToDelete).filter((f) => f.priority === 210);
      t.same(holds, [], 'no hold or seal flow left to the cleanup');
    }
    let checks = 0;
    applyStagesStepwise(net, flip, (step) => {
      for (const s of senders) {
        const r = net.walk(s.at.bridge, s.at.ofport, frame(s, mover));
        const atNew = r.delivered.filter((d) => d.switch === newEdge && d.port === newPort).length;
        const atOld = r.delivered.filter((d) => d.switch === oldEdge && d.port === oldPort).length;
        const held = r.toController.filter((d) => d.frame.eth_dst === mover.mac && d.switch === newEdge).length;
        const elsewhere = r.delivered.length - atNew - atOld;
        // Not frozen, the old port still takes frames until the flip reaches it: at most once.
        const ok = !r.looped && atNew + held === 1 && elsewhere === 0 && (frozen ? atOld === 0 : atOld <= 1) && r.delivered.every((d) => d.frame.vlan_vid === undefined);
        if (!ok) t.fail(`flip/${step}: from ${s.name}: ${atNew} at the new port, ${held} held, ${atOld} at the old port, ${elsewhere} elsewhere${r.looped ? ', looped' : ''}`);
        checks++;
      }
    });
    for (const s of senders) t.same(net.walk(s.at.bridge, s.at.ofport, frame(s, mover)).delivered.map((d) => `${d.switch}:${d.port}`), [`${newEdge}:${newPort}`], `committed: from ${s.name} at the new port only`);
    t.ok(checks > senders.length * 4, `walked ${checks} sender states`);
  });
}
