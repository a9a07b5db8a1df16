import t from 'tap';
import { makeWorld, walkBetween, type World } from './world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';

/** The container that migrates in two-region.json, and where it goes. */
async function setup(t: { teardown: (fn: () => unknown) => void }) {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const names = Object.keys(w.topology.containers);
  const mover = names[0]!;
  const home = w.app.controller.locations.get(mover)!;
  const hosts = Object.values(w.topology.nodes).filter((n) => n.kind === 'host');
  const target = hosts.find((h) => h.region !== w.topology.nodes[home.node]!.region) ?? hosts.find((h) => h.name !== home.node)!;
  const peers = names.filter((n) => n !== mover);
  return { w, mover, home, target: target.name, peers };
}

const api = (w: World, path: string, body?: unknown) => fetch(`${w.apiUrl}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const delivered = (w: World, from: string, to: string) => walkBetween(w, from, to).delivered.map((d) => `${d.switch}:${d.port}`).sort();

t.test('prepare, port appears, commit: bicast then flip; timeline and flip latency', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  const res = await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-moved' } });
  t.equal(res.status, 201);
  const m = await res.json() as { id: string; state: string; to: { ofport: number | null } };
  t.equal(m.state, 'prepared');
  t.equal(m.to.ofport, null, 'the new port does not exist yet');
  for (const p of peers) t.same(delivered(w, p, mover), [`${home.node}:${home.ofport}`], `${p}: still delivered at the old port only`);

  w.switches.get(target)!.addPort(fakePort(901, 'c-moved'));
  for (let i = 0; i < 200; i++) {
    const cur = await (await api(w, `/api/v1/migrations/${m.id}`)).json() as { to: { ofport: number | null } };
    if (cur.to.ofport === 901) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await w.app.controller.requestSync('test');
  for (const p of peers) t.same(delivered(w, p, mover), [`${home.node}:${home.ofport}`, `${target}:901`].sort(), `${p}: bicast to old and new`);

  const commit = await api(w, `/api/v1/migrations/${m.id}/commit`, {});
  t.equal(commit.status, 200);
  const done = await commit.json() as { state: string; flipLatencyMs: number; timeline: { event: string }[]; committedBy: string };
  t.equal(done.state, 'committed');
  t.equal(done.committedBy, 'api');
  t.type(done.flipLatencyMs, 'number');
  const events = done.timeline.map((e) => e.event);
  for (const e of ['prepare requested', 'prepared', 'port seen', 'commit requested', 'barrier confirmed', 'committed']) t.ok(events.includes(e), `timeline has "${e}"`);
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:901`], `${p}: delivered at the new port only`);
  const loc = await (await fetch(`${w.apiUrl}/api/v1/containers/${mover}`)).json() as { node: string; ofport: number; source: string };
  t.match(loc, { node: target, ofport: 901, source: 'migration' }, 'location table reflects the move');
  const again = await api(w, `/api/v1/migrations/${m.id}/commit`, {});
  t.equal(again.status, 200, 'commit of a committed migration returns it');
  t.equal((await again.json() as { state: string }).state, 'committed');
  t.equal((await api(w, `/api/v1/migrations/${m.id}/abort`, {})).status, 409, 'abort after commit: 409');
});

