/**
 * The state stores against a real etcd (Debian's etcd-server): round trip, only changed keys
 * written, compare-and-swap conflicts, fencing by the leader key, the watch, and a clear
 * StoreUnavailable when etcd is gone. And the state file store.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdStateStore, FileStateStore, StoreConflict, StoreUnavailable, type StoredState } from '../../controller/ha/store.js';
import { startEtcd } from '../../testbed/etcd.js';

const loc = (name: string, node: string, ofport: number) => ({ name, mac: `02:00:00:00:00:${ofport.toString(16).padStart(2, '0')}`, node, ofport, source: 'api', since: '2026-01-01T00:00:00.000Z' });

t.test('etcd store', async (t) => {
  const etcd = await startEtcd({ name: 'store' });
  const clients: Etcd3[] = [];
  const client = () => {
    const c = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 1000, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 1000 }) });
    clients.push(c);
    return c;
  };
  t.teardown(async () => {
    for (const c of clients) c.close();
    await etcd.stop();
  });
  const prefix = `/vino-test-${process.pid}/`;

  await t.test('round trip; a save writes only what changed', async (t) => {
    const c = client();
    const a = new EtcdStateStore(c, { prefix: `${prefix}rt/` });
    t.equal(await a.load(), undefined, 'nothing stored yet');
    const state: StoredState = { locations: [loc('web', 's1', 1), loc('db/1', 's2', 2)], migrations: [{ id: 'm1', state: 'prepared' }] };
    await a.save(state);
    const b = new EtcdStateStore(c, { prefix: `${prefix}rt/` });
    const back = await b.load();
    t.same(back?.locations.sort((x, y) => ((x as { name: string }).name < (y as { name: string }).name ? -1 : 1)), [loc('db/1', 's2', 2), loc('web', 's1', 1)]);
    t.same(back?.migrations, [{ id: 'm1', state: 'prepared' }]);
    const before = await c.getAll().prefix(`${prefix}rt/state/`).exec();
    const revOf = (res: typeof before, suffix: string) => res.kvs.find((kv) => kv.key.toString().endsWith(suffix))?.mod_revision;
    await a.save({ ...state, locations: [loc('web', 's3', 4), loc('db/1', 's2', 2)] });
    const after = await c.getAll().prefix(`${prefix}rt/state/`).exec();
    t.equal(revOf(after, '/db%2F1'), revOf(before, '/db%2F1'), 'unchanged location not rewritten');
    t.not(revOf(after, '/web'), revOf(before, '/web'), 'changed location rewritten');
    t.equal(revOf(after, '/m1'), revOf(before, '/m1'), 'unchanged migration not rewritten');
    await a.save({ locations: [loc('web', 's3', 4)], migrations: [] });
    t.same((await new EtcdStateStore(c, { prefix: `${prefix}rt/` }).load())?.locations, [loc('web', 's3', 4)], 'removed rows are deleted');
    await t.rejects(a.save({ locations: [{ mac: 'x' }], migrations: [] }), /without a "name"/);
  });

  await t.test('a save of changes compares and writes only the rows given, and deletes the keys removed', async (t) => {
    const c = client();
    const a = new EtcdStateStore(c, { prefix: `${prefix}ch/` });
    await a.save({ locations: [loc('web', 's1', 1), loc('db', 's2', 2)], migrations: [{ id: 'm1', state: 'prepared' }, { id: 'm2', state: 'prepared' }] });
    const before = await c.getAll().prefix(`${prefix}ch/state/`).exec();
    const revOf = (res: typeof before, suffix: string) => res.kvs.find((kv) => kv.key.toString().endsWith(suffix))?.mod_revision;
    await a.saveChanges({ full: false, locations: [loc('web', 's3', 3)], removedLocations: [], migrations: [], removedMigrations: ['m1'] });
    const after = await c.getAll().prefix(`${prefix}ch/state/`).exec();
    t.not(revOf(after, '/web'), revOf(before, '/web'), 'the changed row is written');
    t.equal(revOf(after, '/db'), revOf(before, '/db'), 'a row not in the change list is left alone (not deleted)');
    t.equal(revOf(after, '/m1'), undefined, 'the removed key is deleted');
    t.equal(revOf(after, '/m2'), revOf(before, '/m2'));
    await a.saveChanges({ full: false, locations: [loc('web', 's3', 3)], removedLocations: ['gone-already'], migrations: [], removedMigrations: [] });
    const again = await c.getAll().prefix(`${prefix}ch/state/`).exec();
    t.equal(again.header.revision, after.header.revision, 'a row handed over as etcd holds it, and a key it does not have: no write at all');
    const back = await new EtcdStateStore(c, { prefix: `${prefix}ch/` }).load();
    t.same(back?.locations.map((l) => (l as { name: string }).name).sort(), ['db', 'web']);
    t.same(back?.migrations, [{ id: 'm2', state: 'prepared' }]);
  });

  await t.test('compare-and-swap: a writer with a stale view is refused, then succeeds after re-reading', async (t) => {
    const a = new EtcdStateStore(client(), { prefix: `${prefix}cas/` });
    const b = new EtcdStateStore(client(), { prefix: `${prefix}cas/` });
    await a.load();
    await b.load();
    await a.save({ locations: [loc('web', 's1', 1)], migrations: [] });
    await t.rejects(b.save({ locations: [loc('web', 's2', 2)], migrations: [] }), StoreConflict, 'b did not see a\'s write');
    await b.save({ locations: [loc('web', 's2', 2)], migrations: [] });
    t.same((await a.load())?.locations, [loc('web', 's2', 2)]);
  });

  await t.test('fencing: only the holder of the leader key writes', async (t) => {
    const c = client();
    const lease = c.lease(5);
    await lease.put(`${prefix}fence/election/1`).value('x');
    const held = (await c.get(`${prefix}fence/election/1`).exec()).kvs[0]!;
    let fence: { key: string; createRevision: string } | undefined = { key: held.key.toString(), createRevision: held.create_revision };
    const s = new EtcdStateStore(c, { prefix: `${prefix}fence/`, fence: () => fence });
    await s.save({ locations: [loc('a', 's1', 1)], migrations: [] });
    await lease.revoke();
    await t.rejects(s.save({ locations: [loc('a', 's1', 2)], migrations: [] }), StoreConflict, 'leader key gone: refused');
    fence = undefined;
    await t.rejects(s.save({ locations: [loc('a', 's1', 2)], migrations: [] }), /not the master/);
    t.same((await new EtcdStateStore(c, { prefix: `${prefix}fence/` }).load())?.locations, [loc('a', 's1', 1)], 'etcd still holds the fenced write only');
  });

  await t.test('watch: a follower sees the writer\'s changes', async (t) => {
    const writer = new EtcdStateStore(client(), { prefix: `${prefix}watch/` });
    const follower = new EtcdStateStore(client(), { prefix: `${prefix}watch/` });
    await follower.load();
    await follower.watch();
    t.teardown(() => follower.close());
    const seen = new Promise<StoredState>((resolve) => follower.once('changed', resolve));
    await writer.save({ locations: [loc('web', 's1', 1)], migrations: [{ id: 'm9', state: 'prepared' }] });
    const got = await seen;
    // One transaction, one watch event batch: both rows arrive together.
    t.same(got.locations, [loc('web', 's1', 1)]);
    t.same(got.migrations, [{ id: 'm9', state: 'prepared' }]);
  });

  await t.test('etcd gone: StoreUnavailable, and the store works again when it returns', async (t) => {
    const s = new EtcdStateStore(client(), { prefix: `${prefix}down/`, requestTimeoutMs: 800 });
    await s.save({ locations: [loc('web', 's1', 1)], migrations: [] });
    await etcd.kill();
    await t.rejects(s.save({ locations: [loc('web', 's1', 2)], migrations: [] }), StoreUnavailable);
    t.equal(s.reachable, false);
    await etcd.restart();
    let saved = false;
    for (let i = 0; i < 40 && !saved; i++) {
      try {
        await s.save({ locations: [loc('web', 's1', 2)], migrations: [] });
        saved = true;
      } catch (err) {
        if (!(err instanceof StoreUnavailable)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    t.ok(saved, 'saved after etcd returned');
    t.equal(s.reachable, true);
    t.same((await s.load())?.locations, [loc('web', 's1', 2)]);
  });
});

t.test('file store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vino-filestore-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const s = new FileStateStore(join(dir, 'state.json'));
  t.equal(await s.load(), undefined);
  await s.save({ locations: [loc('web', 's1', 1)], migrations: [{ id: 'm1' }] });
  t.same(await s.load(), { locations: [loc('web', 's1', 1)], migrations: [{ id: 'm1' }] });
  await writeFile(join(dir, 'bad.json'), '{"version": 1, "locations": 3}');
  await t.rejects(new FileStateStore(join(dir, 'bad.json')).load(), /bad\.json is truncated or corrupt \("locations" is not a list\)/);
  await writeFile(join(dir, 'broken.json'), '{');
  await t.rejects(new FileStateStore(join(dir, 'broken.json')).load(), { name: 'CorruptStateFile', message: /broken\.json is truncated or corrupt/ });
});
