/**
 * Bad headers against the running controller over real TCP: each is refused as soon as its
 * header is there (not after the body it announces), with the OpenFlow error it deserves
 * carrying the header bytes, and the connection is closed; the good switches keep working.
 */
import t, { type Test } from 'tap';
import { makeWorld, walkBetween, type World } from './world.js';
import { RawClient, arpRequest } from '../../bench/lib/raw-client.js';
import { MESSAGE_LENGTH_BOUNDS } from '../../src/openflow/header-check.js';
import { fuzzCorpus } from '../../bench/lib/corpus.js';
import type { Message } from '../../src/openflow/types/index.js';

const HELLO_FAILED = 0;
const BAD_REQUEST = 1;
const INCOMPATIBLE = 0;
const BAD_VERSION = 0;
const BAD_TYPE = 1;
const BAD_LEN = 6;

function header(version: number, type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = version;
  b[1] = type;
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

interface Outcome {
  errors: { errorType: number; code: number; data: string }[];
  closed: boolean;
}

/** Connects, optionally completes the HELLO exchange, sends `bytes`, and waits for the controller to hang up. */
async function attack(w: World, bytes: Buffer, negotiate: boolean): Promise<Outcome> {
  const c = new RawClient('127.0.0.1', w.app.openflow[0]!.port);
  try {
    if (negotiate) {
      if (!(await c.negotiate())) throw new Error('controller closed during the HELLO exchange');
    } else {
      await c.connected;
    }
    c.write(bytes);
    // Generous bound only so that a controller that never hangs up fails instead of hanging the test.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([c.closed, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    return { errors: c.errors.map((e) => ({ errorType: e.errorType, code: e.code, data: e.data.toString('hex') })), closed: c.isClosed };
  } finally {
    c.destroy();
  }
}

/** Runs `cases` a few at a time (the controller caps connections in the handshake). */
async function inBatches<T, R>(cases: T[], run: (c: T) => Promise<R>, size = 24): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < cases.length; i += size) out.push(...await Promise.all(cases.slice(i, i + size).map(run)));
  return out;
}

/** Checks that every case got exactly the expected error (with its header as data) and a close. */
function expectAll(t: Test, what: string, cases: { label: string; bytes: Buffer }[], outcomes: Outcome[], errorType: number, code: number): void {
  const wrong: string[] = [];
  cases.forEach((c, i) => {
    const o = outcomes[i]!;
    const e = o.errors[0];
    if (!o.closed) wrong.push(`${c.label}: not closed`);
    else if (!e || o.errors.length !== 1) wrong.push(`${c.label}: ${o.errors.length} errors received`);
    else if (e.errorType !== errorType || e.code !== code) wrong.push(`${c.label}: error ${e.errorType}/${e.code}`);
    else if (e.data !== c.bytes.subarray(0, 8).toString('hex')) wrong.push(`${c.label}: data ${e.data}`);
  });
  t.same(wrong, [], `${what}: all ${cases.length} refused with ${errorType}/${code}, header as data, then closed`);
}

async function goodSwitchesWork(t: Test, w: World): Promise<void> {
  t.equal(w.app.controller.sessions.size, 3, 'the three switches of the topology are still connected');
  t.same(walkBetween(w, 'c1', 'c2').delivered.map((d) => d.switch), ['h2'], 'c1 → c2 still delivered by the installed flows');
  // A packet-in still gets its answer: proxy ARP for c2's address, asked from c1's port on h1.
  const h1 = w.switches.get('h1')!;
  const c1 = w.app.controller.locations.get('c1')!;
  h1.packetIn(c1.ofport, arpRequest(c1.mac, c1.ip!, w.app.controller.locations.get('c2')!.ip!));
  const reply = await h1.waitFor((m: Message) => m.type === 'PACKET_OUT');
  t.ok(reply, 'h1 got the proxy-ARP PACKET_OUT');
}

t.test('the issue example: 4 KiB starting with version 0x99 right after the HELLO exchange', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
  garbage[0] = 0x99;
  const o = await attack(w, garbage, true);
  t.ok(o.closed, 'connection closed by the controller');
  t.same(o.errors, [{ errorType: BAD_REQUEST, code: BAD_VERSION, data: garbage.subarray(0, 8).toString('hex') }], 'BAD_REQUEST/BAD_VERSION with the header as data');
  // Only the header is sent: the close cannot be the body arriving.
  const headerOnly = await attack(w, header(0x99, 10, 4096, 5), true);
  t.ok(headerOnly.closed && headerOnly.errors[0]?.code === BAD_VERSION, 'a header announcing 4096 bytes is refused without its body');
  await goodSwitchesWork(t, w);
});

