import { readFileSync } from 'node:fs';
import t from 'tap';
import { applyColumnDiff, RowCache, tableUpdates2FromWire } from '../../src/ovsdb/cache.js';
import { OvsdbTransactionError } from '../../src/ovsdb/errors.js';
import type { Json } from '../../src/ovsdb/json.js';
import { cond, mutation, op, operationToWire, transactResultFromWire } from '../../src/ovsdb/operations.js';
import { defaultValue, parseColumnType, parseSchema } from '../../src/ovsdb/schema.js';
import {
  atomFromWire,
  map,
  namedUuid,
  OvsdbMap,
  OvsdbSet,
  rowEquals,
  rowFromWire,
  set,
  Uuid,
  uuid,
  valueEquals,
  valueFromWire,
  valueToWire,
} from '../../src/ovsdb/values.js';
import { VSWITCH_SCHEMA } from './fixture.js';

const U1 = '36f2d9a6-1f3b-4c8e-9a55-0c1d2e3f4a5b';
const U2 = '0b5c6d7e-8f90-4a1b-8c2d-3e4f5a6b7c8d';

t.test('atoms and values to the wire', async (t) => {
  t.equal(valueToWire('br0'), 'br0');
  t.equal(valueToWire(7), 7);
  t.equal(valueToWire(true), true);
  t.equal(valueToWire(1n << 60n), 1n << 60n);
  t.equal(valueToWire(42n), 42, 'safe bigint goes out as a number');
  t.strictSame(valueToWire(uuid(U1.toUpperCase())), ['uuid', U1], 'uuids are lower-cased');
  t.strictSame(valueToWire(namedUuid('row_1')), ['named-uuid', 'row_1']);
  t.strictSame(valueToWire(set()), ['set', []]);
  t.equal(valueToWire(set('only')), 'only', 'a one-element set is its bare atom');
  t.strictSame(valueToWire(set(1, 2)), ['set', [1, 2]]);
  t.strictSame(valueToWire(map({ a: '1', b: '2' })), ['map', [['a', '1'], ['b', '2']]]);
  t.strictSame(valueToWire(map([[1, uuid(U2)]])), ['map', [[1, ['uuid', U2]]]]);
  t.throws(() => valueToWire(1n << 63n), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => valueToWire(Infinity), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => uuid('not-a-uuid'), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => namedUuid('1abc'), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => valueToWire(null as never), { code: 'OVSDB_ERR_BAD_VALUE' });
});

