import net from 'node:net';
import { Duplex } from 'node:stream';
import t from 'tap';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { OvsdbRpcError, OvsdbTimeoutError, OvsdbTransactionError } from '../../src/ovsdb/errors.js';
import { cond, mutation, op } from '../../src/ovsdb/operations.js';
import { map, namedUuid, OvsdbMap, OvsdbSet, set, Uuid, uuid, valueEquals } from '../../src/ovsdb/values.js';
import { connectClient, initOpenVswitchRow, startOvsdbServer } from './fixture.js';

const DB = 'Open_vSwitch';

t.test('list_dbs, get_schema, echo, RPC errors', async (t) => {
  const server = await startOvsdbServer(t);
  const client = await connectClient(t, server.unixEndpoint);
  t.equal(client.state, 'connected');
  const dbs = await client.listDbs();
  t.ok(dbs.includes('Open_vSwitch'), `list_dbs: ${dbs.join(', ')}`);
  t.ok(dbs.includes('_Server'));

  const schema = await client.getSchema(DB);
  t.equal(schema.name, DB);
  t.ok(schema.tables.Bridge?.columns.ports);
  t.equal(await client.getSchema(DB), schema, 'cached for the connection');
  t.not(await client.getSchema(DB, { refresh: true }), schema, 'refresh fetches again');

  t.strictSame(await client.echo(['ping', 7, { x: [true] }]), ['ping', 7, { x: [true] }]);

  const err = await t.rejects(client.getSchema('NoSuchDb'));
  t.ok(err instanceof OvsdbRpcError);
  t.equal((err as OvsdbRpcError).code, 'OVSDB_ERR_RPC');
  t.equal((err as OvsdbRpcError).error, 'unknown database');
  t.match((err as Error).message, /get_schema.*unknown database/);
  await t.rejects(client.request('no_such_method', []), { code: 'OVSDB_ERR_RPC', error: 'unknown method' });
  // The connection survives errors.
  t.strictSame(await client.listDbs(), dbs);
});