t.test('every version but 0x04: HELLO_FAILED before the HELLO exchange, BAD_VERSION after', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const versions = Array.from({ length: 256 }, (_, v) => v).filter((v) => v !== 4);
  const cases = versions.map((v) => ({ label: `version 0x${v.toString(16)}`, bytes: header(v, 10, 4096, 0x1000 + v) }));
  expectAll(t, 'after the HELLO exchange', cases, await inBatches(cases, (c) => attack(w, c.bytes, true)), BAD_REQUEST, BAD_VERSION);
  expectAll(t, 'before the HELLO exchange', cases, await inBatches(cases, (c) => attack(w, c.bytes, false)), HELLO_FAILED, INCOMPATIBLE);
  // A HELLO of a newer version is negotiation, not an error: the controller goes on in 1.3.
  const newer = new RawClient('127.0.0.1', w.app.openflow[0]!.port);
  t.teardown(() => newer.destroy());
  await newer.connected;
  newer.write(header(0x06, 0, 8, 1));
  t.ok(await newer.waitFor((m) => m.type === 'FEATURES_REQUEST'), 'HELLO of version 0x06 answered by FEATURES_REQUEST (negotiated down to 1.3)');
  await goodSwitchesWork(t, w);
});

t.test('lengths outside what the type allows, below 8, and unknown types', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const tooLong: { label: string; bytes: Buffer }[] = [];
  const tooShort: { label: string; bytes: Buffer }[] = [];
  for (const [type, [min, max]] of Object.entries(MESSAGE_LENGTH_BOUNDS)) {
    if (max < 0xffff) tooLong.push({ label: `type ${type} length ${max + 1}`, bytes: header(4, Number(type), max + 1, 0x2000 + Number(type)) });
    if (max < 0xffff) tooLong.push({ label: `type ${type} length 65535`, bytes: header(4, Number(type), 0xffff, 0x2100 + Number(type)) });
    if (min > 8) tooShort.push({ label: `type ${type} length ${min - 1}`, bytes: header(4, Number(type), min - 1, 0x3000 + Number(type)) });
  }
  for (let len = 0; len < 8; len++) tooShort.push({ label: `length ${len}`, bytes: header(4, 2, len, 0x4000 + len) });
  t.ok(tooLong.length >= 30 && tooShort.length >= 15, 'fixed-size types and minimum lengths are covered');
  expectAll(t, 'announced length above the type maximum', tooLong, await inBatches(tooLong, (c) => attack(w, c.bytes, true)), BAD_REQUEST, BAD_LEN);
  expectAll(t, 'announced length below the type minimum or 8', tooShort, await inBatches(tooShort, (c) => attack(w, c.bytes, true)), BAD_REQUEST, BAD_LEN);
  const unknown = Array.from({ length: 256 - 30 }, (_, i) => i + 30).map((type) => ({ label: `type ${type}`, bytes: header(4, type, 8, 0x5000 + type) }));
  expectAll(t, 'unknown types', unknown, await inBatches(unknown, (c) => attack(w, c.bytes, true)), BAD_REQUEST, BAD_TYPE);
  // The header is judged from its first 4 bytes, even when they come one at a time.
  const c = new RawClient('127.0.0.1', w.app.openflow[0]!.port);
  t.teardown(() => c.destroy());
  await c.negotiate();
  const slow = header(4, 20, 4000, 9);
  for (let i = 0; i < 4; i++) {
    c.write(slow.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 20));
  }
  await c.closed;
  t.same(c.errors.map((e) => [e.errorType, e.code, e.data.toString('hex')]), [[BAD_REQUEST, BAD_LEN, '04140fa0']], 'BARRIER_REQUEST of 4000 bytes refused after 4 bytes, with those 4 as data');
  await goodSwitchesWork(t, w);
});

t.test('every well-formed message of the fuzz corpus fits the length bounds of its type', async (t) => {
  const outside = fuzzCorpus().filter((e) => {
    const bounds = MESSAGE_LENGTH_BOUNDS[e.bytes[1]!];
    return !bounds || e.bytes.length < bounds[0] || e.bytes.length > bounds[1];
  }).map((e) => `${e.label} (${e.bytes.length} bytes)`);
  t.same(outside, [], 'no good message would be refused by the header check');
});