t.test('values from the wire, with and without a type', async (t) => {
  t.strictSame(valueFromWire(['set', ['a', 'b']]), set('a', 'b'));
  t.equal(valueFromWire('a'), 'a', 'without a type a bare atom stays an atom');
  const setOfStrings = parseColumnType('t', { key: 'string', min: 0, max: 'unlimited' });
  t.strictSame(valueFromWire('a', setOfStrings), set('a'), 'with a set type a bare atom is a one-element set');
  const optional = parseColumnType('t', { key: 'integer', min: 0, max: 1 });
  t.strictSame(valueFromWire(['set', []], optional), set());
  t.strictSame(valueFromWire(5, optional), set(5));
  const scalar = parseColumnType('t', 'integer');
  t.equal(valueFromWire(9223372036854775807n, scalar), 9223372036854775807n);
  t.throws(() => valueFromWire(1.5, scalar), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => valueFromWire('x', scalar), { code: 'OVSDB_ERR_BAD_VALUE' });
  const real = parseColumnType('t', 'real');
  t.equal(valueFromWire(1, real), 1, 'ovsdb-server writes 1.0 as 1');
  const m = parseColumnType('t', { key: 'string', value: { type: 'uuid', refTable: 'X' }, min: 0, max: 'unlimited' });
  const got = valueFromWire(['map', [['k', ['uuid', U1]]]], m);
  t.ok(got instanceof OvsdbMap);
  t.ok((got as OvsdbMap).get('k') instanceof Uuid);
  t.throws(() => valueFromWire(['set', []], m), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.ok(atomFromWire(['named-uuid', 'x']) instanceof Object);
});

t.test('equality ignores order and number representation', async (t) => {
  t.ok(valueEquals(set(1, 2, 3), set(3, 2, 1)));
  t.notOk(valueEquals(set(1, 2), set(1, 3)));
  t.ok(valueEquals(set(5n), 5), 'one-element set equals its atom; 5n equals 5');
  t.ok(valueEquals(map({ a: '1', b: '2' }), map({ b: '2', a: '1' })));
  t.notOk(valueEquals(map({ a: '1' }), map({ a: '2' })));
  t.notOk(valueEquals(map({ a: '1' }), set('a')));
  t.ok(valueEquals(uuid(U1), uuid(U1.toUpperCase())));
  t.ok(rowEquals({ a: set(1, 2), b: 'x' }, { b: 'x', a: set(2, 1) }));
  t.notOk(rowEquals({ a: 1 }, { a: 1, b: 2 }));
});

t.test('schema parsing and defaults', async (t) => {
  const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')) as Json);
  t.equal(schema.name, 'Open_vSwitch');
  const bridge = schema.tables.Bridge!;
  t.strictSame(bridge.indexes, [['name']]);
  t.equal(bridge.columns.name!.mutable, false);
  t.equal(bridge.columns.ports!.type.key.refTable, 'Port');
  t.equal(bridge.columns.ports!.type.max, 'unlimited');
  t.ok(bridge.columns.protocols!.type.key.enum!.has('OpenFlow13'));
  t.equal(bridge.columns._uuid!.type.key.type, 'uuid');
  t.equal(schema.tables.Open_vSwitch!.isRoot, true);
  t.equal(schema.tables.Open_vSwitch!.maxRows, 1);
  t.equal(defaultValue(bridge.columns.name!.type), '');
  t.equal(defaultValue(bridge.columns.stp_enable!.type), false);
  t.strictSame(defaultValue(bridge.columns.ports!.type), set());
  t.strictSame(defaultValue(bridge.columns.external_ids!.type), map({}));
  t.equal(defaultValue(schema.tables.Open_vSwitch!.columns.next_cfg!.type), 0);
  t.throws(() => parseSchema({ name: 'x', tables: { T: { columns: { c: { type: 'float' } } } } }), { code: 'OVSDB_ERR_BAD_SCHEMA' });
  const row = rowFromWire({ name: 'br0', ports: ['uuid', U1], fail_mode: ['set', []] }, bridge);
  t.strictSame(row.ports, set(uuid(U1)));
  t.throws(() => rowFromWire({ nosuch: 1 }, bridge), /Bridge has no column nosuch/);
});

t.test('operations to the wire', async (t) => {
  t.strictSame(
    operationToWire(op.insert('Bridge', { name: 'br0', ports: set(namedUuid('p')) }, { uuidName: 'b' })),
    { op: 'insert', table: 'Bridge', row: { name: 'br0', ports: ['named-uuid', 'p'] }, 'uuid-name': 'b' },
  );
  t.strictSame(operationToWire(op.select('Bridge', [cond('name', '==', 'br0')], ['_uuid'])), {
    op: 'select',
    table: 'Bridge',
    where: [['name', '==', 'br0']],
    columns: ['_uuid'],
  });
  t.strictSame(operationToWire(op.mutate('Open_vSwitch', [], [mutation('bridges', 'insert', set(uuid(U1), uuid(U2)))])), {
    op: 'mutate',
    table: 'Open_vSwitch',
    where: [],
    mutations: [['bridges', 'insert', ['set', [['uuid', U1], ['uuid', U2]]]]],
  });
  t.strictSame(operationToWire(op.wait('Bridge', [], ['name'], '==', [{ name: 'a' }], 100)), {
    op: 'wait',
    table: 'Bridge',
    where: [],
    columns: ['name'],
    until: '==',
    rows: [{ name: 'a' }],
    timeout: 100,
  });
  t.strictSame(operationToWire(op.commit(true)), { op: 'commit', durable: true });
  t.strictSame(operationToWire(op.abort()), { op: 'abort' });
  t.strictSame(operationToWire(op.comment('hi')), { op: 'comment', comment: 'hi' });
  t.strictSame(operationToWire(op.assert('L')), { op: 'assert', lock: 'L' });
  t.strictSame(operationToWire(op.delete('Port', [true])), { op: 'delete', table: 'Port', where: [true] });
  t.throws(() => op.insert('', {}), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => op.assert('has-dash'), { code: 'OVSDB_ERR_BAD_VALUE', message: /lock name/ });
  t.throws(() => op.insert('T', {}, { uuidName: '9x' }), { code: 'OVSDB_ERR_BAD_VALUE', message: /uuid-name/ });
  t.throws(() => operationToWire(op.update('Bridge', [], { x: NaN })), /column x/);
});

t.test('transaction results and errors', async (t) => {
  const ops = [op.insert('A', {}), op.update('B', [], {}), op.insert('C', {})] as const;
  const ok = transactResultFromWire('db', ops, [{ uuid: ['uuid', U1] }, { count: 2 }, { uuid: ['uuid', U2] }]);
  t.strictSame(ok, [{ uuid: uuid(U1) }, { count: 2 }, { uuid: uuid(U2) }]);

  const e1 = t.throws(() =>
    transactResultFromWire('db', ops, [{ uuid: ['uuid', U1] }, { error: 'constraint violation', details: 'too many rows' }, null]),
  ) as OvsdbTransactionError;
  t.ok(e1 instanceof OvsdbTransactionError);
  t.equal(e1.code, 'OVSDB_ERR_TRANSACTION');
  t.equal(e1.index, 1);
  t.equal(e1.op, 'update');
  t.equal(e1.table, 'B');
  t.equal(e1.error, 'constraint violation');
  t.equal(e1.details, 'too many rows');
  t.match(e1.message, /operation 1 \(update on table B\): constraint violation: too many rows/);
  t.equal(e1.results.length, 1);

  const e2 = t.throws(() =>
    transactResultFromWire('db', ops, [{ uuid: ['uuid', U1] }, { count: 1 }, { uuid: ['uuid', U2] }, { error: 'referential integrity violation' }]),
  ) as OvsdbTransactionError;
  t.equal(e2.index, 3);
  t.equal(e2.op, 'commit');
  t.equal(e2.table, undefined);
  t.match(e2.message, /at commit \(after all 3 operations succeeded\)/);

  t.throws(() => transactResultFromWire('db', ops, [{ uuid: ['uuid', U1] }]), { code: 'OVSDB_ERR_PROTOCOL' });
  t.throws(() => transactResultFromWire('db', ops, [{ uuid: ['uuid', U1] }, null, null]), { code: 'OVSDB_ERR_PROTOCOL' });
  t.throws(() => transactResultFromWire('db', ops, { x: 1 }), { code: 'OVSDB_ERR_PROTOCOL' });
});

t.test('update2 diffs', async (t) => {
  const setType = parseColumnType('t', { key: 'string', min: 0, max: 'unlimited' });
  t.strictSame(applyColumnDiff(setType, set('a', 'b'), set('b', 'c')), set('a', 'c'), 'symmetric difference');
  const mapType = parseColumnType('t', { key: 'string', value: 'string', min: 0, max: 'unlimited' });
  const next = applyColumnDiff(mapType, map({ keep: '1', drop: '2', change: '3' }), map({ drop: '2', change: '4', add: '5' }));
  t.ok(valueEquals(next, map({ keep: '1', change: '4', add: '5' })));
  t.equal(applyColumnDiff(parseColumnType('t', 'string'), 'old', 'new'), 'new');
  const optional = parseColumnType('t', { key: 'integer', min: 0, max: 1 });
  t.strictSame(applyColumnDiff(optional, set(1), set(2)), set(2), 'at most one element: the new value itself');
  t.strictSame(applyColumnDiff(optional, set(1), set()), set());
  const map1 = parseColumnType('t', { key: 'string', value: 'string', min: 0, max: 1 });
  t.ok(valueEquals(applyColumnDiff(map1, map({ a: '1' }), map({ b: '2' })), map({ b: '2' })));
  const set2 = parseColumnType('t', { key: 'string', min: 1, max: 2 });
  t.strictSame(applyColumnDiff(set2, set('p'), set('p', 'q')), set('q'), 'max 2: a real difference');

  const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')) as Json);
  const cache = new RowCache(schema, { Bridge: ['name', 'ports', 'external_ids', 'stp_enable'] });
  const ins = cache.applyUpdate2(tableUpdates2FromWire({ Bridge: { [U1]: { insert: { name: 'br0' } } } }, schema));
  t.strictSame(ins[0]!.new, { name: 'br0', ports: set(), external_ids: map({}), stp_enable: false }, 'omitted columns are defaults');
  const mod = cache.applyUpdate2(
    tableUpdates2FromWire({ Bridge: { [U1]: { modify: { ports: ['uuid', U2], external_ids: ['map', [['k', 'v']]] } } } }, schema),
  );
  t.equal(mod[0]!.type, 'modify');
  t.strictSame(mod[0]!.old!.ports, set());
  t.strictSame(cache.get('Bridge', U1)!.ports, set(uuid(U2)));
  t.ok(valueEquals(cache.get('Bridge', U1)!.external_ids!, map({ k: 'v' })));
  t.ok(Object.isFrozen(cache.get('Bridge', U1)));
  const del = cache.applyUpdate2(tableUpdates2FromWire({ Bridge: { [U1]: { delete: null } } }, schema));
  t.equal(del[0]!.type, 'delete');
  t.equal(cache.size, 0);
  t.throws(() => tableUpdates2FromWire({ NoSuch: {} }, schema), { code: 'OVSDB_ERR_PROTOCOL' });
  t.throws(() => cache.applyUpdate2(tableUpdates2FromWire({ Bridge: { [U2]: { modify: { name: 'x' } } } }, schema)), {
    code: 'OVSDB_ERR_PROTOCOL',
  });
});

t.test('OvsdbMap and OvsdbSet helpers', async (t) => {
  const m = map({ a: '1' });
  t.equal(m.get('a'), '1');
  t.equal(m.get('b'), undefined);
  t.strictSame(m.toRecord(), { a: '1' });
  t.strictSame(m.keys(), ['a']);
  t.strictSame(new OvsdbMap(new Map([['x', 1]])).entries, [['x', 1]]);
  t.ok(set(1, 2).has(2n));
  t.equal(new OvsdbSet([1, 2]).size, 2);
  t.strictSame([...set('x', 'y')], ['x', 'y']);
});
