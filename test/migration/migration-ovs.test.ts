// Live migration through the controller's endpoint on real Open vSwitch: the embedded testbed
// (one namespace with its own ovsdb-server and userspace ovs-vswitchd per node), provisioned
// through OVSDB, with the controller as a separate process (so it can be restarted). One
// 5-node testbed for the whole file:
//
//   h1 ─ sw1 ─ sw2 ─ h2        c1 (the service) starts on h1 and migrates to h2 and back;
//               └── h3         c2 (the client) stays on h3.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { twoEdgeOverlay } from './two-edge-overlay.js';
import { emulateMigration } from '../../testbed/workload/emulate.js';
import { Overlay } from '../../testbed/workload/overlay.js';
import { ApiError, startVino, waitConnected, type MigrationView, type VinoProcess } from '../../testbed/workload/vino.js';
import { parseJson } from '../../src/json/index.js';
import { parseProcNet } from '../../bench/migration/counters.js';

const fixture = await twoEdgeOverlay(t, 'mig-test', 200, 0);
const { ov, topologyFile } = fixture;
let vino: VinoProcess | undefined;

const stateFile = ov.file('vino-state.json');
const start = () => startVino({
  topologyFile, ofHost: ov.controllerHost, ofPort: ov.controllerPort, stateFile,
  logFile: ov.file('vino.log'), expectSwitches: 0, logLevel: 'debug',
});
vino = fixture.vino = await start();
await ov.provision();
await waitConnected(vino, 5, 30_000);
await ov.addContainers();
const server = await ov.startServer('c1', { http: 8080, udp: 7777 });
const C1 = ov.topology.containers.c1!;

/** One HTTP GET from c2 to c1 (a node one-liner inside c2): the body, `c1 <pid> <path>`. */
const GET = `
const [ip, port, path] = process.argv.slice(1);
const s = require('node:net').connect(Number(port), ip);
let r = '';
s.setTimeout(3000, () => { console.error('timeout'); process.exit(3); });
s.on('connect', () => s.write('GET ' + path + ' HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n'));
s.on('data', (d) => (r += d));
s.on('end', () => console.log((r.split('\\r\\n\\r\\n')[1] ?? '').trim()));
s.on('error', (e) => { console.error(e.code); process.exit(2); });
`;
async function get(p: string, attempts = 3): Promise<string> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      return (await ov.bed.execInContainer('c2', ['env', '-u', 'NODE_OPTIONS', process.execPath, '-e', GET, C1.ip, '8080', p], { timeoutMs: 5000 })).stdout.trim();
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`c2 cannot reach c1 (${C1.ip}:8080${p}) in ${attempts} attempts: ${last}`);
}
const answer = (p: string) => `c1 ${server.pid} ${p}`;

/** Flow tables of every bridge without counters, sorted: the forwarding state, comparable. */
async function flowState(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await ov.everyNode(async (node) => {
    const flows = (await ov.bed.node(node).exec(['ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', ov.bridge(node)])).stdout;
    out[node] = flows.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('OFPST_FLOW')).sort();
  });
  return out;
}

/** The API call's status and body, whatever the status. */
async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  try {
    return await vino!.api.call(method, route, body, [200, 201]);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: err.body };
    throw err;
  }
}

t.test('the service answers before any migration', async (t) => {
  t.equal(await get('/before'), answer('/before'), 'c2 → c1 at h1');
});

t.test('request errors: 400 with the JSON path, 404 unknown, 409 conflicts', async (t) => {
  let r = await call('POST', '/api/v1/migrations', { container: 'c1' });
  t.equal(r.status, 400, 'missing "to"');
  t.ok(r.body.errors?.some((p: { path: string }) => p.path === '/to'), 'the problem names "/to"');
  t.equal(r.body.type, 'urn:vino-controller:problem:invalid-request', 'RFC 9457 problem details');
  r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-c1' }, extra: 1 });
  t.equal(r.status, 400, 'unknown key refused');
  r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'a-port-name-too-long' } });
  t.equal(r.status, 400, 'port name over 15 characters');
  t.ok(r.body.errors?.some((p: { path: string }) => p.path === '/to/port'), 'the problem names /to/port');
  const beforeBadPort = await flowState();
  r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: '../etc/passwd' } });
  t.equal(r.status, 400, 'a port name against the topology naming rules');
  t.same(await flowState(), beforeBadPort, 'nothing was installed for it');
  r = await call('POST', '/api/v1/migrations', '{"container":');
  t.equal(r.status, 400, 'malformed JSON');

  r = await call('POST', '/api/v1/migrations', { container: 'nope', to: { switch: 'h2', port: 'c-nope' } });
  t.equal(r.status, 404, 'unknown container');
  r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h9', port: 'c-c1' } });
  t.equal(r.status, 404, 'unknown switch');
  for (const [method, route] of [['GET', '/api/v1/migrations/no-such-id'], ['POST', '/api/v1/migrations/no-such-id/commit'], ['POST', '/api/v1/migrations/no-such-id/abort']] as const) {
    t.equal((await call(method, route)).status, 404, `${method} ${route}`);
  }
  r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h1', port: C1.port } });
  t.equal(r.status, 409, 'a migration to where the container already is');
  t.equal(await get('/after-errors'), answer('/after-errors'), 'refused requests changed nothing');
});

