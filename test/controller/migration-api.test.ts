/**
 * The migration API's answers (port-name rules, port status, ofport, idempotent commit), the
 * operator logs of migrations and location changes, and the views that used to mislead
 * (learned host ports, the flows view, counters after a flip, stage labels).
 */
import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { makeWorld, walkBetween, type World } from './world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { Port } from '../../src/openflow/constants.js';
import { messageFromJSON } from '../../src/openflow/json.js';
import { parseJson } from '../../src/json/index.js';
import { OFPFF_RESET_COUNTS } from '../../controller/core/diff.js';

interface MigrationBody {
  id: string; state: string; committedBy: string | null; flipLatencyMs: number | null;
  to: { node: string; port: string | null; ofport: number | null };
  port: { name: string | null; exists: boolean; ofport?: number };
  commit?: { outcome: string; committedBy: string | null; flipLatencyMs: number | null };
  timeline: { event: string; detail?: string }[];
}

const post = (w: World, path: string, body?: unknown) => fetch(`${w.apiUrl}${path}`, body === undefined
  ? { method: 'POST' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const flowMods = (w: World) => [...w.switches.values()].reduce((n, sw) => n + sw.received.filter((m) => m.type === 'FLOW_MOD').length, 0);

async function addPortAndWait(w: World, node: string, portNo: number, name: string): Promise<void> {
  w.switches.get(node)!.addPort(fakePort(portNo, name));
  for (let i = 0; i < 200 && !w.app.controller.sessions.get(node)!.ports.has(portNo); i++) await new Promise((r) => setTimeout(r, 10));
}

function frameFrom(mac: string): Buffer {
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  return frame;
}

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); done(); } });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

t.test('prepare: port names by the topology rules, 400 with the path and nothing installed', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  for (const port of ['../etc/passwd', '.hidden', 'a/b', 'name-longer-than-15', '-x', 'sp ace']) {
    const before = flowMods(w);
    const res = await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port } });
    t.equal(res.status, 400, `"${port}": 400`);
    const body = await res.json() as { errors: { path: string; message: string }[] };
    t.same(body.errors.map((e) => e.path), ['/to/port'], `"${port}": names /to/port`);
    t.equal(flowMods(w), before, `"${port}": no flow installed`);
  }
  t.same(await (await fetch(`${w.apiUrl}/api/v1/migrations`)).json(), [], 'no migration was created');
  const badSwitch = await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: '../h2', port: 'c-x' } });
  t.equal(badSwitch.status, 400, 'switch names by the topology rules too');
});

t.test('prepare answers whether the port exists; ofport accepted as in PUT /containers', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const later = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-later' } })).json() as MigrationBody;
  t.same(later.port, { name: 'c-later', exists: false }, 'not there yet');
  t.equal((await post(w, `/api/v1/migrations/${later.id}/abort`)).status, 200);

  await addPortAndWait(w, 'h2', 905, 'c-905');
  const byNumber = await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', ofport: 905 } });
  t.equal(byNumber.status, 201, 'ofport accepted');
  const m = await byNumber.json() as MigrationBody;
  t.same(m.port, { name: 'c-905', exists: true, ofport: 905 }, 'named from the switch, exists');
  t.match(m.to, { node: 'h2', port: 'c-905', ofport: 905 });
  const committed = await (await post(w, `/api/v1/migrations/${m.id}/commit`)).json() as MigrationBody;
  t.equal(committed.state, 'committed');
  t.match(walkBetween(w, 'c2', 'c1').delivered.map((d) => `${d.switch}:${d.port}`), ['h2:905'], 'delivered at the port given by number');

  const both = await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h1' } });
  t.equal(both.status, 400, 'port or ofport is required');
});