t.test('transactions with every operation', async (t) => {
  const server = await startOvsdbServer(t);
  const client = await connectClient(t, server.unixEndpoint);
  const root = await initOpenVswitchRow(client);
  t.ok(root instanceof Uuid);

  // Bridge + Port + Interface in one transaction, referenced from the root by named-uuid.
  const created = await client.transact(DB, [
    op.insert('Interface', { name: 'vx0', type: 'vxlan', options: map({ remote_ip: '192.0.2.1', key: 'flow' }) }, { uuidName: 'iface' }),
    op.insert('Port', { name: 'vx0', interfaces: set(namedUuid('iface')) }, { uuidName: 'port' }),
    op.insert('Bridge', { name: 'br-int', ports: set(namedUuid('port')), protocols: set('OpenFlow13') }, { uuidName: 'br' }),
    op.mutate('Open_vSwitch', [cond('_uuid', '==', root)], [mutation('bridges', 'insert', set(namedUuid('br')))]),
    op.comment('vino-controller test: create br-int'),
    op.commit(true),
  ]);
  const [iface, port, bridge, mutated, comment, commit] = created;
  t.ok(iface.uuid instanceof Uuid && port.uuid instanceof Uuid && bridge.uuid instanceof Uuid);
  t.equal(mutated.count, 1);
  t.strictSame(comment, {});
  t.strictSame(commit, {});

  // select decodes with the schema: sets are sets, maps are maps, references are Uuids.
  const [sel] = await client.transact(DB, [op.select('Bridge', [cond('name', '==', 'br-int')], ['_uuid', 'name', 'ports', 'protocols', 'fail_mode'])]);
  t.equal(sel.rows.length, 1);
  const row = sel.rows[0]!;
  t.ok(valueEquals(row._uuid!, bridge.uuid));
  t.equal(row.name, 'br-int');
  t.ok(row.ports instanceof OvsdbSet && valueEquals(row.ports, set(port.uuid)));
  t.ok(valueEquals(row.protocols!, set('OpenFlow13')));
  t.strictSame(row.fail_mode, set(), 'empty optional column is an empty set');
  const [rootSel] = await client.transact(DB, [op.select('Open_vSwitch', [], ['bridges'])]);
  t.ok(valueEquals(rootSel.rows[0]!.bridges!, set(bridge.uuid)), 'root references the bridge');
  const [ifSel] = await client.transact(DB, [op.select('Interface', [cond('name', '==', 'vx0')], ['options'])]);
  t.ok(ifSel.rows[0]!.options instanceof OvsdbMap);
  t.equal((ifSel.rows[0]!.options as OvsdbMap).get('remote_ip'), '192.0.2.1');

  // update + mutate (maps and sets), then wait for the state we expect.
  const changed = await client.transact(DB, [
    op.update('Bridge', [cond('name', '==', 'br-int')], { external_ids: map({ owner: 'vino' }), fail_mode: set('secure') }),
    op.mutate('Bridge', [cond('name', '==', 'br-int')], [
      mutation('external_ids', 'insert', map({ tenant: 't1' })),
      mutation('protocols', 'insert', set('OpenFlow14')),
    ]),
    op.mutate('Port', [cond('name', '==', 'vx0')], [mutation('trunks', 'insert', set(10, 20, 30)), mutation('trunks', 'delete', set(20))]),
    op.wait('Bridge', [cond('name', '==', 'br-int')], ['fail_mode'], '==', [{ fail_mode: set('secure') }], 1000),
  ]);
  t.equal(changed[0].count, 1);
  t.equal(changed[1].count, 1);
  t.equal(changed[2].count, 1);
  t.strictSame(changed[3], {});
  const [after, portAfter] = await client.transact(DB, [
    op.select('Bridge', [cond('name', '==', 'br-int')], ['external_ids', 'protocols', 'fail_mode']),
    op.select('Port', [cond('name', '==', 'vx0')], ['trunks']),
  ]);
  t.ok(valueEquals(after.rows[0]!.external_ids!, map({ owner: 'vino', tenant: 't1' })));
  t.ok(valueEquals(after.rows[0]!.protocols!, set('OpenFlow13', 'OpenFlow14')));
  t.ok(valueEquals(after.rows[0]!.fail_mode!, set('secure')));
  t.ok(valueEquals(portAfter.rows[0]!.trunks!, set(10, 30)));

  // abort rolls everything back and is reported at its index.
  const aborted = await t.rejects(
    client.transact(DB, [op.update('Bridge', [cond('name', '==', 'br-int')], { external_ids: map({}) }), op.abort()]),
  );
  t.ok(aborted instanceof OvsdbTransactionError);
  t.match(aborted, { index: 1, op: 'abort', error: 'aborted' });
  const [still] = await client.transact(DB, [op.select('Bridge', [], ['external_ids'])]);
  t.equal((still.rows[0]!.external_ids as OvsdbMap).size, 2, 'abort rolled the update back');

  // assert without owning the lock.
  await t.rejects(client.transact(DB, [op.comment('x'), op.assert('nobody_has_it')]), {
    code: 'OVSDB_ERR_TRANSACTION',
    index: 1,
    op: 'assert',
    error: 'not owner',
  });

  // delete: dropping the reference from the root lets the server collect the non-root rows.
  const [del, gone] = await client.transact(DB, [
    op.mutate('Open_vSwitch', [], [mutation('bridges', 'delete', set(bridge.uuid))]),
    op.delete('Bridge', [cond('_uuid', '==', bridge.uuid)]),
  ]);
  t.equal(del.count, 1);
  t.equal(gone.count, 1);
  const [b2, p2, i2] = await client.transact(DB, [op.select('Bridge', []), op.select('Port', []), op.select('Interface', [])]);
  t.equal(b2.rows.length + p2.rows.length + i2.rows.length, 0, 'bridge deleted, port and interface garbage-collected');
});

