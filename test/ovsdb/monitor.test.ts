import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { OvsdbClient } from '../../src/ovsdb/client.js';
import type { MonitorEvent } from '../../src/ovsdb/monitor.js';
import { cond, mutation, op } from '../../src/ovsdb/operations.js';
import { map, namedUuid, rowEquals, set, uuid, valueEquals, type Row, type Value } from '../../src/ovsdb/values.js';
import { connectClient, initOpenVswitchRow, startOvsdbServer } from './fixture.js';

const DB = 'Open_vSwitch';

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function addBridge(client: OvsdbClient, name: string, extra: Row = {}) {
  return client.transact(DB, [
    op.insert('Bridge', { name, ...extra }, { uuidName: 'b' }),
    op.mutate('Open_vSwitch', [], [mutation('bridges', 'insert', namedUuid('b'))]),
  ]);
}

function removeBridge(client: OvsdbClient, name: string) {
  return client.transact(DB, [
    op.select('Bridge', [cond('name', '==', name)], ['_uuid']),
  ]).then(([r]) =>
    client.transact(DB, [op.mutate('Open_vSwitch', [], [mutation('bridges', 'delete', set(...r.rows.map((x) => x._uuid as never)))])]),
  );
}

/** The server's current rows of `table` (monitored columns only), keyed by UUID. */
async function groundTruth(client: OvsdbClient, table: string, columns: string[], where = [] as ReturnType<typeof cond>[]) {
  const [r] = await client.transact(DB, [op.select(table, where, ['_uuid', ...columns])]);
  const out = new Map<string, Row>();
  for (const row of r.rows) {
    const { _uuid, ...rest } = row;
    out.set(String(_uuid), rest);
  }
  return out;
}

function sameRows(t: Test, cache: ReadonlyMap<string, Row>, truth: Map<string, Row>, msg: string) {
  t.equal(cache.size, truth.size, `${msg}: row count`);
  for (const [uuid, row] of truth) {
    const cached = cache.get(uuid);
    if (!cached || !rowEquals(cached, row)) t.fail(`${msg}: row ${uuid} differs`, { cached, row });
    else t.pass(`${msg}: row ${uuid} matches`);
  }
}

t.test('monitor: initial contents, then insert/modify/delete updates', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  const b = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(a);
  await addBridge(a, 'br0', { external_ids: map({ role: 'int' }) });

  const events: MonitorEvent[] = [];
  const columns = ['name', 'external_ids', 'ports', 'stp_enable'];
  const m = await a.monitor(DB, { Bridge: { columns }, Open_vSwitch: {} }, (ev) => events.push(ev));
  t.equal(m.method, 'monitor');
  t.ok(m.active);
  t.equal(events.length, 1);
  t.equal(events[0]!.kind, 'initial');
  const initialBridges = events[0]!.changes.filter((c) => c.table === 'Bridge');
  t.equal(initialBridges.length, 1);
  t.equal(initialBridges[0]!.type, 'insert');
  t.equal(initialBridges[0]!.new!.name, 'br0');
  t.ok(valueEquals(initialBridges[0]!.new!.external_ids!, map({ role: 'int' })));
  sameRows(t, m.cache.table('Bridge'), await groundTruth(a, 'Bridge', columns), 'initial');
  // All columns monitored (including _version) when none are named.
  const rootRow = [...m.cache.table('Open_vSwitch').values()][0]!;
  t.ok('_version' in rootRow && 'bridges' in rootRow && !('_uuid' in rootRow));

  // Our own transaction: the update is applied before transact resolves.
  events.length = 0;
  const [ins] = await addBridge(a, 'br1');
  const br1 = ins.uuid.uuid;
  t.ok(m.cache.get('Bridge', br1), 'cache has br1 as soon as our transact resolves');
  const bridgeChanges = events.flatMap((e) => e.changes).filter((c) => c.table === 'Bridge');
  t.match(bridgeChanges, [{ type: 'insert', uuid: br1, new: { name: 'br1' } }]);
  t.equal(events[0]!.kind, 'update');

  // Another client's change arrives as a notification.
  events.length = 0;
  await b.transact(DB, [op.update('Bridge', [cond('name', '==', 'br1')], { external_ids: map({ k: 'v' }), stp_enable: true })]);
  await until('modify of br1', () => events.some((e) => e.changes.some((c) => c.uuid === br1 && c.type === 'modify')));
  const mod = events.flatMap((e) => e.changes).find((c) => c.uuid === br1)!;
  t.equal((mod.old!.external_ids as ReturnType<typeof map>).size, 0, 'old is the whole previous row');
  t.equal(mod.old!.stp_enable, false);
  t.ok(valueEquals(mod.new!.external_ids!, map({ k: 'v' })));
  t.equal(mod.new!.stp_enable, true);
  t.equal(mod.new!.name, 'br1', 'unchanged columns are in the new row');

  events.length = 0;
  await removeBridge(b, 'br1');
  await until('delete of br1', () => events.some((e) => e.changes.some((c) => c.uuid === br1 && c.type === 'delete')));
  t.equal(m.cache.get('Bridge', br1), undefined);
  sameRows(t, m.cache.table('Bridge'), await groundTruth(a, 'Bridge', columns), 'after delete');
});

