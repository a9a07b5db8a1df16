/**
 * `ssl:HOST:PORT` endpoints against a real ovsdb-server listening with `pssl:`, certificates
 * made by `ovs-pki`: a client whose CA signed the server's certificate transacts (and
 * reconnects after a server restart, again over TLS); a server certificate from another CA is
 * refused by us; a client certificate from another CA is refused by the server.
 */
import t from 'tap';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { mutation, op } from '../../src/ovsdb/operations.js';
import { namedUuid, set } from '../../src/ovsdb/values.js';
import { connectClient, initOpenVswitchRow, startOvsdbServer } from './fixture.js';
import { makePki } from '../util/ovs-pki.js';

t.test('OVSDB over TLS with ovs-pki certificates', { timeout: 120_000 }, async (t) => {
  const pki = await makePki(t, 'ovsdb-tls');
  const server = await pki.identity('ovsdb-server', 'switch');
  const client = await pki.identity('ovsdb-client', 'controller');
  // The server trusts the controller CA (our client), we trust the switch CA (the server).
  const db = await startOvsdbServer(t, { ssl: { keyFile: server.keyFile, certFile: server.certFile, caFile: pki.controllerCaFile } });
  const endpoint = db.sslEndpoint!;
  t.match(endpoint, /^ssl:127\.0\.0\.1:\d+$/);

  const tls = { key: client.key, cert: client.cert, ca: pki.switchCa };
  const c = await connectClient(t, endpoint, { tls, reconnect: { initialDelay: 50, maxDelay: 200 } });
  t.ok((await c.listDbs()).includes('Open_vSwitch'), 'list_dbs over TLS');
  await initOpenVswitchRow(c);
  // Referenced from the root row, or the server would garbage-collect the bridge.
  const [ins] = await c.transact('Open_vSwitch', [
    op.insert('Bridge', { name: 'br-tls' }, { uuidName: 'b' }),
    op.mutate('Open_vSwitch', [], [mutation('bridges', 'insert', set(namedUuid('b')))]),
  ]);
  t.ok(ins.uuid, 'a transaction commits over TLS');

  // Restart: the client reconnects over TLS by itself and the data is still there.
  const reconnected = new Promise<void>((resolve) => c.once('connected', () => resolve()));
  await db.kill();
  await db.restart();
  await reconnected;
  const [sel] = await c.transact('Open_vSwitch', [op.select('Bridge', [['name', '==', 'br-tls']], ['name'])]);
  t.equal(sel.rows.length, 1, 'reconnected over TLS after a server restart; the row is there');

  // A server certificate from another PKI: our side refuses the handshake.
  const other = await makePki(t, 'ovsdb-tls-other');
  const stranger = await other.identity('stranger', 'controller');
  const wrongCa = new OvsdbClient(endpoint, { tls: { ...tls, ca: other.switchCa }, reconnect: false, connectTimeout: 10_000 });
  await t.rejects(wrongCa.connect(), { code: 'OVSDB_ERR_CONNECT', message: /certificate/ }, 'server certificate not signed by our CA: refused');

  // Our certificate from another PKI: the server drops us; no request gets an answer.
  const foreign = new OvsdbClient(endpoint, { tls: { key: stranger.key, cert: stranger.cert, ca: pki.switchCa }, reconnect: false, requestTimeout: 5_000, connectTimeout: 5_000 });
  foreign.on('error', () => undefined);
  t.teardown(() => foreign.close());
  const refused = await foreign.connect().then(() => foreign.listDbs()).then(() => null, (e: Error & { code?: string }) => e);
  // The server's alert reaches us: it does not know the CA of our certificate.
  t.match(refused?.message, /unknown ca/, 'a client certificate from another CA: the server refuses it (alert unknown ca)');
});

t.test('ssl: endpoints need credentials; bad endpoints are named', async (t) => {
  t.throws(() => new OvsdbClient('ssl:127.0.0.1:6640'), { code: 'OVSDB_ERR_BAD_ENDPOINT', message: /needs TLS credentials/ });
  t.throws(() => new OvsdbClient('ssl:::1:6640', { tls: { key: '', cert: '', ca: '' } }), { code: 'OVSDB_ERR_BAD_ENDPOINT', message: /ssl:\[::1\]:6640/ });
  t.throws(() => new OvsdbClient('ssl:host:0', { tls: { key: '', cert: '', ca: '' } }), { code: 'OVSDB_ERR_BAD_ENDPOINT', message: /bad port/ });
});