t.test('operation errors name the operation', async (t) => {
  const server = await startOvsdbServer(t);
  const client = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(client);

  const e1 = (await t.rejects(
    client.transact(DB, [op.comment('first'), op.select('Bridge', []), op.update('Bridge', [], { no_such_column: 1 })]),
  )) as OvsdbTransactionError;
  t.ok(e1 instanceof OvsdbTransactionError);
  t.equal(e1.index, 2);
  t.equal(e1.op, 'update');
  t.equal(e1.table, 'Bridge');
  t.equal(e1.error, 'unknown column');
  t.match(e1.details, /no_such_column/);
  t.match(e1.message, /operation 2 \(update on table Bridge\): unknown column/);
  t.equal(e1.results.length, 2, 'results of the operations before the failure');

  await t.rejects(client.transact(DB, [op.mutate('Bridge', [], [mutation('name', '+=', 1)])]), {
    code: 'OVSDB_ERR_TRANSACTION',
    index: 0,
    op: 'mutate',
    table: 'Bridge',
    error: 'constraint violation',
  });
  await t.rejects(client.transact(DB, [op.wait('Bridge', [cond('name', '==', 'nope')], ['name'], '==', [{ name: 'nope' }], 0)]), {
    code: 'OVSDB_ERR_TRANSACTION',
    index: 0,
    op: 'wait',
    error: 'timed out',
  });

  // Errors found only at commit come as the extra trailing result.
  const e2 = (await t.rejects(
    client.transact(DB, [op.insert('Port', { name: 'p', interfaces: uuid('00000000-0000-0000-0000-000000000001') })]),
  )) as OvsdbTransactionError;
  t.equal(e2.op, 'commit');
  t.equal(e2.index, 1);
  t.equal(e2.error, 'referential integrity violation');
  t.match(e2.message, /at commit \(after all 1 operations succeeded\): referential integrity violation/);

  // Duplicate index value: also a commit-time error.
  const mk = (n: string) => [
    op.insert('Bridge', { name: n }, { uuidName: 'b' }),
    op.mutate('Open_vSwitch', [], [mutation('bridges', 'insert', namedUuid('b'))]),
  ];
  await client.transact(DB, mk('dup'));
  await t.rejects(client.transact(DB, mk('dup')), { code: 'OVSDB_ERR_TRANSACTION', op: 'commit', error: 'constraint violation' });
});

t.test('64-bit integers survive the round trip', async (t) => {
  const server = await startOvsdbServer(t);
  const client = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(client);
  const big = 2n ** 62n + 1n;
  const min = -(2n ** 63n);
  await client.transact(DB, [op.update('Open_vSwitch', [], { next_cfg: big, cur_cfg: min })]);
  const [r] = await client.transact(DB, [op.select('Open_vSwitch', [cond('next_cfg', '==', big)], ['next_cfg', 'cur_cfg'])]);
  t.equal(r.rows.length, 1, 'condition with a bigint matches exactly');
  t.equal(r.rows[0]!.next_cfg, big);
  t.equal(r.rows[0]!.cur_cfg, min);
  const [none] = await client.transact(DB, [op.select('Open_vSwitch', [cond('next_cfg', '==', big + 1n)])]);
  t.equal(none.rows.length, 0, 'a neighbouring value (same double) does not match');
  await client.transact(DB, [op.update('Open_vSwitch', [], { next_cfg: 5 })]);
  const [small] = await client.transact(DB, [op.select('Open_vSwitch', [], ['next_cfg'])]);
  t.equal(small.rows[0]!.next_cfg, 5, 'small integers are plain numbers');
});