t.test('monitor_cond: conditions, update2 diffs, condition change', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  const b = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(a);
  const columns = ['name', 'external_ids', 'protocols', 'fail_mode', 'flood_vlans', 'datapath_type'];
  const events: MonitorEvent[] = [];
  const m = await a.monitorCond(DB, { Bridge: { columns, where: [cond('name', '==', 'br-a')] } }, (ev) => events.push(ev));
  t.equal(m.method, 'monitor_cond');
  t.equal(m.cache.table('Bridge').size, 0);

  await addBridge(b, 'br-a');
  await addBridge(b, 'br-b');
  const onlyA = [cond('name', '==', 'br-a')];
  await until('br-a in cache', () => m.cache.table('Bridge').size === 1);
  sameRows(t, m.cache.table('Bridge'), await groundTruth(a, 'Bridge', columns, onlyA), 'filtered by condition');
  t.equal([...m.cache.table('Bridge').values()][0]!.datapath_type, '', 'column update2 omitted as default is filled in');

  // Every kind of column change, each checked against what the server really holds.
  const steps: Array<[string, ReturnType<typeof op.update> | ReturnType<typeof op.mutate>]> = [
    ['map insert', op.mutate('Bridge', onlyA, [mutation('external_ids', 'insert', map({ a: '1', b: '2' }))])],
    ['map replace + add', op.update('Bridge', onlyA, { external_ids: map({ a: '1', b: '3', c: '4' }) })],
    ['map delete by key', op.mutate('Bridge', onlyA, [mutation('external_ids', 'delete', set('a'))])],
    ['set insert', op.mutate('Bridge', onlyA, [mutation('protocols', 'insert', set('OpenFlow13', 'OpenFlow14'))])],
    ['set delete', op.mutate('Bridge', onlyA, [mutation('protocols', 'delete', set('OpenFlow14'))])],
    ['set replace', op.update('Bridge', onlyA, { protocols: set('OpenFlow10', 'OpenFlow15') })],
    ['optional set', op.update('Bridge', onlyA, { fail_mode: set('secure') })],
    ['optional change', op.update('Bridge', onlyA, { fail_mode: set('standalone') })],
    ['optional clear', op.update('Bridge', onlyA, { fail_mode: set() })],
    ['integer set', op.update('Bridge', onlyA, { flood_vlans: set(1, 2, 3) })],
    ['scalar', op.update('Bridge', onlyA, { datapath_type: 'netdev' })],
  ];
  for (const [name, o] of steps) {
    const before = events.length;
    await b.transact(DB, [o]);
    await until(name, () => events.length > before);
    sameRows(t, m.cache.table('Bridge'), await groundTruth(a, 'Bridge', columns, onlyA), name);
  }
  t.ok(events.slice(1).every((e) => e.kind === 'update'));

  // Condition change: br-a leaves, br-b enters.
  events.length = 0;
  await m.setConditions({ Bridge: [cond('name', '==', 'br-b')] });
  const changes = events.flatMap((e) => e.changes);
  t.match(
    changes.map((c) => [c.type, (c.old ?? c.new)!.name]).sort(),
    [['delete', 'br-a'], ['insert', 'br-b']],
    'the condition change is reported before setConditions resolves',
  );
  sameRows(t, m.cache.table('Bridge'), await groundTruth(a, 'Bridge', columns, [cond('name', '==', 'br-b')]), 'after condition change');
  t.strictSame(m.requests.Bridge![0]!.where, [cond('name', '==', 'br-b')], 'remembered for re-issue');
  await t.rejects(m.setConditions({ Port: [true] }), { code: 'OVSDB_ERR_BAD_VALUE' });

  // A monitor without conditions on one table, and boolean conditions on another.
  const all = await a.monitorCond(DB, { Bridge: { columns: ['name'] }, Port: { where: [false] } }, () => {});
  t.equal(all.cache.table('Bridge').size, 2);
  t.equal(all.cache.table('Port').size, 0);
  const plain = await a.monitor(DB, { Bridge: { columns: ['name'] } }, () => {});
  await t.rejects(plain.setConditions({ Bridge: [] }), { code: 'OVSDB_ERR_BAD_VALUE', message: /monitorCond/ });
});

