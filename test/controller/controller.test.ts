import t from 'tap';
import { WebSocket } from 'ws';
import { makeWorld, walkBetween } from './world.js';
import { FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import { parseJson } from '../../src/json/index.js';

t.test('proactive flows: containers reach each other with no packet-in', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const names = Object.keys(w.topology.containers);
  t.ok(names.length >= 2, 'the example has containers');
  for (const a of names) for (const b of names) {
    if (a === b) continue;
    const r = walkBetween(w, a, b);
    const dst = w.app.controller.locations.get(b)!;
    t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), [`${dst.node}:${dst.ofport}`], `${a} → ${b} delivered at ${dst.node}:${dst.ofport}`);
    t.same(r.toController, [], `${a} → ${b} without the controller`);
  }
  for (const [node, sw] of w.switches) t.ok(sw.table.flows.length > 0, `${node} has flows`);
});

t.test('restart of the controller: flows read back, nothing deleted or re-added', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const before = new Map([...w.tables].map(([n, s]) => [n, s.flows.length]));
  await w.restartController();
  for (const [node, sw] of w.switches) {
    const mods = sw.received.filter((m) => m.type === 'FLOW_MOD' || m.type === 'GROUP_MOD' || m.type === 'METER_MOD');
    t.equal(mods.length, 0, `${node}: no flow/group/meter mod after the restart`);
    t.ok(sw.received.some((m) => m.type === 'MULTIPART_REQUEST' && m.body.kind === 'FLOW'), `${node}: flows were read back`);
    t.equal(w.tables.get(node)!.flows.length, before.get(node), `${node}: same flow count`);
  }
});

t.test('a switch reconnecting with the same dpid replaces its old session', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const first = w.switches.get('sw1')!;
  const n = w.topology.nodes['sw1']!;
  const second = new FakeSwitch(w.app.openflow[0]!.port, { datapathId: BigInt(`0x${n.bridge.dpid}`), table: w.tables.get('sw1')! });
  t.teardown(() => second.close());
  await second.waitFor((m) => m.type === 'MULTIPART_REQUEST' && m.body.kind === 'FLOW');
  for (let i = 0; i < 100 && !first.closed; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(first.closed, 'the old connection was closed');
  t.equal(w.app.controller.sessions.size, 3);
});

t.test('a misbehaving switch does not disturb the others; unknown switches get the learning fallback', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const rogue = new FakeSwitch(w.app.openflow[0]!.port, { datapathId: 0xdeadn });
  t.teardown(() => rogue.close());
  const fallback = await rogue.waitFor((m) => m.type === 'FLOW_MOD');
  t.match(fallback, { command: 'ADD', priority: 0, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 0xfffffffa }] }] }, 'NORMAL fallback');
  const info = w.app.controller.switchInfo().find((s) => s.fallback);
  t.equal(info?.dpid, '000000000000dead');
  for (let i = 0; i < 50; i++) rogue.writeRaw(Buffer.from('04ff000800000000', 'hex'));
  rogue.writeRaw(Buffer.from('0400000200000000', 'hex'));
  for (let i = 0; i < 100 && !rogue.closed; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(rogue.closed, 'the rogue was disconnected');
  t.equal(w.app.controller.sessions.size, 3, 'the others are still connected');
  const r = walkBetween(w, 'c1', 'c2');
  t.equal(r.delivered.length, 1);
});

t.test('API: health, switches, containers, validation errors, events, metrics, OpenAPI', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const api = (path: string, init?: RequestInit) => fetch(`${w.apiUrl}${path}`, init);
  const health = await (await api('/api/v1/health')).json() as { status: string; switches: { connected: number } };
  t.match(health, { status: 'ok', switches: { connected: 3 } });
  const switches = await (await api('/api/v1/switches')).json() as { name: string; connected: boolean; flowCount: number }[];
  t.equal(switches.length, 3);
  t.ok(switches.every((s) => s.connected && s.flowCount > 0));
  const flowsRes = await api('/api/v1/switches/sw1/flows');
  t.equal(flowsRes.status, 200);
  const flows = parseJson(await flowsRes.text()) as { cookie: bigint | number }[];
  t.ok(flows.length > 0 && flows.every((f) => typeof f.cookie === 'bigint' && f.cookie >> 48n === 0x5649n), 'flows decoded, cookies exact (vino-ofp JSON form)');
  t.equal((await api('/api/v1/switches/nope/flows')).status, 404);

  const put = (name: string, body: unknown) => api(`/api/v1/containers/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const bad = await put('x1', { mac: 'zz', node: 'h1', extra: 1 });
  t.equal(bad.status, 400);
  const badBody = await bad.json() as { errors: { path: string }[] };
  t.ok(badBody.errors.some((p) => p.path === '/mac'), 'names the mac');
  t.ok(badBody.errors.some((p) => p.path === '/extra'), 'names the unknown key');
  t.equal((await put('x1', '{"mac": ')).status, 400, 'malformed JSON is a 400');
  t.equal((await put('x1', { mac: '02:00:00:00:00:99', node: 'h9', ofport: 5 })).status, 404, 'unknown node');
  t.equal((await put('x1', { mac: '02:00:00:00:00:02', node: 'h1', ofport: 5 })).status, 409, 'MAC of c2');
  t.equal((await api('/api/v1/containers/nobody')).status, 404);

  const ws = new WebSocket(`${w.apiUrl.replace('http', 'ws')}/api/v1/events`);
  const events: { type: string }[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as { type: string }));
  await new Promise((r) => ws.once('open', r));
  t.teardown(() => ws.close());

  // Move c1 by hand to h2 on a new port: the switches are updated before the response.
  const h2 = w.topology.nodes['h2']!;
  const moved = await put('c1', { mac: '02:00:00:00:00:01', ip: '192.168.200.101', node: 'h2', ofport: 777 });
  t.equal(moved.status, 200);
  t.match(await moved.json(), { name: 'c1', node: 'h2', ofport: 777, source: 'api' });
  const r = walkBetween(w, 'c2', 'c1');
  t.same(r.delivered.map((d) => `${d.switch}:${d.port}`), ['h2:777'], `delivered at the new port of ${h2.name}`);
  for (let i = 0; i < 100 && !events.some((e) => e.type === 'flows-applied'); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(events.some((e) => e.type === 'container-moved'), 'container-moved event');
  t.ok(events.some((e) => e.type === 'flows-applied'), 'flows-applied event');

  t.equal((await api('/api/v1/containers/c1', { method: 'DELETE' })).status, 204);
  t.equal((await api('/api/v1/containers/c1', { method: 'DELETE' })).status, 404);

  const metrics = await (await api('/metrics')).text();
  t.match(metrics, /vino_switch_sessions 3/);
  t.match(metrics, /vino_barrier_rtt_seconds_bucket/);
  const doc = await (await api('/api/v1/openapi.json')).json() as { openapi: string; paths: Record<string, unknown> };
  t.equal(doc.openapi, '3.1.0');
  t.ok(doc.paths['/api/v1/containers/{name}'], 'containers documented');
});

t.test('API bearer token', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: 's3cret' });
  t.teardown(() => w.close());
  t.equal((await fetch(`${w.apiUrl}/api/v1/health`)).status, 401);
  t.equal((await fetch(`${w.apiUrl}/api/v1/health`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
});