t.test('request timeout, then the connection keeps working', async (t) => {
  const server = await startOvsdbServer(t);
  const client = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(client);
  const started = Date.now();
  const err = await t.rejects(
    client.transact(DB, [op.wait('Bridge', [cond('name', '==', 'never')], ['name'], '==', [{ name: 'never' }])], { timeout: 200 }),
  );
  t.ok(err instanceof OvsdbTimeoutError);
  t.equal((err as OvsdbTimeoutError).code, 'OVSDB_ERR_TIMEOUT');
  // Never early (a load can only make it later); how late is printed, not asserted.
  t.ok(Date.now() - started >= 190, 'not before its timeout');
  t.comment(`timed out after ${Date.now() - started} ms`);
  t.ok((await client.listDbs()).includes(DB));
});

t.test('TCP remote', async (t) => {
  const server = await startOvsdbServer(t, { tcp: true });
  t.ok(server.tcpEndpoint, `listening on ${server.tcpEndpoint}`);
  const remotes = await server.appctl('ovsdb-server/list-remotes');
  t.match(remotes, /ptcp:/);
  const client = await connectClient(t, server.tcpEndpoint!);
  t.ok((await client.listDbs()).includes(DB));
  await initOpenVswitchRow(client);
  const [r] = await client.transact(DB, [op.select('Open_vSwitch', [], ['_uuid'])]);
  t.equal(r.rows.length, 1);
  // A closed port fails the first connect with a clear error.
  const dead = new OvsdbClient('tcp:127.0.0.1:1', { connectTimeout: 2000 });
  await t.rejects(dead.connect(), { code: 'OVSDB_ERR_CONNECT', message: /tcp:127\.0\.0\.1:1/ });
  t.equal(dead.state, 'closed');
});

t.test('Duplex transports from a factory', async (t) => {
  const server = await startOvsdbServer(t);

  // A net.Socket still connecting when the factory returns it.
  let calls = 0;
  const viaSocket = await connectClient(t, () => {
    calls++;
    return net.connect(server.socket);
  });
  t.ok((await viaSocket.listDbs()).includes(DB));
  t.equal(calls, 1);
  t.equal(viaSocket.label, 'duplex stream');

  // A plain Duplex that is not a socket (as an ssh2 channel is), relaying to the server.
  const relayFactory = async (): Promise<Duplex> => {
    const sock = net.connect(server.socket);
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const d = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        sock.write(chunk, cb);
      },
      final(cb) {
        sock.end(cb);
      },
      destroy(err, cb) {
        sock.destroy();
        cb(err);
      },
    });
    sock.on('data', (b) => d.push(b));
    sock.on('end', () => d.push(null));
    return d;
  };
  const viaRelay = await connectClient(t, relayFactory, { label: 'ssh-like relay' });
  t.equal(viaRelay.label, 'ssh-like relay');
  await initOpenVswitchRow(viaRelay);
  const [r] = await viaRelay.transact(DB, [op.select('Open_vSwitch', [], ['_uuid'])]);
  t.equal(r.rows.length, 1);

  // A factory that throws fails the connect with its message.
  const broken = new OvsdbClient(() => {
    throw new Error('ssh: authentication failed');
  });
  await t.rejects(broken.connect(), { code: 'OVSDB_ERR_CONNECT', message: /ssh: authentication failed/ });
});

t.test('bad endpoints and unusable states', async (t) => {
  t.throws(() => new OvsdbClient('http://x'), { code: 'OVSDB_ERR_BAD_ENDPOINT' });
  t.throws(() => new OvsdbClient('tcp:::1:6640'), { code: 'OVSDB_ERR_BAD_ENDPOINT' });
  t.throws(() => new OvsdbClient('tcp:host:99999'), { code: 'OVSDB_ERR_BAD_ENDPOINT' });
  t.throws(() => new OvsdbClient('ssl:1.2.3.4:6640'), { code: 'OVSDB_ERR_BAD_ENDPOINT', message: /needs TLS credentials/ });
  const idle = new OvsdbClient('tcp:[::1]:6640');
  await t.rejects(idle.listDbs(), { code: 'OVSDB_ERR_NOT_CONNECTED', message: /connect\(\) first/ });
  await idle.close();
  await t.rejects(idle.listDbs(), { code: 'OVSDB_ERR_CLIENT_CLOSED' });
});
