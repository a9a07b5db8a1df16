/**
 * A migration's forwarding changes without a full recomputation, against one: its prepare, the
 * freeze's report, hold and seal, the end of the hold, its abort (changes of the migrations
 * list: of the mover's endpoint alone), its commit as planned ahead (Controller.prepareMove:
 * the mover's flows and the flood groups of the edges whose ports change) and its commit without
 * a plan (the endpoint-only path, edge ports included). Two controllers with
 * the same fake switches take the same steps; one as the shell does, the other recomputing
 * everything at every step. After each step the switches' tables must be equal and each switch
 * must have received the same changes: stage by stage, but for the planned commit, whose stages
 * differ by design (one stage, or levels along the paths), where all of them together.
 */
import t, { type Test } from 'tap';
import { makeWorld, type World } from './world.js';
import type { MigrationInProgress } from '../../controller/core/forwarding.js';
import { marks, received, tables } from './sent-changes.js';

interface Pair {
  shell: World;
  reference: World;
}


/** One step on both controllers: `act` gets each world; the reference recomputes everything. */
async function step(t: Test, pair: Pair, label: string, act: (w: World, asTheShell: boolean) => Promise<void>, took: 'endpoints' | 'prepared'): Promise<void> {
  const { shell, reference } = pair;
  const before = { shell: marks(shell), reference: marks(reference) };
  const counts = { ...shell.app.controller.syncCounts };
  const referenceFull = reference.app.controller.syncCounts.full;
  reference.app.controller.recomputeAllNext();
  await Promise.all([act(shell, true), act(reference, false)]);
  t.same(tables(shell), tables(reference), `${label}: same tables`);
  const got = received(shell, before.shell);
  const want = received(reference, before.reference);
  let changed = 0;
  for (const node of got.keys()) {
    const a = got.get(node)!;
    const b = want.get(node)!;
    if (took === 'endpoints') t.same(a, b, `${label}: ${node} received the same changes, stage by stage`);
    else t.same(a.flat().sort(), b.flat().sort(), `${label}: ${node} received the same changes`);
    if (b.flat().length > 0) changed++;
  }
  t.ok(changed > 0, `${label}: some switch changed (${changed})`);
  const now = shell.app.controller.syncCounts;
  t.equal(now.full, counts.full, `${label}: no full recomputation`);
  if (took === 'endpoints') t.ok(now.endpoints > counts.endpoints, `${label}: the endpoint-only path`);
  else t.equal(now.prepared, counts.prepared + 1, `${label}: the plan made ahead was sent`);
  t.equal(reference.app.controller.syncCounts.full, referenceFull + 1, `${label}: the reference recomputed everything`);
}

/** Publishes the migrations list and syncs towards `towards`, as the migration manager does. */
const publish = (list: MigrationInProgress[], reason: string, towards: string) => async (w: World) => {
  w.app.controller.migrations = list;
  await w.app.controller.requestSync(reason, { towards });
};

/**
 * A migration of `name` to `to` through `phases` (each a change of its entry), then committed as
 * planned ahead or aborted. The plan is made on the shell's controller after the last phase.
 */
async function migrate(t: Test, pair: Pair, name: string, to: { node: string; ofport: number }, phases: Partial<MigrationInProgress>[], end: 'commit' | 'commit unplanned' | 'abort'): Promise<void> {
  const l = pair.shell.app.controller.locations.get(name)!;
  const base: MigrationInProgress = { name, mac: l.mac, from: { bridge: l.node, ofport: l.ofport }, to: { bridge: to.node, ofport: to.ofport } };
  for (const [i, phase] of phases.entries()) {
    const entry = { ...base, ...phase };
    const what = i === 0 ? 'prepare' : `phase ${Object.entries(phase).map(([k, v]) => `${k}=${String(v)}`).join(',') || 'hold ended'}`;
    await step(t, pair, `${name} → ${to.node}:${to.ofport}: ${what}`, publish([entry], what, to.node), 'endpoints');
  }
  if (end === 'abort') {
    await step(t, pair, `${name} → ${to.node}:${to.ofport}: abort`, publish([], 'abort', l.node), 'endpoints');
    return;
  }
  const move = (w: World) => {
    w.app.controller.locations.set({ ...l, node: to.node, ofport: to.ofport, source: 'migration' });
    w.app.controller.migrations = [];
  };
  if (end === 'commit unplanned') {
    // As when the plan was stale at its turn: the move and the migration's end in one sync.
    await step(t, pair, `${name} → ${to.node}:${to.ofport}: commit (no plan)`, async (w) => {
      move(w);
      await w.app.controller.requestSync('commit', { towards: to.node });
    }, 'endpoints');
    return;
  }
  const plan = await pair.shell.app.controller.prepareMove(name, to, [], to.node);
  t.ok(plan, `${name} → ${to.node}:${to.ofport}: a plan was made`);
  await step(t, pair, `${name} → ${to.node}:${to.ofport}: commit`, async (w, asTheShell) => {
    move(w);
    await (asTheShell ? w.app.controller.requestPreparedMove('commit', plan!) : w.app.controller.requestSync('commit', { towards: to.node }));
  }, 'prepared');
}

for (const file of ['line-3.json', 'two-region.json', 'three-region.json', 'grid-12.json', 'paper-24.json']) {
  t.test(`${file}: prepare, freeze, end of the hold, abort and commit as the full recomputation would send them`, async (t) => {
    const shell = await makeWorld(file);
    t.teardown(() => shell.close());
    const reference = await makeWorld(file);
    t.teardown(() => reference.close());
    const pair = { shell, reference };
    t.same(tables(shell), tables(reference), 'same tables to start with');
    const { topology } = shell;
    const names = Object.keys(topology.containers);
    const hosts = Object.values(topology.nodes).filter((n) => n.kind === 'host').map((n) => n.name);
    const switches = Object.values(topology.nodes).filter((n) => n.kind !== 'host').map((n) => n.name);
    const [first, second] = [names[0]!, names[names.length - 1]!];
    const home = shell.app.controller.locations.get(first)!.node;
    const away = hosts.filter((h) => h !== home).at(-1)!;

    // To another host, frozen with the old port up (report, then hold and seal), the hold
    // ended by the replay, committed.
    await migrate(t, pair, first, { node: away, ofport: 950 }, [{}, { seal: 'report' }, { hold: true, seal: 'drop' }, { seal: 'drop' }], 'commit');
    // Back, frozen with the old port gone (hold and seal at once), aborted.
    await migrate(t, pair, first, { node: home, ofport: 951 }, [{}, { hold: true, seal: 'drop' }], 'abort');
    // To another port of the same bridge, held, committed.
    const at = shell.app.controller.locations.get(second)!;
    await migrate(t, pair, second, { node: at.node, ofport: 952 }, [{}, { hold: true }], 'commit');
    // To a switch that held no container: it becomes an edge (its own flows and every bridge's
    // label flow towards it change), and back: it stops being one.
    if (switches.length > 0) {
      await migrate(t, pair, second, { node: switches[0]!, ofport: 953 }, [{}], 'commit');
      await migrate(t, pair, second, { node: at.node, ofport: at.ofport }, [{}], 'commit');
    }
    // Committed without a plan (one made ahead was stale): the endpoint-only path, the new
    // edge's flood group with it.
    await migrate(t, pair, first, { node: home, ofport: 954 }, [{}], 'commit unplanned');
    if (switches.length > 0) await migrate(t, pair, first, { node: switches.at(-1)!, ofport: 955 }, [{}], 'commit unplanned');
  });
}
