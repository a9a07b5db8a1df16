import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import t from 'tap';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import type { OvsdbError } from '../../src/ovsdb/errors.js';
import type { MonitorEvent } from '../../src/ovsdb/monitor.js';
import { cond, mutation, op } from '../../src/ovsdb/operations.js';
import { map, namedUuid, rowEquals, valueEquals, type Row } from '../../src/ovsdb/values.js';
import { connectClient, initOpenVswitchRow, OVSDB_TOOL, startOvsdbServer } from './fixture.js';

const run = promisify(execFile);
const DB = 'Open_vSwitch';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function addBridge(client: OvsdbClient, name: string) {
  return client.transact(DB, [
    op.insert('Bridge', { name }, { uuidName: 'b' }),
    op.mutate('Open_vSwitch', [], [mutation('bridges', 'insert', namedUuid('b'))]),
  ]);
}

const neverSatisfied = () => op.wait('Bridge', [cond('name', '==', 'never')], ['name'], '==', [{ name: 'never' }]);

t.test('server killed and restarted: in-flight requests fail, queued ones wait, monitors and locks come back', async (t) => {
  const server = await startOvsdbServer(t, { tcp: true });
  const fast = { reconnect: { initialDelay: 50, maxDelay: 400 } };
  const a = await connectClient(t, server.unixEndpoint, fast);
  const overTcp = await connectClient(t, server.tcpEndpoint!, fast);
  await initOpenVswitchRow(a);
  await addBridge(a, 'br0');
  const [gone] = await addBridge(a, 'gone');

  const events: MonitorEvent[] = [];
  const columns = ['name', 'external_ids'];
  const m = await a.monitorCond(DB, { Bridge: { columns } }, (ev) => events.push(ev));
  const mTcp = await overTcp.monitor(DB, { Bridge: { columns: ['name'] } }, () => {});
  t.equal(await a.lock('vino_master'), true);

  const log: string[] = [];
  a.on('disconnected', (r) => log.push(`disconnected ${r.code}`));
  a.on('reconnecting', (i) => log.push(`reconnecting ${i.attempt}`));
  a.on('connected', () => log.push('connected'));
  a.on('locked', (id) => log.push(`locked ${id}`));

  const inflight = a.transact(DB, [neverSatisfied()], { timeout: 60_000 }).then(
    () => undefined,
    (e: OvsdbError) => e,
  );
  const inflightTcp = overTcp.transact(DB, [neverSatisfied()], { timeout: 60_000 }).then(
    () => undefined,
    (e: OvsdbError) => e,
  );
  await sleep(100); // both requests are on the wire and parked by the server

  const killedAt = Date.now();
  await server.kill('SIGKILL');
  const err = await inflight;
  // CONNECTION_CLOSED, not TIMEOUT (its timeout is 60 s): rejected by the loss, not by waiting.
  t.equal(err?.code, 'OVSDB_ERR_CONNECTION_CLOSED');
  t.comment(`in-flight request rejected ${Date.now() - killedAt} ms after the kill`);
  t.match(err?.message, /"transact" failed: connection to unix:.* lost/);
  t.equal((await inflightTcp)?.code, 'OVSDB_ERR_CONNECTION_CLOSED');
  t.equal(a.state, 'reconnecting');
  t.equal(a.lockState('vino_master'), 'waiting', 'a lock does not outlive the session');

  // Change the database while the server is down (ovsdb-tool writes the file directly), so
  // the re-issued monitor has something to resynchronise.
  await run(OVSDB_TOOL, [
    'transact',
    server.dbFile,
    JSON.stringify([
      DB,
      { op: 'insert', table: 'Bridge', row: { name: 'offline' }, 'uuid-name': 'n' },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['named-uuid', 'n']]] },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'delete', ['uuid', gone.uuid.uuid]]] },
      { op: 'update', table: 'Bridge', where: [['name', '==', 'br0']], row: { external_ids: ['map', [['k', 'v']]] } },
    ]),
  ]);

  // A request made while disconnected waits for the reconnect.
  const queued = a.listDbs({ timeout: 10_000 });
  await sleep(500); // let a few attempts fail
  t.ok(log.filter((l) => l.startsWith('reconnecting')).length >= 2, 'retried while the server was down');
  events.length = 0;
  await server.restart();
  t.ok((await queued).includes(DB), 'queued request answered after the reconnect');

  await until('resync', () => events.some((e) => e.kind === 'resync'));
  const resync = events.find((e) => e.kind === 'resync')!;
  const summary = resync.changes.map((c) => `${c.type} ${(c.new ?? c.old)!.name}`).sort();
  t.strictSame(summary, ['delete gone', 'insert offline', 'modify br0'], 'resync reports what changed while disconnected');
  const br0 = resync.changes.find((c) => c.type === 'modify')!;
  t.ok(valueEquals(br0.new!.external_ids!, map({ k: 'v' })));
  t.equal((br0.old!.external_ids as ReturnType<typeof map>).size, 0);
  const [truth] = await a.transact(DB, [op.select('Bridge', [], ['_uuid', ...columns])]);
  t.equal(m.cache.table('Bridge').size, truth.rows.length);
  for (const { _uuid, ...row } of truth.rows) t.ok(rowEquals(m.cache.get('Bridge', String(_uuid))!, row as Row));

  await until('lock re-acquired', () => a.lockState('vino_master') === 'held');
  await a.transact(DB, [op.assert('vino_master')]);
  t.match(log, ['disconnected OVSDB_ERR_CONNECTION_CLOSED', 'reconnecting 1']);
  t.ok(log.indexOf('connected') < log.indexOf('locked vino_master'), log.join(', '));

  // The re-issued monitors keep following changes, on both transports.
  await until('tcp client back', () => overTcp.connected);
  const b = await connectClient(t, server.unixEndpoint);
  await addBridge(b, 'after');
  const hasAfter = (rows: ReadonlyMap<string, Row>) => [...rows.values()].some((r) => r.name === 'after');
  await until('unix monitor sees new bridge', () => hasAfter(m.cache.table('Bridge')));
  await until('tcp monitor sees new bridge', () => hasAfter(mTcp.cache.table('Bridge')));
  t.ok(m.active && mTcp.active);
});