t.test('monitor_cancel and select options', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(a);
  await addBridge(a, 'br0');

  const events: MonitorEvent[] = [];
  const m = await a.monitor(DB, { Bridge: { columns: ['name'] } }, (ev) => events.push(ev));
  t.equal(a.activeMonitors.length, 1);
  await m.cancel();
  t.notOk(m.active);
  t.equal(a.activeMonitors.length, 0);
  events.length = 0;
  await addBridge(a, 'br1');
  t.equal(events.length, 0, 'no events after cancel');
  // The server forgot it too.
  await t.rejects(a.request('monitor_cancel', [m.id]), { code: 'OVSDB_ERR_RPC', error: 'unknown monitor' });
  await m.cancel(); // harmless

  // select: no initial contents, inserts only.
  const seen: MonitorEvent[] = [];
  const sel = await a.monitor(
    DB,
    { Bridge: { columns: ['name', 'external_ids'], select: { initial: false, insert: true, modify: false, delete: false } } },
    (ev) => seen.push(ev),
  );
  t.equal(sel.cache.table('Bridge').size, 0, 'initial: false');
  await addBridge(a, 'br2');
  await a.transact(DB, [op.update('Bridge', [cond('name', '==', 'br2')], { external_ids: map({ x: 'y' }) })]);
  const kinds = seen.flatMap((e) => e.changes.map((c) => c.type));
  t.strictSame(kinds, ['insert'], 'modify not reported');

  // Errors from the server reject monitor() and leave nothing behind.
  await t.rejects(a.monitor(DB, { NoSuchTable: {} }, () => {}), { code: 'OVSDB_ERR_RPC' });
  await t.rejects(a.monitorCond('NoSuchDb', { Bridge: {} }, () => {}), { code: 'OVSDB_ERR_RPC' });
  t.equal(a.activeMonitors.length, 1);
  await t.rejects(a.monitor(DB, {}, () => {}), { code: 'OVSDB_ERR_BAD_VALUE' });
  await t.rejects(a.monitorCond(DB, { Bridge: { select: { initial: false } } }, () => {}), {
    code: 'OVSDB_ERR_BAD_VALUE',
    message: /modify updates need the initial rows/,
  });
  // Without initial rows, plain monitor still reports modifies (its "new" rows are complete).
  const noInitial: MonitorEvent[] = [];
  await a.monitor(DB, { Bridge: { columns: ['name', 'external_ids'], select: { initial: false } } }, (ev) => noInitial.push(ev));
  await a.transact(DB, [op.update('Bridge', [cond('name', '==', 'br2')], { external_ids: map({ x: 'z' }) })]);
  const late = noInitial.flatMap((e) => e.changes);
  t.equal(late.length, 1);
  t.equal(late[0]!.type, 'modify');
  t.equal(late[0]!.new!.name, 'br2', 'the whole row arrives with the modify');
  t.ok(valueEquals(late[0]!.old!.external_ids!, map({ x: 'y' })), 'old holds the changed columns');
});

