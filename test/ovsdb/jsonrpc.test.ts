// The JSON-RPC layer against a scripted peer, for what a real ovsdb-server will not do on
// demand: send its own echo, oversized or broken messages, stray replies.
import { once } from 'node:events';
import net from 'node:net';
import t, { type Test } from 'tap';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import type { OvsdbError } from '../../src/ovsdb/errors.js';
import type { Json } from '../../src/ovsdb/json.js';
import { JsonStreamParser } from '../../src/ovsdb/json-stream.js';

interface Peer {
  /** Messages the client sent, parsed. */
  received: Json[];
  socket: net.Socket;
  send(text: string): void;
  next(): Promise<Record<string, Json>>;
}

/** A TCP server on 127.0.0.1 playing the OVSDB server; the client reaches it through a factory. */
async function scriptedPeer(t: Test): Promise<{ connect: () => net.Socket; peer: () => Promise<Peer> }> {
  const server = net.createServer();
  const peers: Peer[] = [];
  const waiting: Array<(p: Peer) => void> = [];
  server.on('connection', (socket) => {
    const parser = new JsonStreamParser();
    const queue: Json[] = [];
    const wakers: Array<() => void> = [];
    const p: Peer = {
      received: [],
      socket,
      send: (text) => socket.write(text),
      async next() {
        while (queue.length === 0) await new Promise<void>((r) => wakers.push(r));
        return queue.shift() as Record<string, Json>;
      },
    };
    socket.on('data', (d) => {
      for (const m of parser.push(d)) {
        p.received.push(m);
        queue.push(m);
      }
      wakers.splice(0).forEach((w) => w());
    });
    socket.on('error', () => {});
    const w = waiting.shift();
    if (w) w(p);
    else peers.push(p);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  t.teardown(() => peers.forEach((p) => p.socket.destroy()));
  return {
    connect: () => net.connect(port, '127.0.0.1'),
    peer: () => (peers.length ? Promise.resolve(peers.shift()!) : new Promise((r) => waiting.push(r))),
  };
}

t.test('answers the server echo at once, with the same params and id', async (t) => {
  const s = await scriptedPeer(t);
  const client = new OvsdbClient(s.connect, { echoInterval: 0, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const peer = await s.peer();
  peer.send('{"method":"echo","params":["probe",{"n":12345678901234567890}],"id":"srv-1"}');
  const reply = await peer.next();
  t.strictSame(reply, { result: ['probe', { n: 12345678901234567890n }], error: null, id: 'srv-1' });
  // Any other server request gets a JSON-RPC error rather than silence.
  peer.send('{"method":"frobnicate","params":[],"id":7}');
  const err = await peer.next();
  t.equal(err.id, 7);
  t.equal(err.result, null);
  t.match(err.error, { error: 'unknown method' });
});

t.test('sends its own echo on the interval', async (t) => {
  const s = await scriptedPeer(t);
  const client = new OvsdbClient(s.connect, { echoInterval: 50, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const peer = await s.peer();
  const probe = await peer.next();
  t.equal(probe.method, 'echo');
  t.type(probe.id, 'number');
  peer.send(JSON.stringify({ result: probe.params, error: null, id: probe.id }));
  const again = await peer.next();
  t.equal(again.method, 'echo', 'and again');
  t.not(again.id, probe.id);
});

t.test('replies, notifications and stray messages', async (t) => {
  const s = await scriptedPeer(t);
  const client = new OvsdbClient(s.connect, { echoInterval: 0, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const peer = await s.peer();
  const notes: Array<[string, Json]> = [];
  client.on('notification', (m, p) => notes.push([m, p]));

  // Handled at once: the timeout may fire while we wait for the peer to see the request.
  const slow = client.request('slow', [], { timeout: 100 }).then(
    () => undefined,
    (e: OvsdbError) => e,
  );
  const req = await peer.next();
  t.equal(req.method, 'slow');
  const slowErr = await slow;
  t.equal(slowErr?.code, 'OVSDB_ERR_TIMEOUT');
  t.match(slowErr?.message, /"slow" got no reply within 100 ms/);
  // The late reply, a reply to an id never used, and a notification: only the last surfaces.
  peer.send(JSON.stringify({ result: 'late', error: null, id: req.id }));
  peer.send('{"result":1,"error":null,"id":"not-ours"}{"result":1,"error":null,"id":999}');
  peer.send('{"method":"something_new","params":[1,2],"id":null}');
  const ok = client.request('fine', ['x']);
  const r2 = await peer.next();
  // Reply split across writes.
  const text = JSON.stringify({ result: { got: r2.params }, error: null, id: r2.id });
  peer.send(text.slice(0, 5));
  await new Promise((r) => setTimeout(r, 20));
  peer.send(text.slice(5));
  t.strictSame(await ok, { got: ['x'] });
  t.strictSame(notes, [['something_new', [1, 2]]]);
  t.equal(client.state, 'connected');
});

for (const [name, payload, code] of [
  ['an oversized message', `{"method":"update","params":["m","${'x'.repeat(5000)}"],"id":null}`, 'OVSDB_ERR_MESSAGE_TOO_LARGE'],
  ['invalid JSON', '{"result": [1, 2,, 3], "id": 1}', 'OVSDB_ERR_BAD_JSON'],
  ['a non-object message', '[1,2,3]', 'OVSDB_ERR_PROTOCOL'],
] as const) {
  t.test(`${name} closes the connection and fails pending requests`, async (t) => {
    const s = await scriptedPeer(t);
    const client = new OvsdbClient(s.connect, { echoInterval: 0, maxMessageSize: 4096, reconnect: false });
    t.teardown(() => client.close());
    await client.connect();
    const peer = await s.peer();
    const disconnected = once(client, 'disconnected');
    const pending = client.request('list_dbs', []);
    await peer.next();
    const peerClosed = once(peer.socket, 'close');
    peer.send(payload);
    const [reason] = (await disconnected) as [OvsdbError];
    t.equal(reason.code, code);
    const err = (await t.rejects(pending, { code: 'OVSDB_ERR_CONNECTION_CLOSED' })) as OvsdbError;
    t.equal((err.cause as OvsdbError).code, code, 'the cause names the problem');
    await peerClosed;
    t.pass('the peer saw the connection close');
    t.equal(client.state, 'closed');
  });
}

t.test('reconnects through the factory after the peer hangs up', async (t) => {
  const s = await scriptedPeer(t);
  let made = 0;
  const client = new OvsdbClient(
    () => {
      made++;
      return s.connect();
    },
    { echoInterval: 0, reconnect: { initialDelay: 10, jitter: 0 } },
  );
  t.teardown(() => client.close());
  await client.connect();
  const first = await s.peer();
  const reconnected = once(client, 'connected');
  first.socket.destroy();
  await reconnected;
  t.equal(made, 2, 'the factory was called for the new connection');
  const second = await s.peer();
  const p = client.echo(['hi']);
  const req = await second.next();
  second.send(JSON.stringify({ result: req.params, error: null, id: req.id }));
  t.strictSame(await p, ['hi']);
});
