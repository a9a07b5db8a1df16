// "Barrier means data plane", on real Open vSwitch (userspace datapath): a datagram sent right
// after the commit answer (which comes after the flip's last BARRIER reply) must take the new
// path only. A barrier orders OpenFlow messages; the datapath's caches (exact-match and megaflow
// caches of dpif-netdev) are fixed by the revalidators afterwards, so a frame of a flow already
// cached may still follow the old flows for a moment. This test shows whether it does.
//
//   h1 ─ sw1 ─ sw2 ─ h2     c1 (old place, h1) and c1n (new place, h2) have the SAME MAC and IP:
//               └── h3      each receiver reports what reached it, so the path a datagram took is
//                           known exactly. c2 on h3 streams a datagram every ms towards them (the
//                           flow is cached in every datapath on the path) and, when told, sends
//                           one at once and says its sequence number.
//
// c1 is migrated to c1n's port and back, FLIPS times. For each flip, every datagram sent from the
// mark (after the commit answer) to the end of the settle time must reach the new place and not
// the old one.
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import t from 'tap';
import { twoEdgeOverlay } from './two-edge-overlay.js';
import { Overlay } from '../../testbed/workload/overlay.js';
import { startVino, waitConnected, type VinoProcess } from '../../testbed/workload/vino.js';
import { nodeArgv } from '../testbed/helpers.js';

const FLIPS = Number(process.env.VINO_BARRIER_FLIPS ?? 50);
const SETTLE_MS = 150;
const PORT = 9999;

const fixture = await twoEdgeOverlay(t, 'barrier-dp', 201, 1);
const { ov, topologyFile } = fixture;
let vino: VinoProcess | undefined;

vino = fixture.vino = await startVino({
  topologyFile, ofHost: ov.controllerHost, ofPort: ov.controllerPort, stateFile: ov.file('vino-state.json'),
  logFile: ov.file('vino.log'), expectSwitches: 0, logLevel: 'info',
});
await ov.provision();
await waitConnected(vino, 5, 30_000);
await ov.addContainers();
const C1 = ov.topology.containers.c1!;
// The new place: a second receiver with c1's MAC and address, at its own port on h2.
const NEW_PORT = 'c-c1n';
await ov.bed.addContainer('h2', { name: 'c1n', mac: C1.mac, ip: C1.ip, prefixLength: ov.topology.overlay.prefixLength, portName: NEW_PORT, announce: false });

const RECEIVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => { if (m.length >= 4) process.stdout.write(m.readUInt32BE(0) + '\\n'); });
s.bind(Number(process.argv[1]), () => process.stdout.write('ready\\n'));
`;
// A datagram every ms on one flow; "mark" on stdin: one datagram at once, its number printed.
const SENDER = `
const s = require('node:dgram').createSocket('udp4');
let seq = 0;
const send = () => { const b = Buffer.alloc(16); b.writeUInt32BE(seq++, 0); s.send(b); return seq - 1; };
s.connect(Number(process.argv[2]), process.argv[1], () => {
  setInterval(send, 1);
  require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'mark') process.stdout.write('mark ' + send() + '\\n');
  });
  process.stdout.write('ready\\n');
});
`;

interface Receiver { child: ChildProcess; got: Set<number> }
function lines(child: ChildProcess, onLine: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ready: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (l) => (l === 'ready' ? resolve() : onLine(l)));
  });
}
async function receiver(container: string): Promise<Receiver> {
  const child = ov.bed.spawnInContainer(container, nodeArgv(RECEIVER, String(PORT)));
  const r: Receiver = { child, got: new Set() };
  await lines(child, (l) => r.got.add(Number(l)));
  return r;
}
const old = await receiver('c1');
const fresh = await receiver('c1n');
const sender = ov.bed.spawnInContainer('c2', nodeArgv(SENDER, C1.ip, String(PORT)));
const marks: number[] = [];
const markWaiters: ((n: number) => void)[] = [];
await lines(sender, (l) => {
  const n = Number(l.split(' ')[1]);
  marks.push(n);
  markWaiters.shift()?.(n);
});
t.teardown(() => {
  for (const c of [old.child, fresh.child, sender]) c.kill('SIGKILL');
});
function mark(): Promise<number> {
  return new Promise((resolve) => {
    markWaiters.push(resolve);
    sender.stdin!.write('mark\n');
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('the stream reaches c1 at its old place before any migration', async (t) => {
  // Until h3 holds its ingress entry for c1 (made on demand from the first datagram's
  // packet-in), the stream is flooded like any unknown unicast and reaches both ports with c1's
  // MAC. Wait for a quiet 100 ms at the second port (bounded), then measure.
  let quiet = false;
  for (let i = 0; i < 50 && !quiet; i++) {
    const before = fresh.got.size;
    await sleep(100);
    quiet = fresh.got.size === before;
  }
  t.ok(quiet, 'the flooding of the first datagrams stopped once the ingress entry was in');
  const from = await mark();
  await sleep(300);
  const to = await mark();
  let n = 0;
  for (let s = from; s < to; s++) if (old.got.has(s)) n++;
  // Most, not all: a loaded machine's userspace datapath and sockets drop some (a CI run under
  // load lost a third of a 300 ms window); where they go is what this checks.
  t.ok(n >= (to - from) * 0.5, `c1 at h1 got ${n} of ${to - from} datagrams`);
  t.equal([...fresh.got].filter((s) => s >= from && s < to).length, 0, 'nothing reaches the port c1 has not moved to');
});

t.test(`after the flip's last barrier reply, datagrams take the new path only (${FLIPS} flips)`, async (t) => {
  const places = [
    { node: 'h2', port: NEW_PORT, rx: fresh, other: old },
    { node: 'h1', port: C1.port, rx: old, other: fresh },
  ];
  const bad: string[] = [];
  let firstOnNew = 0;
  let checked = 0;
  let lost = 0;
  for (let i = 0; i < FLIPS; i++) {
    const to = places[i % 2]!;
    const m = await vino!.api.prepare('c1', { switch: to.node, port: to.port });
    const done = await vino!.api.commit(m.id);
    t.equal(done.state, 'committed', `flip ${i + 1}: committed`);
    // The commit answer leaves after the last barrier reply of the flip.
    const from = await mark();
    await sleep(SETTLE_MS);
    const until = await mark();
    const atOld: number[] = [];
    let atNew = 0;
    for (let s = from; s < until; s++) {
      if (to.other.got.has(s)) atOld.push(s);
      if (to.rx.got.has(s)) atNew++;
    }
    checked += until - from;
    if (to.rx.got.has(from)) firstOnNew++;
    if (atOld.length > 0) bad.push(`flip ${i + 1} → ${to.node}: ${atOld.length} of ${until - from} datagrams after the barrier took the old path (first ${atOld[0]! - from} after the mark)`);
    // One datagram missing is the loaded machine's loss (a few % of all, whatever the flows
    // say); the mark and the next two missing (the stream sends one a millisecond) is a gap of
    // the new path right after the barrier: at a few % of loss per datagram, three in a row
    // happen in well under 1 % of runs by chance.
    if (![from, from + 1, from + 2].some((s) => to.rx.got.has(s))) bad.push(`flip ${i + 1} → ${to.node}: neither the datagram sent right after the commit answer nor the next two reached the new place`);
    lost += until - from - atNew;
  }
  // Loss inside the window is reported, not asserted: on a loaded 2-core machine the userspace
  // datapath and the receivers drop a few datagrams whatever the flows say; a black hole after
  // the flip would show as the datagrams right after the mark missing at the new place.
  t.comment(`${checked} datagrams checked over ${FLIPS} flips, ${lost} not received anywhere; the mark datagram (sent right after the commit answer) reached the new place ${firstOnNew}/${FLIPS} times`);
  t.same(bad, [], 'every datagram sent after the last barrier reply took the new path, none the old one, and the first ones arrived');
});
