import t from 'tap';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { SwitchSession, SessionError, type SessionOptions } from '../../controller/shell/session.js';
import { FakeSwitch, fakePort, type FakeSwitchOptions } from '../../src/openflow-sim/fake-switch.js';
import type { Message } from '../../src/openflow/types/index.js';
import { decodeRawFlowStats } from '../../src/openflow/decode/flow-stats-raw.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';

/** A listening socket that wraps every connection in a SwitchSession. */
async function harness(t: { teardown: (fn: () => void) => void }, options: Partial<SessionOptions> = {}) {
  const sessions: SwitchSession[] = [];
  const server: Server = createServer((socket) => sessions.push(new SwitchSession(socket, options)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const switches: FakeSwitch[] = [];
  t.teardown(() => {
    for (const s of sessions) s.close('test over');
    for (const s of switches) s.close();
    server.close();
  });
  const nextSession = async () => {
    while (sessions.length === 0) await new Promise((r) => setTimeout(r, 5));
    return sessions.shift()!;
  };
  const connectSwitch = (opts: FakeSwitchOptions) => {
    const sw = new FakeSwitch(port, opts);
    switches.push(sw);
    return sw;
  };
  return { port, nextSession, connectSwitch };
}

const ready = (s: SwitchSession) => new Promise<void>((resolve, reject) => {
  if (s.state === 'ready') return resolve();
  s.once('ready', resolve);
  s.once('close', (r: string) => reject(new Error(`closed: ${r}`)));
});
const closed = (s: SwitchSession) => new Promise<string>((resolve) => {
  if (s.state === 'closed') return resolve(s.closeReason ?? '');
  s.once('close', resolve);
});

t.test('negotiation: hello, features, set-config, port description in several parts', async (t) => {
  const h = await harness(t);
  const sw = h.connectSwitch({ datapathId: 0xabcdef0123456789n, ports: [fakePort(1, 'a'), fakePort(2, 'b'), fakePort(7, 'vx-c')], portDescPartSize: 1 });
  const s = await h.nextSession();
  await ready(s);
  t.equal(s.datapathId, 0xabcdef0123456789n, 'datapath id from FEATURES_REPLY, exact 64 bits');
  t.same([...s.ports.keys()].sort(), [1, 2, 7], 'ports reassembled from three multipart parts');
  const hello = await sw.waitFor((m) => m.type === 'HELLO');
  t.match(hello, { version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4] }] });
  const cfg = await sw.waitFor((m) => m.type === 'SET_CONFIG');
  t.match(cfg, { missSendLen: 0xffff });
});

t.test('known port names: asked once per handshake with the datapath id; ports keep their names, known or not, through a change', async (t) => {
  const asked: bigint[] = [];
  const h = await harness(t, { knownPortNames: (dpid) => (asked.push(dpid), new Map([['c-a', 'c-a'], ['gone', 'gone']])) });
  const sw = h.connectSwitch({ datapathId: 0x42n, ports: [fakePort(1, 'c-a'), fakePort(2, 'other')], portDescPartSize: 1 });
  const s = await h.nextSession();
  await ready(s);
  t.same(asked, [0x42n], 'asked once, for this switch');
  t.same([...s.ports.values()].map((p) => [p.portNo, p.name]).sort(), [[1, 'c-a'], [2, 'other']], 'the known name and the unknown one, as reported');
  const changed = new Promise((resolve) => s.once('port', resolve));
  sw.addPort({ ...fakePort(1, 'c-a'), state: 1 });
  await changed;
  t.match(s.ports.get(1), { name: 'c-a', state: 1 }, 'a port changed keeps its name, the new state taken');
  const renamed = new Promise((resolve) => s.once('port', resolve));
  sw.addPort(fakePort(2, 'renamed'));
  await renamed;
  t.equal(s.ports.get(2)?.name, 'renamed', 'a port reported under another name takes it');
  t.same(asked, [0x42n], 'a port change does not ask again');
});