t.test('the first frame from the container at the new port commits by itself', async (t) => {
  const { w, mover, target, peers } = await setup(t);
  const sw = w.switches.get(target)!;
  sw.addPort(fakePort(902, 'c-auto'));
  for (let i = 0; i < 100 && !w.app.controller.sessions.get(target)!.ports.has(902); i++) await new Promise((r) => setTimeout(r, 10));
  const m = await (await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-auto' } })).json() as { id: string; to: { ofport: number } };
  t.equal(m.to.ofport, 902, 'port already there: resolved at prepare');
  const mac = w.app.controller.locations.get(mover)!.mac;
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  sw.packetIn(902, frame);
  let state = '';
  for (let i = 0; i < 200 && state !== 'committed'; i++) {
    state = ((await (await api(w, `/api/v1/migrations/${m.id}`)).json()) as { state: string }).state;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(state, 'committed');
  const cur = await (await api(w, `/api/v1/migrations/${m.id}`)).json() as { committedBy: string; flipLatencyMs: number };
  t.equal(cur.committedBy, 'first-frame');
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:902`]);
});

t.test('abort restores the old path; errors 400/404/409', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  const bad = await api(w, '/api/v1/migrations', { container: mover, to: { switch: target } , extra: true });
  t.equal(bad.status, 400);
  const problems = (await bad.json() as { errors: { path: string }[] }).errors.map((p) => p.path);
  t.ok(problems.includes('/to/port'), `names /to/port (${problems.join(', ')})`);
  t.equal((await api(w, '/api/v1/migrations', { container: 'ghost', to: { switch: target, port: 'x' } })).status, 404);
  t.equal((await api(w, '/api/v1/migrations', { container: mover, to: { switch: 'nowhere', port: 'x' } })).status, 404);
  t.equal((await api(w, '/api/v1/migrations/nope')).status, 404);
  t.equal((await api(w, '/api/v1/migrations/nope/commit', {})).status, 404);
  t.equal((await api(w, '/api/v1/migrations', { container: mover, to: { switch: home.node, port: home.port ?? '' } })).status, home.port ? 409 : 400, 'already there');

  w.switches.get(target)!.addPort(fakePort(903, 'c-ab'));
  for (let i = 0; i < 100 && !w.app.controller.sessions.get(target)!.ports.has(903); i++) await new Promise((r) => setTimeout(r, 10));
  const m = await (await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-ab' } })).json() as { id: string };
  t.equal((await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-ab' } })).status, 409, 'in progress');
  for (const p of peers) t.same(delivered(w, p, mover).length, 2, `${p}: bicast while prepared`);
  const ab = await api(w, `/api/v1/migrations/${m.id}/abort`, {});
  t.equal(ab.status, 200);
  t.equal((await ab.json() as { state: string }).state, 'aborted');
  for (const p of peers) t.same(delivered(w, p, mover), [`${home.node}:${home.ofport}`], `${p}: old path only after abort`);
  t.equal((await api(w, `/api/v1/migrations/${m.id}/abort`, {})).status, 409);
});

t.test('a controller restart in the prepared state keeps the migration and its flows', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  w.switches.get(target)!.addPort(fakePort(904, 'c-rs'));
  for (let i = 0; i < 100 && !w.app.controller.sessions.get(target)!.ports.has(904); i++) await new Promise((r) => setTimeout(r, 10));
  const m = await (await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-rs' } })).json() as { id: string };
  await w.app.controller.saveState();
  await w.restartController();
  const after = await (await api(w, `/api/v1/migrations/${m.id}`)).json() as { state: string; timeline: { event: string }[] };
  t.equal(after.state, 'prepared');
  t.ok(after.timeline.some((e) => e.event === 'restored after a controller restart'));
  for (const [node, sw] of w.switches) t.equal(sw.received.filter((x) => x.type === 'FLOW_MOD').length, 0, `${node}: no flow churn on restart`);
  for (const p of peers) t.same(delivered(w, p, mover), [`${home.node}:${home.ofport}`, `${target}:904`].sort(), `${p}: still bicast`);
  const c = await api(w, `/api/v1/migrations/${m.id}/commit`, {});
  t.equal(c.status, 200);
  for (const p of peers) t.same(delivered(w, p, mover), [`${target}:904`]);
});

t.test('a prepared migration that is never committed is aborted after the timeout', async (t) => {
  const { w, mover, home, target, peers } = await setup(t);
  (w.app.migrations as unknown as { options: { timeoutMs: number } }).options.timeoutMs = 200;
  const m = await (await api(w, '/api/v1/migrations', { container: mover, to: { switch: target, port: 'c-to' } })).json() as { id: string };
  let state = '';
  for (let i = 0; i < 200 && state !== 'aborted'; i++) {
    state = ((await (await api(w, `/api/v1/migrations/${m.id}`)).json()) as { state: string }).state;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(state, 'aborted');
  await w.app.controller.requestSync('test');
  for (const p of peers) t.same(delivered(w, p, mover), [`${home.node}:${home.ofport}`]);
});
