/**
 * How the flip's stages go out (Controller.applyStages): a stage waits for every other switch's
 * barrier replies to the stages before it, but a stage for one switch alone goes at once behind
 * that switch's own unconfirmed barrier (the switch applies what follows a barrier only after
 * what precedes it). Barrier replies are held back here, so what was sent before which reply
 * is exact, not a matter of timing.
 */
import t from 'tap';
import { fakePort, type FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import type { Message } from '../../src/openflow/types/index.js';
import { makeWorld, walkBetween } from './world.js';

/** Keeps the switch's BARRIER_REPLYs until released (everything else is answered as usual). */
function holdBarrierReplies(sw: FakeSwitch): { release: () => void; held: () => number } {
  const write = sw.write.bind(sw);
  const held: Message[] = [];
  let holding = true;
  sw.write = (msg: Message) => {
    if (holding && msg.type === 'BARRIER_REPLY') held.push(msg);
    else write(msg);
  };
  return {
    release: () => {
      holding = false;
      for (const m of held.splice(0)) write(m);
    },
    held: () => held.length,
  };
}

/** The messages a switch received since index `from`, cut into batches at each BARRIER_REQUEST. */
function batchesSince(sw: FakeSwitch, from: number): Message[][] {
  const batches: Message[][] = [[]];
  for (const m of sw.received.slice(from)) {
    if (m.type === 'BARRIER_REQUEST') batches.push([]);
    else batches[batches.length - 1]!.push(m);
  }
  return batches.slice(0, -1);
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 5));
};

t.test('flip: each stage waits for the other switches\' replies; the old edge\'s relabel and cleanup go behind its own barrier at once', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const mover = Object.keys(w.topology.containers)[0]!;
  const peers = Object.keys(w.topology.containers).filter((n) => n !== mover);
  const home = w.app.controller.locations.get(mover)!;
  const target = Object.values(w.topology.nodes).find((n) => n.kind === 'host' && n.region !== w.topology.nodes[home.node]!.region)!.name;
  w.switches.get(target)!.addPort(fakePort(921, 'c-staged'));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get(target)!.ports.has(921); i++) await turns(1);
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-staged' });
  await w.waitSettled();
  // Every peer sends to the mover: their edges' ingress entries are part of the flip.
  for (const p of peers) walkBetween(w, p, mover);
  await w.waitSettled();

  const stagesApplied: { stage: string; switches: string[] }[] = [];
  const onEvent = (e: { type: string; stage?: string; switches?: string[]; reason?: string }) => {
    if (e.type === 'flows-stage-applied' && e.reason?.startsWith('commit migration')) stagesApplied.push({ stage: e.stage!, switches: e.switches! });
  };
  w.app.controller.on('event', onEvent);
  t.teardown(() => w.app.controller.off('event', onEvent));
  const holds = new Map([...w.switches].map(([name, sw]) => [name, holdBarrierReplies(sw)]));
  t.teardown(() => {
    for (const h of holds.values()) h.release();
  });
  const start = new Map([...w.switches].map(([name, sw]) => [name, sw.received.length]));
  const batches = (node: string) => batchesSince(w.switches.get(node)!, start.get(node)!);
  const others = [...w.switches.keys()].filter((n) => n !== target && n !== home.node);
  const committed = w.app.migrations.commit(m.id);

  for (let i = 0; i < 400 && batches(target).length < 1; i++) await turns(1);
  await turns(4);
  t.equal(batches(target).length, 1, 'the new edge gets its part first');
  t.same([home.node, ...others].filter((n) => batches(n).length > 0), [], 'no other switch gets anything before the new edge confirmed');

  holds.get(target)!.release();
  for (let i = 0; i < 400 && batches(home.node).length < 1; i++) await turns(1);
  await turns(4);
  const upstream = others.filter((n) => batches(n).length > 0);
  t.ok(upstream.length > 0, `the peers' edges turn their ingress entries in the same stage as the old edge (${upstream.join(' ')})`);
  t.equal(batches(home.node).length, 1, 'the old edge\'s relabel waits for the peers\' edges to confirm');

  for (const n of others) holds.get(n)!.release();
  for (let i = 0; i < 400 && batches(home.node).length < 3; i++) await turns(1);
  const old = batches(home.node);
  t.equal(old.length, 3, 'then the old edge gets its relabel and cleanup at once, each behind a barrier');
  t.equal(holds.get(home.node)!.held(), 3, 'while none of its three barriers was answered');
  const commands = [0, 1, 2].map((i) => (old[i] ?? []).map((msg) => (msg.type === 'FLOW_MOD' ? msg.command : msg.type)));
  t.ok(commands[0]!.length > 0 && commands[0]!.every((c) => c === 'ADD'), `its ingress entry first (${commands[0]!.join(' ')})`);
  t.ok(commands[1]!.length > 0 && commands[1]!.every((c) => c === 'ADD'), `then its relabel entries (${commands[1]!.join(' ')})`);
  t.ok(commands[2]!.length > 0 && commands[2]!.every((c) => c === 'DELETE_STRICT' || c === 'DELETE'), `removals last (${commands[2]!.join(' ')})`);

  for (const h of holds.values()) h.release();
  const done = await committed;
  t.equal(done.state, 'committed');
  t.same(stagesApplied.map((s) => s.switches), [[target], [home.node, ...upstream].sort(), [home.node], [home.node]], `stages announced in order (${stagesApplied.map((x) => `${x.stage}: ${x.switches.join(' ')}`).join(', ')})`);
  for (const p of peers) {
    t.same(walkBetween(w, p, mover).delivered.map((d) => `${d.switch}:${d.port}`), [`${target}:921`], `${p}: delivered at the new port only`);
  }
});