t.test('version mismatch: HELLO_FAILED sent, session closed', async (t) => {
  const h = await harness(t);
  const sw = h.connectSwitch({ datapathId: 1n, helloVersions: [1] });
  const s = await h.nextSession();
  const reason = await closed(s);
  t.match(reason, /version mismatch/);
  const err = (await sw.waitFor((m) => m.type === 'ERROR')) as Extract<Message, { type: 'ERROR' }>;
  t.equal(err.errorType, 0, 'HELLO_FAILED');
  t.equal((err as { code: number }).code, 0, 'INCOMPATIBLE');
  t.match(err.data.toString(), /1\.3/);
});

t.test('a switch that stops answering echoes is dropped', async (t) => {
  const h = await harness(t, { echoIntervalMs: 50, idleTimeoutMs: 200 });
  const sw = h.connectSwitch({ datapathId: 2n, answerEcho: false });
  const s = await h.nextSession();
  await ready(s);
  await sw.waitFor((m) => m.type === 'ECHO_REQUEST', 2000);
  t.match(await closed(s), /echo timeout/);
});

t.test('a switch that answers echoes stays', async (t) => {
  const h = await harness(t, { echoIntervalMs: 30, idleTimeoutMs: 150 });
  h.connectSwitch({ datapathId: 3n });
  const s = await h.nextSession();
  await ready(s);
  await new Promise((r) => setTimeout(r, 400));
  t.equal(s.state, 'ready');
});

t.test('bad headers are refused at once: unknown type → BAD_TYPE, bad length → BAD_LEN, then disconnect; a bad body only gets an error', async (t) => {
  const h = await harness(t);
  const sw = h.connectSwitch({ datapathId: 4n });
  const s = await h.nextSession();
  await ready(s);
  // Well framed, known type, malformed body: answered with an error, connection kept.
  sw.writeRaw(Buffer.from('040a002200000062', 'hex'));
  sw.writeRaw(Buffer.alloc(26, 0xee));
  const badBody = (await sw.waitFor((m) => m.type === 'ERROR')) as { errorType: number; xid: number };
  t.same([badBody.errorType, badBody.xid], [4, 0x62], 'BAD_MATCH for the PACKET_IN whose match type is wrong, naming its xid');
  t.equal(s.state, 'ready', 'a bad body does not end the session');
  // Unknown type 200: the stream cannot be trusted past it: BAD_REQUEST/BAD_TYPE, then hang up.
  sw.writeRaw(Buffer.from('04c8000800000063', 'hex'));
  t.match(await closed(s), /refused header 04c8000800000063.*BAD_TYPE/);
  const badType = (await sw.waitFor((m) => m.type === 'ERROR' && m.xid === 0x63)) as { errorType: number; code: number; data: Buffer };
  t.same([badType.errorType, badType.code], [1, 1], 'BAD_REQUEST/BAD_TYPE');
  t.equal(badType.data.toString('hex'), '04c8000800000063', 'the offending header as data');

  const sw2 = h.connectSwitch({ datapathId: 7n });
  const s2 = await h.nextSession();
  await ready(s2);
  // A header claiming 3 bytes cannot be framed: BAD_LEN, then hang up.
  sw2.writeRaw(Buffer.from('0400000300000001', 'hex'));
  t.match(await closed(s2), /refused header/);
  const badLen = await sw2.waitFor((m) => m.type === 'ERROR' && (m as { code: number }).code === 6);
  t.equal((badLen as { errorType: number }).errorType, 1, 'BAD_REQUEST/BAD_LEN sent before closing');
});