t.test('commit is idempotent: 200 with the outcome; 409 only for aborted/failed; abort of a committed one is 409', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  await addPortAndWait(w, 'h2', 906, 'c-906');
  const m = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-906' } })).json() as MigrationBody;
  const first = await post(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(first.status, 200);
  const f = await first.json() as MigrationBody;
  t.match(f.commit, { outcome: 'flipped', committedBy: 'api', flipLatencyMs: Number });
  const again = await post(w, `/api/v1/migrations/${m.id}/commit`);
  t.equal(again.status, 200, 'second commit: 200');
  t.match((await again.json() as MigrationBody).commit, { outcome: 'already-committed', committedBy: 'api', flipLatencyMs: f.flipLatencyMs });
  const abort = await post(w, `/api/v1/migrations/${m.id}/abort`);
  t.equal(abort.status, 409);
  t.match((await abort.json() as { detail: string }).detail, /was committed by api: c1 is at h2 now; to go back, prepare a migration to h1/);

  // The first frame and the API's commit racing: both get the one flip's outcome.
  const back = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h1', port: 'c-c1' } })).json() as MigrationBody;
  t.equal(back.port.exists, true, 'c1\'s old port is still there');
  const byFrame = w.app.migrations.commitRequest(back.id, 'first-frame');
  const byApi = w.app.migrations.commitRequest(back.id, 'api');
  const [a, b] = await Promise.all([byFrame, byApi]);
  t.equal(a.outcome, 'flipped');
  t.equal(b.outcome, 'joined-running-flip');
  t.equal(b.migration.committedBy, 'first-frame');
  const viaHttp = await post(w, `/api/v1/migrations/${back.id}/commit`);
  t.equal(viaHttp.status, 200);
  t.match((await viaHttp.json() as MigrationBody).commit, { outcome: 'already-committed', committedBy: 'first-frame' });

  const aborted = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-906' } })).json() as MigrationBody;
  t.equal((await post(w, `/api/v1/migrations/${aborted.id}/abort`)).status, 200);
  const late = await post(w, `/api/v1/migrations/${aborted.id}/commit`);
  t.equal(late.status, 409, 'commit of an aborted migration: 409');
  t.match(await late.json(), { detail: /was aborted/, migration: { state: 'aborted' } });
});

