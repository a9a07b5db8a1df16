/**
 * The commit's save is off the flip's path but not off the answer's: the switches are flipped
 * without waiting for the state file, and the commit answers (and turns `committed`) only once
 * the new location is saved. What a crash leaves either way is test/faults/controller-crash.
 */
import t from 'tap';
import { FileStateStore } from '../../controller/ha/store.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { makeWorld } from './world.js';

t.test('commit: flipped before the save, answered after it', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const mover = Object.keys(w.topology.containers)[0]!;
  const home = w.app.controller.locations.get(mover)!;
  const target = Object.values(w.topology.nodes).find((n) => n.kind === 'host' && n.region !== w.topology.nodes[home.node]!.region)!.name;
  w.switches.get(target)!.addPort(fakePort(931, 'c-saved'));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get(target)!.ports.has(931); i++) await new Promise((r) => setTimeout(r, 5));
  const m = await w.app.migrations.prepare(mover, { node: target, port: 'c-saved' });
  await w.waitSettled();
  await w.app.controller.saveState();

  // Saves wait at a gate from now on; what the flip had done when each was asked for is noted.
  const controller = w.app.controller;
  const save = controller.saveState.bind(controller);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const flipStages: string[] = [];
  const stagesAtSave: number[] = [];
  controller.saveState = () => {
    stagesAtSave.push(flipStages.length);
    return gate.then(save);
  };
  t.teardown(() => open());
  const onEvent = (e: { type: string; stage?: string; reason?: string }) => {
    if (e.type === 'flows-stage-applied' && e.reason?.startsWith('commit migration')) flipStages.push(e.stage!);
  };
  controller.on('event', onEvent);
  t.teardown(() => controller.off('event', onEvent));

  let answered = false;
  const committed = w.app.migrations.commit(m.id).then((done) => {
    answered = true;
    return done;
  });
  for (let i = 0; i < 400 && stagesAtSave.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.ok(stagesAtSave.length > 0, 'the commit saves');
  t.ok(flipStages.length > 0 && stagesAtSave[0] === flipStages.length, `its first save comes after every stage of the flip was confirmed (${flipStages.join(', ')})`);
  await new Promise((r) => setTimeout(r, 20));
  const during = w.app.migrations.get(m.id)!;
  t.notOk(answered, 'no answer while the save waits');
  t.equal(during.state, 'committing', 'still committing while the save waits');
  t.type(during.flipLatencyMs, 'number', 'the flip latency is known already');

  open();
  const done = await committed;
  t.equal(done.state, 'committed', 'answered committed once saved');
  // As the next start reads it: the snapshot and its journal.
  const saved = (await new FileStateStore(w.stateFile).load()) as { locations: { name: string; node: string; ofport: number }[]; migrations: { id: string; state: string }[] };
  t.match(saved.locations.find((l) => l.name === mover), { node: target, ofport: 931 }, 'the state file has the new location when the commit answers');
  t.ok(['committing', 'committed'].includes(saved.migrations.find((x) => x.id === m.id)?.state ?? ''), 'and the commit');
});