t.test('abort restores the old path', async (t) => {
  const before = await flowState();
  const m = await vino!.api.prepare('c1', { switch: 'h2', port: C1.port });
  t.equal(m.state, 'prepared');
  t.same([m.from.node, m.to.node], ['h1', 'h2']);
  t.not(JSON.stringify(await flowState()), JSON.stringify(before), 'prepared: copies towards h2 are installed');
  t.equal(await get('/prepared'), answer('/prepared'), 'traffic still reaches c1 at h1 while prepared');

  let r = await call('POST', '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: C1.port } });
  t.equal(r.status, 409, 'a second migration of c1 while one is prepared');
  r = await call('POST', `/api/v1/migrations/${m.id}/commit`);
  t.equal(r.status, 409, 'commit before the container is attached at h2');
  t.match(r.body.detail, /does not exist on h2 yet/);

  const aborted = await vino!.api.abort(m.id);
  t.equal(aborted.state, 'aborted');
  t.same(await flowState(), before, 'every flow table is as before the prepare');
  t.equal(await get('/aborted'), answer('/aborted'), 'c1 reached at h1 after the abort');
  t.equal((await call('POST', `/api/v1/migrations/${m.id}/commit`)).status, 409, 'commit of an aborted migration');
  t.equal((await call('POST', `/api/v1/migrations/${m.id}/abort`)).status, 409, 'abort of an aborted migration');
});

/**
 * Packets counted by the client's host for c1 (table 1, eth_dst c1: the ingress entry, made on
 * demand by the client's first frames, which pushes the label of c1's edge): the flip rewrites it.
 */
async function c1PacketsAtClientHost(): Promise<bigint> {
  const text = await (await fetch(`${vino!.api.base}/api/v1/switches/h3/flows`)).text();
  const flows = parseJson(text) as { tableId: number; packetCount: number | bigint; match: { fields: { field: string; value?: unknown }[] } }[];
  let n = 0n;
  for (const f of flows) {
    if (f.tableId === 1 && f.match.fields.some((x) => x.field === 'eth_dst' && x.value === C1.mac)) n += BigInt(f.packetCount);
  }
  return n;
}

t.test('after the move the client reaches c1 at h2, with no announcement from c1', async (t) => {
  // Traffic from the client's host towards c1 at h1, counted by the entry the flip will rewrite.
  for (let i = 0; i < 5; i++) t.equal(await get(`/count-${i}`), answer(`/count-${i}`));
  const countedBefore = await c1PacketsAtClientHost();
  t.ok(countedBefore > 0n, `h3 (the client's host) counted ${countedBefore} packets for c1 before the migration`);
  const m = await vino!.api.prepare('c1', { switch: 'h2', port: C1.port });
  let committed: MigrationView | undefined;
  let countedAfterFlip = -1n;
  // Committed while c1 is still frozen: it has not sent a frame from h2 (no gratuitous ARP,
  // arp_notify off, IPv6 off), so only the controller can have sent the traffic there.
  const emu = await emulateMigration(ov.bed, 'c1', 'h2', {
    copyMs: 50,
    beforeResume: async () => {
      committed = await vino!.api.commit(m.id);
      countedAfterFlip = await c1PacketsAtClientHost();
    },
  });
  // c1 is frozen and silent between prepare and commit: the replaced flows start from zero.
  t.ok(countedAfterFlip >= 0n && countedAfterFlip < countedBefore, `flows the flip replaced do not keep the old counters (${countedAfterFlip} < ${countedBefore})`);
  t.equal(committed?.state, 'committed', 'commit answered 200 committed');
  t.equal(committed?.committedBy, 'api', 'committed by the call, not by a frame of c1');
  t.type(committed?.flipLatencyMs, 'number', 'flip latency reported');
  t.ok(emu.resumeAt > emu.attachedAt, 'resumed after the attach');
  t.equal(ov.where('c1').node, 'h2', 'the testbed has c1 on h2');
  t.equal(await get('/moved', 1), answer('/moved'), 'the very same process answers from h2, at the first try');
  const loc = await vino!.api.container('c1');
  t.same([loc.node, loc.port], ['h2', C1.port], 'the location table has c1 at h2');
  const timeline = (await vino!.api.migration(m.id)).timeline.map((e) => e.event).filter((e) => e !== 'barrier confirmed');
  // The unplug (old port gone) froze it implicitly: held until the port appeared, replayed, then committed.
  t.same(timeline.filter((e) => ['prepare requested', 'prepared', 'frozen', 'port seen', 'replayed', 'committed'].includes(e)),
    ['prepare requested', 'prepared', 'frozen', 'port seen', 'replayed', 'committed'], 'timeline in order');
  t.ok(timeline.indexOf('commit requested') > timeline.indexOf('frozen'), 'commit requested after the freeze');
});

t.test('a controller restart in the prepared state keeps the migration and the traffic', async (t) => {
  const m = await vino!.api.prepare('c1', { switch: 'h1', port: C1.port });
  await vino!.stop();
  vino = fixture.vino = undefined;
  t.equal(await get('/controller-down'), answer('/controller-down'), 'traffic flows while no controller runs');

  vino = fixture.vino = await start();
  await waitConnected(vino, 5, 30_000);
  const restored = await vino.api.migration(m.id);
  t.equal(restored.state, 'prepared', 'the migration is still prepared');
  t.same([restored.from.node, restored.to.node], ['h2', 'h1']);
  t.ok(restored.timeline.some((e) => e.event === 'restored after a controller restart'), 'the timeline says it was restored');
  t.equal(await get('/restarted'), answer('/restarted'), 'c1 still reached at h2 after the restart');

  // Moved back with traffic running and no commit call: c1's first frame at h1 commits.
  await emulateMigration(ov.bed, 'c1', 'h1', { copyMs: 50 });
  t.equal(await get('/back', 1), answer('/back'), 'c1 answers from h1, at the first try');
  const done = await vino.api.waitSettled(m.id, 10_000);
  t.equal(done.state, 'committed', 'committed');
  t.equal(done.committedBy, 'first-frame', 'auto-committed by the first frame');
  t.equal((await call('POST', `/api/v1/migrations/${m.id}/commit`)).status, 200, 'commit of a committed migration returns it');
  const loc = await vino.api.container('c1');
  t.equal(loc.node, 'h1', 'the location table has c1 back at h1');
  const containers = (await vino.api.call<{ name: string; port: string | null; node: string }[]>('GET', '/api/v1/containers')).body;
  const hostPorts = new Set(Object.values(ov.topology.nodes).flatMap((n) => [n.bridge.name, ...n.bridge.ports.filter((p) => p.kind !== 'container').map((p) => p.name)]));
  t.same(containers.filter((c) => c.port !== null && hostPorts.has(c.port)), [], 'no host bridge or internal port was learned as a container');
  const list = (await vino.api.call<MigrationView[]>('GET', '/api/v1/migrations')).body;
  t.same(list.map((x) => x.state), ['aborted', 'committed', 'committed'], 'every migration of this file, oldest first');
});

/**
 * Runs inside c2: one long-lived keep-alive HTTP connection (Nagle off), a request 1 ms after
 * each answer, and a UDP datagram every 5 ms to the echo server, for `seconds` (slow enough for
 * the frozen server's socket buffer to keep what arrives: losses are then the network's). Prints the
 * counts, the datagrams echoed after a later one (the server echoes each as it reads it, and the
 * echoes share one path: the order the server got them in) and the namespace's TCP
 * retransmission timeouts (TcpExt TCPTimeouts) over the run.
 */
const STREAM = `
const [ip, seconds] = process.argv.slice(1);
const fs = require('node:fs');
const timeouts = () => { const l = fs.readFileSync('/proc/net/netstat', 'utf8').split('\\n').filter((x) => x.startsWith('TcpExt:'));
  const k = l[0].split(' '), v = l[1].split(' '); return Number(v[k.indexOf('TCPTimeouts')]); };
const t0 = timeouts();
const s = require('node:net').connect({ host: ip, port: 8080, noDelay: true });
let buf = '', replies = 0, sent = 0, done = false;
const ask = () => { if (done) return; sent++; s.write('GET /k' + sent + ' HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'); };
s.on('connect', ask);
s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n', buf.indexOf('\\r\\n\\r\\n') + 4)) >= 0 && buf.indexOf('\\r\\n\\r\\n') >= 0) { buf = buf.slice(i + 1); replies++; setTimeout(ask, 1); } });
s.on('error', (e) => { console.error(e.code); process.exit(2); });
const u = require('node:dgram').createSocket('udp4');
let usent = 0; const seen = new Set(); let dup = 0, latest = -1, reordered = 0;
// When each datagram left, and which came after a later one: a failure names them (to set against the migration's timeline).
const sentAt = []; const late = [];
// The probe format (magic "VINO", session, sequence number): the server counts what reaches it
// after a later one of the session (probe-server --counters-file), the order the hold answers for.
const session = process.pid;
u.on('message', (m) => { if (m.length < 12) return; const n = m.readUInt32BE(8); if (seen.has(n)) { dup++; return; } seen.add(n); if (n < latest) { reordered++; late.push(n + '@' + new Date(sentAt[n]).toISOString().slice(11, 23) + '<' + latest); } else latest = n; });
u.connect(7777, ip, () => { const iv = setInterval(() => { const b = Buffer.alloc(16); sentAt[usent] = Date.now(); b.writeUInt32BE(0x56494e4f, 0); b.writeUInt32BE(session, 4); b.writeUInt32BE(usent++, 8); u.send(b); }, 5);
  setTimeout(() => { clearInterval(iv); done = true; setTimeout(() => {
    const missing = []; for (let n = 0; n < usent; n++) if (!seen.has(n)) missing.push(n + '@' + new Date(sentAt[n]).toISOString().slice(11, 23));
    console.log(JSON.stringify({ session, sent, replies, usent, uechoed: seen.size, dup, reordered, rto: timeouts() - t0, missing: missing.slice(0, 20), late: late.slice(0, 20) })); process.exit(0); }, 1500); }, Number(seconds) * 1000); });
`;

t.test('frames sent while c1 is frozen and unplugged are held and replayed: every TCP request answered, no UDP datagram lost in the network, none twice', async (t) => {
  t.equal(ov.where('c1').node, 'h1', 'c1 starts at h1');
  const m = await vino!.api.prepare('c1', { switch: 'h2', port: C1.port });
  const stream = ov.bed.execInContainer('c2', ['env', '-u', 'NODE_OPTIONS', process.execPath, '-e', STREAM, C1.ip, '4'], { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1000));
  let frozen: MigrationView | undefined;
  // Datagrams a socket had no room for (the echo server's while the replay lands on it stopped,
  // or the client's for the burst of echoes) are the hosts' losses, not the network's: counted
  // apart, so that a loaded machine's slow receivers do not pass for frames the hold lost.
  const overflows = async () => {
    let n = 0;
    for (const c of ['c1', 'c2']) n += parseProcNet((await ov.bed.execInContainer(c, ['cat', '/proc/net/snmp'])).stdout)['Udp.RcvbufErrors'] ?? 0;
    return n;
  };
  const overflowsBefore = await overflows();
  // c1's server's counts (probe-server --counters-file): datagrams received after a later one of
  // the stream, the order on the way in, which the hold answers for (the client's count of echoes
  // out of order adds c1's replies, whose path the commit's flip and the new edge's first entries
  // change); and datagrams received, which tells a loss on the way in from one on the way back.
  const probeCounts = (): { udpOutOfOrder: number; received: Record<string, number> } => {
    try {
      const c = parseJson(readFileSync(ov.probeCountersFile('c1'), 'utf8')) as { udpOutOfOrder?: number; received?: Record<string, number> };
      return { udpOutOfOrder: c.udpOutOfOrder ?? 0, received: c.received ?? {} };
    } catch {
      return { udpOutOfOrder: 0, received: {} };
    }
  };
  const countsBefore = probeCounts();
  // Tunnelled frames a node's datapath handed to its own kernel undecapsulated, which drops them
  // (UDP NoPorts in the node's namespace): how OVS lost frames while a node's links changed
  // (issue 17, see testbed/ovs.ts startVswitchdDaemon). Printed per node, to place a loss.
  const noPorts = async () => Object.fromEntries(await ov.everyNode(async (n) => [n, parseProcNet((await ov.bed.node(n).exec(['cat', '/proc/net/snmp'])).stdout)['Udp.NoPorts'] ?? 0] as const));
  const noPortsBefore = await noPorts();
  await emulateMigration(ov.bed, 'c1', 'h2', {
    copyMs: 300,
    // The contract's order: freeze answered (the old edge reports, then is sealed), then the cut.
    beforeUnplug: async () => {
      frozen = await vino!.api.freeze(m.id);
    },
    beforeResume: async () => {
      await vino!.api.commit(m.id);
    },
  });
  const out = JSON.parse((await stream).stdout.trim()) as { session: number; sent: number; replies: number; usent: number; uechoed: number; dup: number; reordered: number; rto: number };
  t.comment(JSON.stringify(out));
  t.ok(frozen?.freeze, 'the freeze answered with its record');
  const done = await vino!.api.migration(m.id);
  t.comment(JSON.stringify(done.freeze));
  // The timeline's times, to set against the datagrams a failure names (sent at, UTC).
  t.comment(done.timeline.map((e) => `${e.event}@${String((e as { at?: string }).at ?? '').slice(11, 23)}`).join(', '));
  t.equal(done.state, 'committed');
  t.ok(done.freeze!.held > 0, `frames were held during the move (${done.freeze!.held})`);
  t.ok(frozen!.timeline.some((e) => e.event === 'reporting'), 'the old edge reported before it was sealed');
  t.equal(done.freeze!.replayed + (done.freeze!.takenAtOld ?? 0), done.freeze!.held, 'every held frame replayed, but those the old host had taken');
  t.equal(done.freeze!.dropped, 0, 'none dropped');
  const overflowed = (await overflows()) - overflowsBefore;
  const countsAfter = probeCounts();
  const receivedAtC1 = countsAfter.received[String(out.session)] ?? 0;
  const noPortsAfter = await noPorts();
  t.comment(`tunnelled frames a node's kernel got undecapsulated: ${JSON.stringify(Object.fromEntries(Object.entries(noPortsAfter).map(([n, v]) => [n, v - (noPortsBefore[n] ?? 0)])))}`);
  t.comment(`UDP datagrams lost: ${out.usent - out.uechoed} (on the way in to c1: ${out.usent - receivedAtC1}; on the way back: ${receivedAtC1 - out.uechoed}); a socket had no room for at most ${overflowed}`);
  // Issue 17: a datagram was lost at the switch-over in 4 of 67 loaded runs (Dec 7), most likely
  // the testbed's OVS handing tunnelled frames to its kernel undecapsulated during a link change
  // (printed above per node; seen in real migrations before its fix in testbed/ovs.ts, see
  // test/testbed/tunnel-link-churn.test.ts). Since that fix: none lost, none reordered beyond
  // those at risk, in 70 loaded runs (40 on Dec 7, 30 on Dec 8 with the per-conversation replay),
  // while these two checks were quarantined as TODO.
  t.ok(out.usent - out.uechoed <= overflowed, `no UDP datagram lost but those a socket had no room for (${out.usent - out.uechoed} lost, ${overflowed} socket overflows)`);
  t.equal(out.dup, 0, 'no datagram echoed twice');
  // Order: the replay, and every frame the hold flow sent before its removal was under way, go
  // out in arrival order (the release waits until the switch has sent them, see drain). A frame
  // it sent later goes out behind the removal's flow_mod, and the switch may deliver one directly
  // before it (no OpenFlow message orders a packet-in's round trip against the datapath's switch
  // to the new flows): only those can be reordered.
  const behind = done.freeze!.behindRelease ?? 0;
  const reorderedIn = countsAfter.udpOutOfOrder - countsBefore.udpOutOfOrder;
  t.comment(`UDP datagrams c1 received after a later one: ${reorderedIn}; echoes c2 received after a later one: ${out.reordered}; frames sent on behind the hold flow's removal: ${behind}`);
  t.ok(reorderedIn <= behind, `no datagram reordered on its way to c1 but those the hold flow sent once its removal was under way (${reorderedIn} reordered, ${behind} at risk)`);
  t.equal(out.replies, out.sent, 'every request on the long-lived connection answered');
  // A retransmission timeout may fire DURING a long freeze whatever happens to the frames (no
  // ACK comes while the port is gone); what the hold removes is the wait for one after the resume.
  t.comment(`TCP retransmission timeouts in c2 over the run: ${out.rto}`);
  // Barrier vs data plane: frames the hold flow still sent after its removal's barrier reply.
  t.comment(`frames held after the hold flow's removal was barrier-confirmed: ${done.freeze!.afterRelease ?? 0}`);
});