t.test('logs: every migration stage and every location change, with container, from, to, id', async (t) => {
  const { lines, logger } = capturedLogger();
  const w = await makeWorld('line-3.json', { logger });
  t.teardown(() => w.close());
  const m = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-logs' } })).json() as MigrationBody;
  await addPortAndWait(w, 'h2', 907, 'c-logs');
  const mac = w.app.controller.locations.get('c1')!.mac;
  w.switches.get('h2')!.packetIn(907, frameFrom(mac));
  for (let i = 0; i < 200 && w.app.migrations.get(m.id)!.state !== 'committed'; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(w.app.migrations.get(m.id)!.state, 'committed', 'committed by the first frame');

  const ofMigration = lines.filter((l) => l['migration'] === m.id && (l['level'] as number) >= 30);
  const events = ofMigration.map((l) => l['event']).filter(Boolean);
  for (const e of ['prepare requested', 'prepared', 'port seen', 'first frame at the new port', 'committed']) t.ok(events.includes(e), `logged: ${e}`);
  for (const l of ofMigration) t.match(l, { container: 'c1', from: 'h1:c-c1', to: 'h2:c-logs' }, `"${String(l['msg'])}" names container, from, to`);
  t.match(ofMigration.find((l) => l['event'] === 'committed'), { committedBy: 'first-frame', flipLatencyMs: Number }, 'committed: who and flip latency');
  t.ok(ofMigration.some((l) => typeof l['stage'] === 'string' && Array.isArray(l['switches'])), 'flip stages logged');
  const moved = lines.find((l) => l['container'] === 'c1' && typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('location of c1'));
  t.match(moved, { from: 'h1:c-c1', to: 'h2:c-logs', source: 'migration' }, 'the location change is logged');

  // Timed out and aborted migrations are logged too.
  (w.app.migrations as unknown as { options: { timeoutMs: number } }).options.timeoutMs = 100;
  const idle = await (await post(w, '/api/v1/migrations', { container: 'c2', to: { switch: 'h1', port: 'c-idle' } })).json() as MigrationBody;
  const idleEvents = () => lines.filter((l) => l['migration'] === idle.id).map((l) => String(l['event']));
  // 'aborted' is logged once the switches confirmed the old path, after the state changed.
  for (let i = 0; i < 300 && !idleEvents().includes('aborted'); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(idleEvents().some((e) => /^not committed within 100 ms/.test(e)), 'time-out logged');
  t.ok(idleEvents().includes('aborted'), 'abort logged');

  // Learned and API location changes: one line each.
  await fetch(`${w.apiUrl}/api/v1/containers/c9`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:00:09', node: 'h1', ofport: 60 }) });
  t.ok(lines.some((l) => l['msg'] === 'location of c9: (none) → h1:60 (api: set through the api)'), 'API placement logged');
});

t.test('syncs with no target switch are labelled "unordered", not "unreachable"; disconnected switches "skipped"', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const m = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-new' } })).json() as MigrationBody;
  // The port appearing triggers a sync that orders towards no switch.
  await addPortAndWait(w, 'h2', 909, 'c-new');
  await w.app.controller.requestSync('test settle');
  const timeline = w.app.migrations.get(m.id)!.timeline;
  const details = timeline.map((e) => `${e.event} ${e.detail ?? ''}`);
  t.notOk(details.some((d) => /unreachable/.test(d)), `nothing reads "unreachable" (${details.join(' | ')})`);
  t.ok(timeline.some((e) => e.event === 'barrier confirmed' && /\(unordered,/.test(e.detail ?? '')), 'the port sync is labelled unordered');
  t.equal((await post(w, `/api/v1/migrations/${m.id}/abort`)).status, 200);

  w.switches.get('h2')!.close();
  for (let i = 0; i < 200 && w.app.controller.sessions.has('h2'); i++) await new Promise((r) => setTimeout(r, 10));
  const away = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-away' } })).json() as MigrationBody;
  t.ok(away.timeline.some((e) => e.event === 'skipped (switch not connected)' && /h2/.test(e.detail ?? '')), 'the skipped switch is named');
});

t.test('hosts\' own ports (LOCAL, internal) are never learned as containers', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const h1 = w.topology.nodes['h1']!;
  const internal = h1.bridge.internalPort!;
  const sw = w.switches.get('h1')!;
  sw.packetIn(internal.ofport, frameFrom('52:4f:c6:26:b8:7c'));
  sw.packetIn(Port.LOCAL, frameFrom('52:4f:c6:26:b8:7d'));
  // A frame at an unplanned port is a container: learned (and proves packet-ins arrive).
  sw.packetIn(950, frameFrom('02:00:00:00:09:50'));
  for (let i = 0; i < 200 && !w.app.controller.locations.byMac('02:00:00:00:09:50'); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(w.app.controller.locations.byMac('02:00:00:00:09:50'), 'a container port is learned');
  t.notOk(w.app.controller.locations.byMac('52:4f:c6:26:b8:7c'), `${internal.name} not learned`);
  t.notOk(w.app.controller.locations.byMac('52:4f:c6:26:b8:7d'), 'LOCAL not learned');
  t.equal(w.app.controller.isContainerPort('h1', 777, internal.name), false, 'internal port recognised by name, whatever its number');
});

t.test('flows view: the vino-ofp JSON form; flip flow_mods reset counters', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const text = await (await fetch(`${w.apiUrl}/api/v1/switches/sw1/flows`)).text();
  t.notMatch(text, /"0x/, 'no hex strings');
  const flows = parseJson(text) as Record<string, unknown>[];
  t.ok(flows.length > 0);
  for (const f of flows) {
    t.ok(typeof f['packetCount'] === 'number' || typeof f['packetCount'] === 'bigint', 'counters are integers');
    // The strict vino-ofp reader accepts every entry as written: the same form.
    messageFromJSON({ type: 'MULTIPART_REPLY', xid: 0, flags: 0, body: { kind: 'FLOW', flows: [f] } });
  }
  t.ok(text.includes(`"port":${Port.CONTROLLER}`), 'CONTROLLER written as vino-ofp writes it');

  await addPortAndWait(w, 'h2', 908, 'c-908');
  const marks = new Map([...w.switches].map(([n, sw]) => [n, sw.received.length]));
  const m = await (await post(w, '/api/v1/migrations', { container: 'c1', to: { switch: 'h2', port: 'c-908' } })).json() as MigrationBody;
  await post(w, `/api/v1/migrations/${m.id}/commit`);
  const adds = [...w.switches].flatMap(([n, sw]) => sw.received.slice(marks.get(n)).filter((x) => x.type === 'FLOW_MOD' && x.command === 'ADD'));
  t.ok(adds.length > 0, `${adds.length} flow adds during the migration`);
  t.ok(adds.every((x) => x.type === 'FLOW_MOD' && (x.flags & OFPFF_RESET_COUNTS) !== 0), 'every add resets the counters of the flow it replaces');
});