t.test('a throwing handler is reported, the cache stays right', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(a);
  const errors: Error[] = [];
  a.on('error', (e) => errors.push(e));
  let calls = 0;
  const m = await a.monitor(DB, { Bridge: { columns: ['name'] } }, (ev) => {
    calls++;
    if (ev.kind === 'update') throw new Error('handler bug');
  });
  await addBridge(a, 'br0');
  t.equal(calls, 2);
  t.equal(errors.length, 1);
  t.match(errors[0]!.message, /handler bug/);
  t.equal(m.cache.table('Bridge').size, 1);
  t.ok((await a.listDbs()).length > 0, 'connection unaffected');
});

// Every column shape, checked against the server's own rows after each change: update2 sends
// differences for some shapes and new values for others, and both monitor kinds must agree.
const SHAPES_SCHEMA = {
  name: 'Shapes',
  version: '1.0.0',
  tables: {
    R: {
      isRoot: true,
      columns: {
        i: { type: 'integer' },
        r: { type: 'real' },
        b: { type: 'boolean' },
        s: { type: 'string' },
        u: { type: { key: { type: 'uuid', refTable: 'R', refType: 'weak' }, min: 0, max: 1 } },
        opt: { type: { key: 'integer', min: 0, max: 1 } },
        s2: { type: { key: 'string', min: 0, max: 2 } },
        s12: { type: { key: 'string', min: 1, max: 2 } },
        sn: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        m1: { type: { key: 'string', value: 'string', min: 0, max: 1 } },
        mn: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
      },
    },
  },
};

t.test('update and update2 agree with the server on every column shape', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), `vino-shapes-${process.pid}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const schemaFile = path.join(dir, 'shapes.ovsschema');
  await writeFile(schemaFile, JSON.stringify(SHAPES_SCHEMA));
  const server = await startOvsdbServer(t, { schema: schemaFile });
  const a = await connectClient(t, server.unixEndpoint);
  const b = await connectClient(t, server.unixEndpoint);
  t.ok((await a.listDbs()).includes('Shapes'));

  const v1 = await a.monitor('Shapes', { R: {} }, () => {});
  const v2 = await a.monitorCond('Shapes', { R: {} }, () => {});
  const [ins] = await b.transact('Shapes', [op.insert('R', { s12: set('p') })]);
  const self = uuid(ins.uuid.uuid);
  const steps: Array<Record<string, Value>> = [
    { i: 2n ** 60n, r: 1.5, b: true, s: 'x', u: set(self), opt: set(7), s2: set('a'), s12: set('p', 'q'), sn: set(1, 2, 3), m1: map({ k: 'v' }), mn: map({ a: 1, b: 2 }) },
    { i: -1, r: 2, b: false, s: '', u: set(), opt: set(8), s2: set('a', 'b'), s12: set('q'), sn: set(3, 4), m1: map({ k: 'w' }), mn: map({ a: 1, b: 3, c: 4 }) },
    { opt: set(), s2: set('c'), s12: set('r', 's'), sn: set(), m1: map({ j: 'w' }), mn: map({ c: 4 }) },
    { m1: map({}), s2: set('c', 'd'), mn: map({}) },
  ];
  const columns = Object.keys(SHAPES_SCHEMA.tables.R.columns);
  const truth = async () => {
    const [r] = await b.transact('Shapes', [op.select('R', [], ['_uuid', '_version', ...columns])]);
    return new Map(r.rows.map(({ _uuid, ...rest }) => [String(_uuid), rest]));
  };
  for (const [n, row] of steps.entries()) {
    await b.transact('Shapes', [op.update('R', [], row)]);
    // Wait for the server's new row version, not for the two caches to agree: before either
    // update arrives they agree on the previous version.
    const expected = await truth();
    await until(`update step ${n}`, () => {
      const got = v1.cache.get('R', ins.uuid.uuid);
      return !!got && got._version !== undefined && valueEquals(got._version, expected.get(ins.uuid.uuid)!._version!);
    });
    sameRows(t, v1.cache.table('R'), expected, `update, step ${n}`);
    await until(`update2 step ${n}`, () => {
      const got = v2.cache.get('R', ins.uuid.uuid);
      return !!got && valueEquals(got._version!, expected.get(ins.uuid.uuid)!._version!);
    });
    sameRows(t, v2.cache.table('R'), expected, `update2, step ${n}`);
  }
});