t.test('a server that stops answering is found dead by echo, and reconnected', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint, {
    echoInterval: 100,
    echoTimeout: 300,
    reconnect: { initialDelay: 50, maxDelay: 200 },
  });
  const m = await a.monitor(DB, { Open_vSwitch: { columns: ['next_cfg'] } }, () => {});
  const disconnected = once(a, 'disconnected');
  const pausedAt = Date.now();
  server.pause();
  const [reason] = (await disconnected) as [OvsdbError];
  t.equal(reason.code, 'OVSDB_ERR_ECHO_TIMEOUT');
  t.match(reason.message, /no reply to echo within 300 ms/);
  // The code and message prove the echo found it; how long it took is printed, not asserted.
  t.comment(`noticed ${Date.now() - pausedAt} ms after the pause`);
  server.resume();
  await until('working again', async () => a.connected && (await a.listDbs({ timeout: 500 }).then(() => true, () => false)));
  t.ok(m.active, 'monitor survived');
  // An idle but healthy connection is never dropped.
  let drops = 0;
  a.on('disconnected', () => drops++);
  await sleep(800);
  t.equal(drops, 0);
});

t.test('without reconnect the client closes and requests fail fast', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint, { reconnect: false });
  const m = await a.monitor(DB, { Bridge: { columns: ['name'] } }, () => {}, { onCanceled: (r) => canceled.push(r) });
  const canceled: OvsdbError[] = [];
  const closed = once(a, 'close');
  const disconnected = once(a, 'disconnected');
  await server.kill();
  await disconnected;
  const [reason] = (await closed) as [OvsdbError];
  t.equal(reason.code, 'OVSDB_ERR_CONNECTION_CLOSED');
  t.equal(a.state, 'closed');
  t.notOk(m.active);
  t.equal(canceled.length, 1, 'monitor told why it ended');
  // NOT_CONNECTED, not TIMEOUT (the default is 30 s): a closed client fails at once instead of waiting.
  const t0 = Date.now();
  await t.rejects(a.listDbs(), { code: 'OVSDB_ERR_NOT_CONNECTED' });
  t.comment(`failed after ${Date.now() - t0} ms`);
});

t.test('queued requests wait up to their timeout; giving up rejects the rest', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint, { reconnect: { initialDelay: 50, maxDelay: 100, jitter: 0, maxAttempts: 8 } });
  const attempts: number[] = [];
  a.on('reconnecting', (i) => attempts.push(i.delay));
  await server.kill();
  const t0 = Date.now();
  await t.rejects(a.listDbs({ timeout: 300 }), { code: 'OVSDB_ERR_TIMEOUT', message: /waiting to reconnect/ });
  t.ok(Date.now() - t0 >= 290, 'waited for its timeout');
  const queued = a.listDbs({ timeout: 0 }).then(
    () => undefined,
    (e: OvsdbError) => e,
  ); // waits as long as the client tries
  const [reason] = (await once(a, 'close')) as [OvsdbError];
  t.equal(reason.code, 'OVSDB_ERR_NOT_CONNECTED');
  t.match(reason.message, /gave up reconnecting to unix:.* after 8 attempts/);
  t.equal((await queued)?.code, 'OVSDB_ERR_NOT_CONNECTED', 'the waiting request is rejected');
  t.strictSame(attempts, [50, 100, 100, 100, 100, 100, 100, 100], 'exponential backoff, capped');
});

t.test('close() rejects in-flight requests and ends monitors', async (t) => {
  const server = await startOvsdbServer(t);
  const a = new OvsdbClient(server.unixEndpoint);
  await a.connect();
  await initOpenVswitchRow(a);
  const m = await a.monitor(DB, { Bridge: { columns: ['name'] } }, () => {});
  const inflight = a.transact(DB, [neverSatisfied()]);
  await sleep(50);
  const closed = a.close();
  await t.rejects(inflight, { code: 'OVSDB_ERR_CLIENT_CLOSED' });
  await closed;
  t.notOk(m.active);
  t.equal(a.state, 'closed');
  await t.rejects(a.listDbs(), { code: 'OVSDB_ERR_CLIENT_CLOSED' });
  await a.close(); // idempotent
  await t.rejects(new OvsdbClient(`unix:${server.dir}/missing.sock`).connect(), { code: 'OVSDB_ERR_CONNECT', message: /missing\.sock/ });
});
