/**
 * Saves cost what changed: the controller notes which location names and migration ids changed
 * since the last successful save and hands the store only those rows (the first save after a
 * start or a change of role writes everything; a failed save keeps its changes due). With the
 * state file that is one journal line per save, and a restart loads snapshot + journal whole.
 */
import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Controller } from '../../controller/shell/controller.js';
import { FileStateStore, StoreUnavailable, type StateChanges, type StateStore, type StoredState } from '../../controller/ha/store.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../util/paths.js';
import { makeWorld } from './world.js';

/** Records what each save was given; fails while `down`. */
class RecordingStore implements StateStore {
  readonly description = 'recording test store';
  down = false;
  saves: StateChanges[] = [];
  async load(): Promise<StoredState | undefined> {
    return undefined;
  }
  async save(state: StoredState): Promise<void> {
    await this.saveChanges({ full: true, locations: state.locations, removedLocations: [], migrations: state.migrations, removedMigrations: [] });
  }
  async saveChanges(changes: StateChanges): Promise<void> {
    if (this.down) throw new StoreUnavailable('test store down');
    this.saves.push(structuredClone(changes));
  }
}

async function controller(store: StateStore) {
  const topology = await loadTopology(join(repoRoot(), 'topologies', 'line-3.json'));
  return new Controller(topology, { ofListen: [], logger: pino({ level: 'silent' }), store, saveRetry: { initialMs: 60_000, maxMs: 60_000 } });
}

