/**
 * The dashboard in a real browser (headless chromium) against a controller with fake switches:
 * the token prompt, graph and tables against what the API says, a migration run from the page
 * with its timeline, the disconnected state and the reconnection after a controller restart.
 */
import t from 'tap';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { makeWorld } from '../controller/world.js';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { launchChromium, screenshotDir, until } from './browser.js';

const TOKEN = 'ui-token-42';

interface GraphSummary {
  nodes: { id: string; label: string; parent: string | null; classes: string[] }[];
  edges: { id: string; source: string; target: string; label: string; classes: string[] }[];
}

// Page-side code as strings: this test is compiled for node, without the DOM's types.
const graphOf = (page: Page) => page.evaluate<GraphSummary>('window.vinoDashboard.graph()');
const loads = (page: Page) => page.evaluate<number>('window.vinoDashboard.loads');
const rows = (page: Page, table: string) => page.evaluate<string[][]>(`[...document.querySelectorAll('#${table} tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent))`);
const timeline = (page: Page) => page.evaluate<{ event: string; text: string }[]>(`[...document.querySelectorAll('#mig-timeline li')].map((li) => ({ event: li.dataset.event, text: li.textContent }))`);
/**
 * Waits in the page for an element's class or text. Functions, not strings: the page's CSP
 * (rightly) forbids eval, which playwright would use for a string predicate.
 */
type PageDocument = { querySelector(s: string): { classList: { contains(c: string): boolean }; textContent: string | null } | null };
const untilClass = (page: Page, selector: string, cls: string, timeout = 15_000) => page.waitForFunction(
  ([sel, c]) => (globalThis as unknown as { document: PageDocument }).document.querySelector(sel)?.classList.contains(c) ?? false, [selector, cls] as const, { timeout });
const untilText = (page: Page, selector: string, re: RegExp) => page.waitForFunction(
  ([sel, src]) => new RegExp(src).test((globalThis as unknown as { document: PageDocument }).document.querySelector(sel)?.textContent ?? ''), [selector, re.source] as const, { timeout: 15_000 });