t.test('barrier-confirmed batch; a dropped barrier times out; refused messages are reported', async (t) => {
  const h = await harness(t, { requestTimeoutMs: 300 });
  const flowMod = (priority: number): Message => ({
    type: 'FLOW_MOD', xid: 0, cookie: 1n, cookieMask: 0n, tableId: 0, command: 'ADD', idleTimeout: 0, hardTimeout: 0,
    priority, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: { fields: [] }, instructions: [],
  });
  const sw = h.connectSwitch({
    datapathId: 5n,
    onModify: (m) => (m.type === 'FLOW_MOD' && m.priority === 13 ? { type: 'ERROR', xid: m.xid, version: 4, errorType: 5, code: 1, data: Buffer.alloc(0) } : undefined),
  });
  const s = await h.nextSession();
  await ready(s);
  const ok = await s.applyBatch([flowMod(1), flowMod(2), flowMod(3)]);
  t.equal(ok.sent, 3);
  const refused = await s.applyBatch([flowMod(12), flowMod(13), flowMod(14)]).catch((e: unknown) => e);
  t.type(refused, SessionError);
  t.equal((refused as SessionError).code, 'SWITCH_ERROR');
  t.equal((refused as SessionError).switchErrors.length, 1);
  t.match((refused as SessionError).message, /FLOW_MOD_FAILED\/TABLE_FULL/);
  t.equal(((refused as SessionError).switchErrors[0]!.request as { priority: number }).priority, 13, 'the refused flow_mod is named');
  // Batches are told apart by xid ranges: one that wraps past the last xid still names its member,
  // and two batches in flight each get only their own refusals.
  (s as unknown as { nextXid: number }).nextXid = 0xfffffff0 - 1;
  const [wrapped, next] = await Promise.all([
    s.applyBatch([flowMod(30), flowMod(31), flowMod(13), flowMod(32)]).catch((e: unknown) => e),
    s.applyBatch([flowMod(40), flowMod(13)]).catch((e: unknown) => e),
  ]);
  t.equal((wrapped as SessionError).switchErrors.length, 1, 'one refusal in the wrapped batch');
  t.equal((wrapped as SessionError).switchErrors[0]!.xid, 1, 'its xid wrapped to 1');
  t.equal(((wrapped as SessionError).switchErrors[0]!.request as { priority: number }).priority, 13, 'the refused flow_mod past the wrap is named');
  t.equal((next as SessionError).switchErrors.length, 1, 'the next batch has its own refusal');
  t.equal((next as SessionError).switchErrors[0]!.xid, 5, 'at its own xid');
  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = false;
  const timedOut = await s.applyBatch([flowMod(20)]).catch((e: unknown) => e);
  t.equal((timedOut as SessionError).code, 'TIMEOUT');
  t.equal(s.state, 'ready', 'a lost barrier does not kill the session');
});

t.test('one deadline timer for every request: a shorter timeout asked later still fires first, answered ones never time out', async (t) => {
  const h = await harness(t, { requestTimeoutMs: 10_000 });
  const sw = h.connectSwitch({ datapathId: 7n });
  const s = await h.nextSession();
  await ready(s);
  // Armed first for a long deadline; the later, shorter one must re-arm the session's timer.
  const order: string[] = [];
  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = false;
  const slow = s.request({ type: 'BARRIER_REQUEST', xid: 0 }, 3_000).then(() => 'answered', (e: SessionError) => e.code).finally(() => order.push('slow'));
  const fast = s.request({ type: 'BARRIER_REQUEST', xid: 0 }, 200).then(() => 'answered', (e: SessionError) => e.code).finally(() => order.push('fast'));
  t.equal(await fast, 'TIMEOUT', 'the short request timed out');
  t.equal(await slow, 'TIMEOUT', 'the long one too, later');
  t.same(order, ['fast', 'slow'], 'in the order of their deadlines');
  // Answered requests leave nothing behind to time out: the session stays usable.
  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = true;
  for (let i = 0; i < 3; i++) t.equal((await s.request({ type: 'BARRIER_REQUEST', xid: 0 }, 200)).type, 'BARRIER_REPLY', `barrier ${i} answered`);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(s.state, 'ready', 'still ready after the answered requests\' deadlines passed');
  t.equal((s as unknown as { pending: Map<number, unknown> }).pending.size, 0, 'nothing pending');
});

t.test('requests in flight fail at once when the switch vanishes', async (t) => {
  const h = await harness(t, { requestTimeoutMs: 10_000 });
  const sw = h.connectSwitch({ datapathId: 6n, answerBarrier: false });
  const s = await h.nextSession();
  await ready(s);
  const pending = s.request({ type: 'BARRIER_REQUEST', xid: 0 }).catch((e: unknown) => e);
  await sw.waitFor((m) => m.type === 'BARRIER_REQUEST');
  const started = Date.now();
  sw.close();
  const err = await pending;
  t.equal((err as SessionError).code, 'CLOSED');
  // CLOSED, not TIMEOUT, proves it did not wait for the 10 s request timeout.
  t.comment(`rejected ${Date.now() - started} ms after the close`);
});