const learned = (i: number, node = 'h1') => ({ name: `learned-${i}`, mac: `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, node, ofport: 100 + i, source: 'learned' as const });
const names = (rows: unknown[]) => rows.map((r) => (r as { name?: string; id?: string }).name ?? (r as { id: string }).id).sort();

t.test('the first save writes everything, then each save only the names and ids that changed', async (t) => {
  const store = new RecordingStore();
  const c = await controller(store);
  t.teardown(() => c.stop());
  const migrations = new Map<string, { id: string; state: string }>([['m1', { id: 'm1', state: 'prepared' }]]);
  c.extraState = () => [...migrations.values()];
  c.extraRow = (id) => migrations.get(id);
  await c.saveState();
  t.match(store.saves.at(-1), { full: true }, 'first save: the whole state');
  t.same(names(store.saves.at(-1)!.locations), ['c1', 'c2']);
  t.same(names(store.saves.at(-1)!.migrations), ['m1']);

  c.locations.set(learned(1));
  await c.saveState();
  t.same(store.saves.at(-1), { full: false, locations: [c.locations.get('learned-1')], removedLocations: [], migrations: [], removedMigrations: [] }, 'one new row');

  c.locations.delete('learned-1');
  migrations.get('m1')!.state = 'committed';
  c.noteExtraChanged('m1');
  migrations.delete('m0');
  c.noteExtraChanged('m0');
  await c.saveState();
  t.same(store.saves.at(-1), { full: false, locations: [], removedLocations: ['learned-1'], migrations: [{ id: 'm1', state: 'committed' }], removedMigrations: ['m0'] }, 'a removal and a changed migration');

  const c2 = c.locations.get('c2')!;
  c.locations.set({ ...c2, port: 'renamed' });
  await c.saveState();
  t.same(names(store.saves.at(-1)!.locations), ['c2'], 'the same place under another port name is a changed row');

  const before = store.saves.length;
  c.locations.set({ ...c.locations.get('c2')! });
  await c.saveState();
  t.equal(store.saves.length, before, 'nothing changed: nothing written');
});

t.test('a failed save keeps its changes due; a change of role writes everything again', async (t) => {
  const store = new RecordingStore();
  const c = await controller(store);
  t.teardown(() => c.stop());
  await c.saveState();
  store.down = true;
  c.locations.set(learned(1));
  await c.saveState();
  t.equal(c.storeHealthy, false, 'the save failed');
  store.down = false;
  c.locations.set(learned(2));
  await c.saveState();
  t.same(names(store.saves.at(-1)!.locations), ['learned-1', 'learned-2'], 'the failed change is written with the next');
  t.equal(c.storeHealthy, true);

  await c.assumeRole('MASTER', 5n);
  await c.saveState();
  t.match(store.saves.at(-1), { full: true }, 'a new master writes the whole state');
  t.same(names(store.saves.at(-1)!.locations), ['c1', 'c2', 'learned-1', 'learned-2']);

  // A failed whole write stays whole.
  await c.assumeRole('MASTER', 6n);
  store.down = true;
  await c.saveState();
  store.down = false;
  c.locations.set(learned(3));
  await c.saveState();
  t.match(store.saves.at(-1), { full: true }, 'retried whole');
  t.equal(store.saves.at(-1)!.locations.length, 5);
});

t.test('with 10 or 20,000 locations a save after one change hands over one row and appends the same bytes', async (t) => {
  const appended: number[] = [];
  for (const extra of [10, 20_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'vino-journal-ctl-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = new FileStateStore(join(dir, 'state.json'));
    const given: number[] = [];
    const store: StateStore = {
      description: file.description,
      load: () => file.load(),
      save: (s) => file.save(s),
      saveChanges: (ch) => {
        given.push(ch.full ? -1 : ch.locations.length + ch.removedLocations.length);
        return file.saveChanges(ch);
      },
    };
    const c = await controller(store);
    for (let i = 0; i < extra; i++) c.locations.set(learned(i));
    await c.saveState();
    c.locations.set({ ...learned(7), node: 'h2', ofport: 9 });
    await c.saveState();
    await c.stop();
    t.same(given, [-1, 1], `${extra} extra locations: a whole first save, then one row`);
    appended.push(statSync(file.journalFile).size);
  }
  t.equal(appended[1], appended[0], `the journal line is as long for 20,000 locations as for 10 (${appended.join(', ')} bytes)`);
});

t.test('a restart after many learned MACs, moves, removals and compactions keeps every location and migration', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vino-journal-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  const first = new FileStateStore(file, { compactMinBytes: 8192 });
  const a = await controller(first);
  await a.start();
  const migrations = new Map<string, { id: string; state: string; n: number }>();
  a.extraState = () => [...migrations.values()];
  a.extraRow = (id) => migrations.get(id);
  for (let i = 0; i < 600; i++) {
    a.locations.set(learned(i, i % 2 ? 'h1' : 'h2'));
    if (i % 3 === 0) {
      migrations.set(`m${i}`, { id: `m${i}`, state: 'prepared', n: i });
      a.noteExtraChanged(`m${i}`);
    }
    if (i % 5 === 0 && i > 0) {
      a.locations.delete(`learned-${i - 5}`);
      migrations.delete(`m${i - 3}`);
      a.noteExtraChanged(`m${i - 3}`);
    }
    if (i % 7 === 0) a.locations.set({ ...learned(i), node: 'h2', ofport: 5000 + i });
    await a.saveState();
  }
  await first.settled();
  t.ok(first.compactions > 0, `the journal was compacted (${first.compactions} times) on the way`);
  const expectedLocations = a.locations.all().map((l) => `${l.name}@${l.node}:${l.ofport}`);
  const expectedMigrations = [...migrations.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
  await a.stop();

  const b = await controller(new FileStateStore(file));
  await b.start();
  t.teardown(() => b.stop());
  t.same(b.locations.all().map((l) => `${l.name}@${l.node}:${l.ofport}`), expectedLocations, `all ${expectedLocations.length} locations back`);
  t.same((b.loadedExtraState as { id: string }[]).sort((x, y) => (x.id < y.id ? -1 : 1)), expectedMigrations, `all ${expectedMigrations.length} migrations back`);
});

t.test('migrations prepared and committed through the manager are back after a restart', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const moves: [string, string, number][] = [['web', 'h3', 931], ['db', 'h4', 932], ['client', 'h1', 933]];
  const ids: string[] = [];
  for (const [container, node, ofport] of moves) {
    w.switches.get(node)!.addPort(fakePort(ofport, `c-${container}`));
    for (let i = 0; i < 200 && !w.app.controller.sessions.get(node)!.ports.has(ofport); i++) await new Promise((r) => setTimeout(r, 5));
    const m = await w.app.migrations.prepare(container, { node, port: `c-${container}` });
    ids.push(m.id);
    await w.waitSettled();
  }
  // Two committed, one left prepared.
  await w.app.migrations.commit(ids[0]!);
  await w.app.migrations.commit(ids[1]!);
  const before = w.app.migrations.list().map((m) => ({ id: m.id, state: m.state, to: { node: m.to.node, port: m.to.port } }));
  await w.restartController();
  const after = w.app.migrations.list().map((m) => ({ id: m.id, state: m.state, to: { node: m.to.node, port: m.to.port } }));
  t.same(after, before, 'the same migrations in the same states');
  t.match(w.app.controller.locations.get('web'), { node: 'h3', ofport: 931 });
  t.match(w.app.controller.locations.get('db'), { node: 'h4', ofport: 932 });
  t.match(w.app.controller.locations.get('client'), { node: 'h4' }, 'the prepared one has not moved');
});