t.test('dashboard: token, graph, tables, a migration from the page, disconnect and reconnect', async (t) => {
  const shots = screenshotDir();
  t.comment(`screenshots in ${shots}`);
  const w = await makeWorld('two-region.json', { apiToken: TOKEN });
  t.teardown(() => w.close());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const origin = w.apiUrl;
  const foreign: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith(origin.replace('http', 'ws'))) foreign.push(r.url()); });
  const api = async <T>(path: string) => (await (await fetch(`${w.apiUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as T;

  // --- the token prompt
  await page.goto(`${origin}/`);
  t.equal(new URL(page.url()).pathname, '/ui/', '/ redirects to the dashboard');
  await page.waitForSelector('#token-dialog[open]');
  t.match(await page.textContent('#conn-state'), /token needed/);
  await page.fill('#token-input', 'wrong-token');
  await page.click('#token-submit');
  await untilText(page, '#token-error', /refused/);
  t.ok(await page.isVisible('#token-dialog'), 'a wrong token: asked again, with the reason');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-submit');
  await untilClass(page, '#conn-state', 'live');
  t.notOk(await page.isVisible('#token-dialog'), 'the right token: the prompt is gone, the stream is live');
  t.equal(await page.evaluate<string | null>("sessionStorage.getItem('vino.apiToken')"), TOKEN, 'kept in the session');
  t.notMatch(page.url(), new RegExp(TOKEN), 'never in the URL');
  await until(async () => (await loads(page)) > 0, 'the first load');

  // --- graph and tables show what the API says
  const topology = await api<{ regions: string[]; nodes: { name: string; region: string; dpid: string; flowCount: number; connected: boolean }[]; links: { index: number; a: { node: string }; b: { node: string } }[] }>('/api/v1/topology');
  const containers = await api<{ name: string; mac: string; ip: string; node: string; port: string; ofport: number; source: string }[]>('/api/v1/containers');
  const graph = await graphOf(page);
  for (const r of topology.regions) t.ok(graph.nodes.some((n) => n.id === `region:${r}`), `region ${r} drawn`);
  for (const n of topology.nodes) {
    const drawn = graph.nodes.find((g) => g.id === n.name);
    t.equal(drawn?.parent, `region:${n.region}`, `${n.name} drawn in region ${n.region}`);
    t.notOk(drawn?.classes.includes('down'), `${n.name} drawn connected`);
  }
  for (const l of topology.links) {
    const e = graph.edges.find((g) => g.id === `link:${l.index}`);
    t.same([e?.source, e?.target], [l.a.node, l.b.node], `link ${l.index} drawn ${l.a.node}–${l.b.node}`);
  }
  for (const c of containers) {
    const e = graph.edges.find((g) => g.id === `attach:${c.name}`);
    t.same([e?.source, e?.target, e?.label], [c.node, `container:${c.name}`, c.port], `container ${c.name} drawn at ${c.node} port ${c.port}`);
  }
  const switchRows = await rows(page, 'switches-table');
  t.equal(switchRows.length, topology.nodes.length, 'one switch row per node');
  for (const n of topology.nodes) {
    const row = switchRows.find((r) => r[0] === n.name);
    t.same([row?.[2], row?.[3], row?.[6]], [n.region, n.dpid, String(n.flowCount)], `${n.name}: region, dpid, flows as the API says`);
    t.match(row?.[4], /^connected/);
  }
  const containerRows = await rows(page, 'containers-table');
  t.equal(containerRows.length, containers.length);
  for (const c of containers) {
    const row = containerRows.find((r) => r[0] === c.name);
    t.same(row?.slice(0, 5), [c.name, c.mac, c.ip, `${c.node}:${c.port} (ofport ${c.ofport})`, c.source], `${c.name} row as the API says`);
  }
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

  // --- a migration started from the page; its timeline follows the event stream
  await page.selectOption('#mig-container', 'web');
  await page.selectOption('#mig-switch', 'h3');
  await page.fill('#mig-port', 'c-web');
  await page.click('#mig-prepare');
  await page.waitForSelector('#mig-timeline li[data-event="prepared"]');
  t.equal(await page.textContent('#mig-state'), 'prepared');
  const prepared = await timeline(page);
  t.ok(prepared.some((s) => s.event === 'barrier confirmed' && /^\+[\d.]+ msbicast installed \w+ \(/.test(s.text)), 'bicast installs, per switch, barrier-confirmed');
  const commitFirst = await page.isEnabled('#mig-commit');
  t.ok(commitFirst, 'commit offered');
  // Committing before the port exists is refused; the page shows the API's reason.
  await page.click('#mig-commit');
  await untilText(page, '#mig-error', /409: .*does not exist/);
  t.pass('a refused commit shows the reason');

  // The container's port appears on h3: the page hears of it from the stream alone.
  w.switches.get('h3')!.addPort(fakePort(931, 'c-web'));
  await page.waitForSelector('#mig-timeline li[data-event="port seen"]');
  let g = await graphOf(page);
  t.ok(g.nodes.some((n) => n.id.startsWith('ghost:') && n.classes.includes('new')), 'the new location drawn');
  t.ok(g.edges.find((e) => e.id === 'attach:web')?.classes.includes('old'), 'the old location marked');
  t.ok(g.edges.some((e) => e.classes.includes('path')), 'the path between old and new drawn');
  await page.click('#mig-commit');
  await untilText(page, '#mig-state', /^committed$/);
  await page.waitForSelector('#mig-timeline li[data-event="committed"]');
  const steps = await timeline(page);
  const events = steps.map((s) => s.event);
  for (const e of ['prepare requested', 'prepared', 'port seen', 'commit requested', 'committed']) t.ok(events.includes(e), `timeline shows "${e}"`);
  t.ok(steps.some((s) => /flip stage confirmed \w+ \(level \d+, \d+ messages, [\d.]+ ms\)/.test(s.text)), 'flip stages with their latency');
  t.match(await page.textContent('#mig-latency'), /^flip [\d.]+ ms \(by api\)$/);
  const server = (await api<{ id: string; timeline: { event: string }[] }[]>('/api/v1/migrations'))[0]!;
  t.same(events, server.timeline.map((e) => e.event), 'the page\'s timeline is the controller\'s');
  await until(async () => (await rows(page, 'containers-table')).find((r) => r[0] === 'web')?.[3] === 'h3:c-web (ofport 931)', 'the container table to show the move');
  t.equal((await rows(page, 'containers-table')).find((r) => r[0] === 'web')?.[4], 'migration');
  await until(async () => (await graphOf(page)).edges.find((e) => e.id === 'attach:web')?.source === 'h3', 'the graph to show web at h3');
  g = await graphOf(page);
  t.ok(g.edges.find((e) => e.id === 'attach:web')?.classes.includes('new'), 'web drawn at its new location');
  t.ok(g.nodes.some((n) => n.id.startsWith('ghost:') && n.classes.includes('old')), 'and the old one as a ghost');
  await page.screenshot({ path: join(shots, 'migration.png'), fullPage: true });

  // --- the controller goes away: a visible disconnected state; it comes back: live again, reloaded
  const apiPort = w.app.api!.port;
  const loadsBefore = await loads(page);
  await w.stopController();
  await untilClass(page, '#conn-state', 'disconnected');
  t.match(await page.textContent('#conn-state'), /disconnected/);
  t.ok(await page.evaluate<boolean>("document.body.classList.contains('disconnected')"), 'the whole page shows it');
  await page.screenshot({ path: join(shots, 'disconnected.png'), fullPage: true });
  await w.startController({ apiPort });
  await untilClass(page, '#conn-state', 'live', 20_000);
  await until(async () => (await loads(page)) > loadsBefore, 'a reload after reconnecting');
  t.equal((await rows(page, 'switches-table')).filter((r) => /^connected/.test(r[4] ?? '')).length > 0, true, 'tables filled again');

  // A migration someone else starts (the CLI, an orchestrator) shows up from the stream alone.
  const other = await fetch(`${w.apiUrl}/api/v1/migrations`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ container: 'db', to: { switch: 'h4', port: 'c-db2' } }) });
  t.equal(other.status, 201);
  await untilText(page, '#mig-title', /^db: h2:c-db → h4:c-db2$/);
  await page.waitForSelector('#mig-timeline li[data-event="prepared"]');
  t.equal(await page.textContent('#mig-state'), 'prepared', 'shown with its state and timeline');
  await page.click('#mig-abort');
  await untilText(page, '#mig-state', /^aborted$/);
  await page.waitForSelector('#mig-timeline li[data-event="aborted"]');
  t.match((await timeline(page)).map((s) => s.event).slice(-2), ['abort requested', 'aborted'], 'aborted from the page, in the timeline');

  t.same(foreign, [], 'nothing fetched from anywhere but the controller');
  // The stopped controller makes the browser log failed connections; anything else is a fault.
  t.same(problems.filter((p) => !/ERR_CONNECTION_REFUSED|WebSocket connection|Failed to load resource/.test(p)), [], 'no script errors, no CSP violations');
});