t.test('flow stats read raw: parts reassembled, entries as the full decoder reads them; a malformed reply fails that request alone', async (t) => {
  const h = await harness(t);
  const sw = h.connectSwitch({ datapathId: 9n });
  const s = await h.nextSession();
  await ready(s);
  const flows = Array.from({ length: 120 }, (_, i) => ({
    tableId: i % 3, priority: 100 + i, cookie: BigInt(i), idleTimeout: 0, hardTimeout: 0, flags: 0,
    match: { fields: [{ field: 'eth_dst' as const, value: `02:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}` }] },
    instructions: [{ type: 'APPLY_ACTIONS' as const, actions: [{ type: 'OUTPUT' as const, port: i + 1, maxLen: 0 }] }],
  }));
  sw.table.flows = flows.map((f) => ({ ...f })) as typeof sw.table.flows;
  const selection = { kind: 'FLOW' as const, tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: { fields: [] } };
  const raw = await s.multipartRawFlows(selection);
  t.equal(raw.length, 120, 'three parts of 50, 50 and 20');
  t.same(raw.map((r) => { const d = decodeRawFlowStats(r); return [d.tableId, d.priority, d.cookie, d.match, d.instructions]; }),
    flows.map((f) => [f.tableId, f.priority, f.cookie, f.match, f.instructions]), 'each entry decodes to the flow the switch holds');

  // The switch answers the next one with an entry longer than its message first.
  const bad = Buffer.from(encodeMessage({ type: 'MULTIPART_REPLY', xid: 0, flags: 0, body: { kind: 'FLOW', flows: [] } }));
  const real = sw.table.flows;
  Object.defineProperty(sw.table, 'flows', {
    configurable: true,
    get: () => {
      const req = sw.received.at(-1)!;
      const spoilt = Buffer.concat([bad, Buffer.from([0x01, 0x00])]);
      spoilt.writeUInt16BE(spoilt.length, 2);
      spoilt.writeUInt32BE(req.xid, 4);
      sw.writeRaw(spoilt);
      return real;
    },
  });
  const refused = await s.multipartRawFlows(selection).then(() => undefined, (err: Error) => err);
  t.ok(refused instanceof SessionError, 'the request fails');
  t.match(refused?.message ?? '', /malformed flow stats reply.*flow stats length 256/, 'saying what was wrong');
  const err = (await sw.waitFor((m) => m.type === 'ERROR')) as Extract<Message, { type: 'ERROR' }>;
  t.equal(err.errorType, 1, 'the switch is told: BAD_REQUEST');
  t.equal(s.state, 'ready', 'the session goes on');
  t.ok((await s.multipart({ kind: 'PORT_DESC' })).length > 0, 'and answers the next request');
});

t.test('a multipart reply of more parts than allowed fails the request, read raw or decoded', async (t) => {
  const h = await harness(t, { maxMultipartParts: 2 });
  const sw = h.connectSwitch({ datapathId: 10n });
  const s = await h.nextSession();
  await ready(s);
  // Four parts of at most 50 flows: the third still says more.
  sw.table.flows = Array.from({ length: 160 }, (_, i) => ({
    tableId: 0, priority: i, cookie: 0n, idleTimeout: 0, hardTimeout: 0, flags: 0,
    match: { fields: [{ field: 'in_port' as const, value: i + 1 }] }, instructions: [],
  })) as typeof sw.table.flows;
  const selection = { kind: 'FLOW' as const, tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: { fields: [] } };
  for (const [how, ask] of [['decoded', () => s.multipart(selection)], ['raw', () => s.multipartRawFlows(selection)]] as const) {
    const err = await (ask as () => Promise<unknown>)().then(() => undefined, (e: Error) => e);
    t.ok(err instanceof SessionError, `${how}: the request fails`);
    t.match(err?.message ?? '', /exceeds 3 parts/, `${how}: saying so`);
  }
  t.equal(s.state, 'ready', 'the session goes on');
});
