/** The server side of the dashboard: /api/v1/topology, the static files and their headers, the event stream's token. */
import t from 'tap';
import { WebSocket } from 'ws';
import { makeWorld } from '../controller/world.js';
import { BEARER_PROTOCOL_PREFIX, EVENTS_PROTOCOL } from '../../controller/shell/ws-auth.js';

const TOKEN = 'dash-s3cret+/=';
const auth = { authorization: `Bearer ${TOKEN}` };

interface TopologyBody {
  name: string; regions: string[];
  nodes: { name: string; kind: string; region: string; dpid: string; connected: boolean; role: string | null; flowCount: number; lastSync: string | null; errors: number }[];
  links: { index: number; a: { node: string; ofport: number; up: boolean | null }; b: { node: string; ofport: number; up: boolean | null }; state: string }[];
}

/** Opens the event stream offering `protocols`, collecting events from the start; rejects with the refusal's status. */
function openEvents(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<{ ws: WebSocket; events: { type: string; [k: string]: unknown }[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const events: { type: string }[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as { type: string }));
    ws.once('open', () => resolve({ ws, events }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

t.test('GET /api/v1/topology: nodes by region, links with tunnel port state, per-switch sync record', async (t) => {
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  t.equal((await fetch(`${w.apiUrl}/api/v1/topology`)).status, 401, 'the token is required');
  const res = await fetch(`${w.apiUrl}/api/v1/topology`, { headers: auth });
  t.equal(res.status, 200);
  const body = await res.json() as TopologyBody;
  t.equal(body.name, 'two-region');
  t.same(body.regions.sort(), ['CORE', 'EDGE-TR1']);
  t.same(body.nodes.map((n) => n.name).sort(), Object.keys(w.topology.nodes).sort());
  for (const n of body.nodes) {
    const planned = w.topology.nodes[n.name]!;
    t.match(n, { kind: planned.kind, region: planned.region, dpid: planned.bridge.dpid, connected: true, role: 'equal' }, `${n.name} as planned, connected`);
    t.ok(n.flowCount > 0, `${n.name} holds flows`);
  }
  t.ok(body.nodes.some((n) => n.lastSync !== null), 'switches that got flows have a last sync time');
  t.equal(body.links.length, w.topology.links.length);
  t.ok(body.links.every((l) => l.state === 'up' && l.a.up === true && l.b.up === true), 'every tunnel up');

  // A tunnel port disappears: that link is down; a switch leaves: its links are unknown, it is disconnected.
  const link = w.topology.links.find((l) => l.kind === 'switch-switch')!;
  w.switches.get(link.a.node)!.removePort(link.a.ofport);
  let after = body;
  for (let i = 0; i < 200; i++) {
    after = await (await fetch(`${w.apiUrl}/api/v1/topology`, { headers: auth })).json() as TopologyBody;
    if (after.links.find((l) => l.index === link.index)!.state === 'down') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.match(after.links.find((l) => l.index === link.index), { state: 'down', a: { up: false }, b: { up: true } }, 'the link whose port went away is down');
  w.switches.get('h4')!.close();
  for (let i = 0; i < 200; i++) {
    after = await (await fetch(`${w.apiUrl}/api/v1/topology`, { headers: auth })).json() as TopologyBody;
    if (!after.nodes.find((n) => n.name === 'h4')!.connected) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.match(after.nodes.find((n) => n.name === 'h4'), { connected: false, role: null });
  t.equal(after.links.find((l) => l.a.node === 'h4' || l.b.node === 'h4')!.state, 'unknown');

  const doc = await (await fetch(`${w.apiUrl}/api/v1/openapi.json`, { headers: auth })).json() as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
  t.ok(doc.paths['/api/v1/topology'], 'documented in the OpenAPI document');
  t.ok(doc.components.schemas['Topology'], 'with its schema');
});

t.test('dashboard files: served without a token, right content types, strict CSP; nothing else reachable', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: TOKEN, connect: false });
  t.teardown(() => w.close());
  const root = await fetch(`${w.apiUrl}/`, { redirect: 'manual' });
  t.equal(root.status, 302);
  t.equal(root.headers.get('location'), '/ui/');
  const expected: Record<string, RegExp> = { '': /^text\/html/, 'index.html': /^text\/html/, 'app.js': /^text\/javascript/, 'app.css': /^text\/css/ };
  for (const [file, type] of Object.entries(expected)) {
    const res = await fetch(`${w.apiUrl}/ui/${file}`);
    t.equal(res.status, 200, `/ui/${file} without a token`);
    t.match(res.headers.get('content-type'), type, `/ui/${file} content type`);
    const csp = res.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'none'/);
    t.match(csp, /script-src 'self'(;|$)/, 'scripts from the controller only, none inline');
    t.notMatch(csp, /unsafe-inline|unsafe-eval/);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.ok((await res.arrayBuffer()).byteLength > 0);
  }
  const html = await (await fetch(`${w.apiUrl}/ui/`)).text();
  t.notMatch(html, /<script>|<script [^>]*>[^<]+<\/script>|\son[a-z]+=/i, 'no inline script or handler in the page');
  t.notMatch(html, /https?:\/\//, 'no other origin referenced');
  const js = await (await fetch(`${w.apiUrl}/ui/app.js`)).text();
  t.match(js, /cytoscape/i, 'the graph library is in the bundle');
  t.match(await (await fetch(`${w.apiUrl}/ui/app.js.LEGAL.txt`)).text(), /cytoscape/i, 'the bundled licenses are served beside the bundle');
  for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/main.ts', '/ui/tsconfig.json']) {
    const res = await fetch(`${w.apiUrl}${path}`);
    t.not(res.status, 200, `${path} not served`);
  }
  t.equal((await fetch(`${w.apiUrl}/api/v1/health`)).status, 401, 'the API still wants the token');
  t.equal((await fetch(`${w.apiUrl}/metrics`)).status, 401, 'so does /metrics');
});

t.test('event stream token: a subprotocol or the header, never the URL', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: TOKEN, connect: false });
  t.teardown(() => w.close());
  const url = `${w.apiUrl.replace('http', 'ws')}/api/v1/events`;
  const bearer = (tok: string) => `${BEARER_PROTOCOL_PREFIX}${Buffer.from(tok).toString('base64url')}`;

  const { ws, events } = await openEvents(url, [EVENTS_PROTOCOL, bearer(TOKEN)]);
  t.teardown(() => ws.close());
  t.equal(ws.protocol, EVENTS_PROTOCOL, 'the server picks the events protocol, never echoes the token');
  for (let i = 0; i < 200 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(events[0]?.type, 'hello');

  const viaHeader = await openEvents(url, [], auth);
  viaHeader.ws.close();
  t.pass('the Authorization header still works (CLI)');
  await t.rejects(openEvents(url, [EVENTS_PROTOCOL, bearer('wrong')]), /refused with 401/, 'wrong token refused');
  await t.rejects(openEvents(url, [EVENTS_PROTOCOL]), /refused with 401/, 'no token refused');
  await t.rejects(openEvents(`${url}?token=${encodeURIComponent(TOKEN)}`, [EVENTS_PROTOCOL]), /refused with 401/, 'a token in the URL is not accepted');
});

t.test('migration steps arrive on the event stream as they happen', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const { ws, events } = await openEvents(`${w.apiUrl.replace('http', 'ws')}/api/v1/events`, [EVENTS_PROTOCOL]);
  t.teardown(() => ws.close());
  const steps = events as unknown as { type: string; id: string; event: string; t: number }[];
  const res = await fetch(`${w.apiUrl}/api/v1/migrations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ container: 'web', to: { switch: 'h3', port: 'c-web' } }) });
  t.equal(res.status, 201);
  const m = await res.json() as { id: string; timeline: { event: string; t: number }[] };
  const stepsOnly = () => steps.filter((s) => s.type === 'migration-step');
  for (let i = 0; i < 200 && stepsOnly().length < m.timeline.length; i++) await new Promise((r) => setTimeout(r, 10));
  t.same(stepsOnly().map((s) => [s.id, s.event, s.t]), m.timeline.map((e) => [m.id, e.event, e.t]), 'every timeline entry, in order, as an event');
  t.ok(stepsOnly().some((s) => s.event === 'barrier confirmed'), 'per-switch barrier confirmations');
});
