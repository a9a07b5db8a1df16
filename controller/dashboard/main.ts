/**
 * The dashboard: loads the views once per (re)connection of the event stream and afterwards
 * only when an event says something changed (no polling loop). Disconnected: a red banner and
 * reconnection with backoff; a 401 anywhere: the token prompt.
 */
import { api, ApiError, eventProtocols, token, Unauthorized, type Container, type Health, type Migration, type TimelineEntry, type Topology } from './api.js';
import { OverlayGraph, type GraphSummary } from './graph.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const view = {
  topology: null as Topology | null,
  containers: [] as Container[],
  health: null as Health | null,
  migrations: new Map<string, Migration>(),
  /** The migration shown in the panel and on the graph: the most recent one anyone started. */
  shown: null as string | null,
};

const graph = new OverlayGraph($('graph'));

declare global {
  interface Window {
    /** For the browser tests: what the graph holds (it is a canvas). */
    vinoDashboard: { graph(): GraphSummary; loads: number };
  }
}
window.vinoDashboard = { graph: () => graph.summary(), loads: 0 };

// ------------------------------------------------------------------------------ connection

let socket: WebSocket | null = null;
let attempt = 0;
let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

function setConnection(kind: 'live' | 'connecting' | 'disconnected', text: string): void {
  const el = $('conn-state');
  el.className = `conn ${kind}`;
  el.textContent = text;
  document.body.classList.toggle('disconnected', kind === 'disconnected');
}

function connect(): void {
  clearTimeout(reconnectTimer);
  setConnection('connecting', 'connecting…');
  const sock = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`, eventProtocols());
  socket = sock;
  let opened = false;
  sock.onopen = () => {
    opened = true;
    attempt = 0;
    setConnection('live', 'live');
    // Whatever happened while we were away: read everything once.
    void loadAll();
  };
  sock.onmessage = (m) => {
    try {
      onEvent(JSON.parse(String(m.data)) as StreamEvent);
    } catch (err) {
      console.error('bad event', err);
    }
  };
  sock.onclose = () => {
    if (socket !== sock) return;
    socket = null;
    // Refused before opening: a wrong token looks the same as a stopped controller; ask the API which.
    if (!opened) void api<Health>('/api/v1/health').then(scheduleReconnect, (err: unknown) => (err instanceof Unauthorized ? askToken(token.get() ? 'The controller refused this token.' : '') : scheduleReconnect()));
    else scheduleReconnect();
  };
}

function scheduleReconnect(): void {
  const delay = Math.min(5000, 250 * 2 ** attempt++);
  setConnection('disconnected', `disconnected: reconnecting in ${Math.max(1, Math.round(delay / 1000))} s`);
  reconnectTimer = setTimeout(connect, delay);
}

function askToken(message: string): void {
  clearTimeout(reconnectTimer);
  setConnection('disconnected', 'token needed');
  $('token-error').textContent = message;
  const dialog = $<HTMLDialogElement>('token-dialog');
  if (!dialog.open) dialog.showModal();
  $<HTMLInputElement>('token-input').focus();
}

$<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = $<HTMLInputElement>('token-input').value.trim();
  if (!value) return;
  token.set(value);
  $<HTMLInputElement>('token-input').value = '';
  $<HTMLDialogElement>('token-dialog').close();
  socket?.close();
  socket = null;
  connect();
});

// ------------------------------------------------------------------------------ data

async function loadAll(): Promise<void> {
  try {
    const [topology, containers, health, migrations] = await Promise.all([
      api<Topology>('/api/v1/topology'), api<Container[]>('/api/v1/containers'), api<Health>('/api/v1/health'), api<Migration[]>('/api/v1/migrations'),
    ]);
    Object.assign(view, { topology, containers, health });
    view.migrations = new Map(migrations.map((m) => [m.id, m]));
    const latest = migrations[migrations.length - 1];
    if (!view.shown || !view.migrations.has(view.shown)) view.shown = latest?.id ?? null;
    window.vinoDashboard.loads++;
    renderAll();
  } catch (err) {
    if (err instanceof Unauthorized) askToken(token.get() ? 'The controller refused this token.' : '');
    else console.error('loading the views failed', err);
  }
}

type Part = 'topology' | 'containers' | 'health';
const stale = new Set<Part>();
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

/** Reloads what an event made stale; a burst of events costs one request per view. */
function markStale(...parts: Part[]): void {
  for (const p of parts) stale.add(p);
  refreshTimer ??= setTimeout(() => {
    refreshTimer = undefined;
    const parts = [...stale];
    stale.clear();
    void Promise.all(parts.map(async (p) => {
      if (p === 'topology') view.topology = await api<Topology>('/api/v1/topology');
      else if (p === 'containers') view.containers = await api<Container[]>('/api/v1/containers');
      else view.health = await api<Health>('/api/v1/health');
    })).then(renderAll, (err: unknown) => (err instanceof Unauthorized ? askToken('The controller refused this token.') : console.error(err)));
  }, 100);
}

interface StreamEvent { type: string; id?: string; container?: string; state?: Migration['state']; event?: string; at?: string; t?: number; detail?: string }

function onEvent(e: StreamEvent): void {
  switch (e.type) {
    case 'switch-up': case 'switch-down': case 'port-change': case 'flows-applied': case 'flows-failed':
      markStale('topology', 'health');
      break;
    case 'container-moved':
      markStale('containers', 'health');
      break;
    case 'migration-step': {
      if (!e.id || !e.event) break;
      let m = view.migrations.get(e.id);
      if (!m) {
        // Started elsewhere (the CLI, another tab): what the step says until the full view arrives.
        m = { id: e.id, container: e.container ?? '?', mac: '', from: { node: '', ofport: null, port: null }, to: { node: '', ofport: null, port: null }, state: e.state ?? 'prepared', createdAt: e.at ?? '', flipLatencyMs: null, committedBy: null, error: null, timeline: [] };
        view.migrations.set(e.id, m);
        void refreshMigration(e.id);
      }
      addStep(m, { event: e.event, at: e.at ?? '', t: e.t ?? 0, ...(e.detail ? { detail: e.detail } : {}) });
      if (e.state) m.state = e.state;
      view.shown = e.id;
      renderMigration();
      break;
    }
    default:
      if (e.type.startsWith('migration-') && e.id) void refreshMigration(e.id);
  }
}

function addStep(m: Migration, step: TimelineEntry): void {
  const key = (s: TimelineEntry) => `${s.t}|${s.event}|${s.detail ?? ''}`;
  if (!m.timeline.some((s) => key(s) === key(step))) m.timeline.push(step);
  m.timeline.sort((a, b) => a.t - b.t);
}

async function refreshMigration(id: string): Promise<void> {
  try {
    const fresh = await api<Migration>(`/api/v1/migrations/${encodeURIComponent(id)}`);
    const had = view.migrations.get(id);
    // Steps that arrived on the stream after this answer was made stay.
    if (had) for (const s of had.timeline) addStep(fresh, s);
    view.migrations.set(id, fresh);
    renderMigration();
    renderGraph();
  } catch (err) {
    if (err instanceof Unauthorized) askToken('The controller refused this token.');
  }
}

// ------------------------------------------------------------------------------ rendering

function renderAll(): void {
  renderHeader();
  renderGraph();
  renderSwitches();
  renderContainers();
  renderForm();
  renderMigration();
}

function renderHeader(): void {
  $('topology-name').textContent = view.topology ? `· ${view.topology.name}` : '';
  const h = view.health;
  $('health').textContent = h ? `${h.switches.connected}/${h.switches.expected} switches connected · ${h.containers} containers · v${h.version}` : '';
}

function renderGraph(): void {
  if (view.topology) graph.render(view.topology, view.containers, view.shown ? view.migrations.get(view.shown) ?? null : null);
}

function cell(row: HTMLTableRowElement, text: string, className = ''): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const clock = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString() : '–');

function renderSwitches(): void {
  const body = $<HTMLTableElement>('switches-table').tBodies[0]!;
  body.replaceChildren();
  for (const n of view.topology?.nodes ?? []) {
    const row = body.insertRow();
    row.dataset.name = n.name;
    cell(row, n.name);
    cell(row, n.kind);
    cell(row, n.region);
    cell(row, n.dpid);
    cell(row, n.connected ? `connected${n.remote ? ` (${n.remote})` : ''}` : 'disconnected', n.connected ? 'state-up' : 'state-down');
    cell(row, n.role ?? '–');
    cell(row, String(n.flowCount), 'num');
    cell(row, n.lastSync ? `${clock(n.lastSync)} (${n.lastStage})` : '–');
    const errors = cell(row, String(n.errors), n.errors > 0 ? 'num state-down' : 'num');
    if (n.lastError) errors.title = n.lastError;
  }
}

function renderContainers(): void {
  const body = $<HTMLTableElement>('containers-table').tBodies[0]!;
  body.replaceChildren();
  for (const c of view.containers) {
    const row = body.insertRow();
    row.dataset.name = c.name;
    cell(row, c.name);
    cell(row, c.mac);
    cell(row, c.ip ?? '–');
    cell(row, `${c.node}:${c.port ?? '?'} (ofport ${c.ofport})`);
    cell(row, c.source);
    cell(row, clock(c.since));
  }
}

function fillSelect(select: HTMLSelectElement, values: string[]): void {
  const current = select.value;
  if ([...select.options].map((o) => o.value).join() === values.join()) return;
  select.replaceChildren(...values.map((v) => new Option(v, v)));
  if (values.includes(current)) select.value = current;
}

function renderForm(): void {
  fillSelect($<HTMLSelectElement>('mig-container'), view.containers.map((c) => c.name));
  fillSelect($<HTMLSelectElement>('mig-switch'), (view.topology?.nodes ?? []).map((n) => n.name));
}

/** Timeline wording: a confirmed barrier is a bicast install while preparing, a flip stage while committing. */
function stepLabel(step: TimelineEntry, m: Migration, index: number): string {
  if (step.event !== 'barrier confirmed') return step.event;
  const before = m.timeline.slice(0, index).map((s) => s.event);
  if (before.includes('commit requested') || before.includes('first frame at the new port')) return 'flip stage confirmed';
  return 'bicast installed';
}

function renderMigration(): void {
  const m = view.shown ? view.migrations.get(view.shown) : undefined;
  $('mig-current').hidden = !m;
  const list = $('mig-timeline');
  list.replaceChildren();
  if (!m) return;
  $('mig-title').textContent = m.from.node ? `${m.container}: ${m.from.node}:${m.from.port ?? m.from.ofport} → ${m.to.node}:${m.to.port ?? m.to.ofport}` : m.container;
  const badge = $('mig-state');
  badge.textContent = m.state;
  badge.className = `badge ${m.state}`;
  $('mig-latency').textContent = m.flipLatencyMs !== null ? `flip ${m.flipLatencyMs} ms${m.committedBy ? ` (by ${m.committedBy})` : ''}` : '';
  $<HTMLButtonElement>('mig-commit').disabled = m.state !== 'prepared';
  $<HTMLButtonElement>('mig-abort').disabled = m.state !== 'prepared';
  m.timeline.forEach((step, i) => {
    const li = document.createElement('li');
    li.dataset.event = step.event;
    const t = document.createElement('span');
    t.className = 't';
    t.textContent = `+${step.t.toFixed(1)} ms`;
    const label = document.createElement('strong');
    label.textContent = stepLabel(step, m, i);
    li.append(t, label);
    if (step.detail) {
      const d = document.createElement('span');
      d.className = 'detail';
      d.textContent = ` ${step.detail}`;
      li.append(d);
    }
    list.append(li);
  });
  // The newest step in view: during a migration that is what the operator is waiting for.
  list.scrollTop = list.scrollHeight;
}

// ------------------------------------------------------------------------------ actions

function showError(err: unknown): void {
  if (err instanceof Unauthorized) askToken('The controller refused this token.');
  $('mig-error').textContent = err instanceof ApiError ? `${err.status}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

$<HTMLFormElement>('migrate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('mig-error').textContent = '';
  const body = { container: $<HTMLSelectElement>('mig-container').value, to: { switch: $<HTMLSelectElement>('mig-switch').value, port: $<HTMLInputElement>('mig-port').value.trim() } };
  api<Migration>('/api/v1/migrations', { method: 'POST', body }).then((m) => {
    const had = view.migrations.get(m.id);
    if (had) for (const s of had.timeline) addStep(m, s);
    view.migrations.set(m.id, m);
    view.shown = m.id;
    renderMigration();
    renderGraph();
  }, showError);
});

for (const action of ['commit', 'abort'] as const) {
  $(`mig-${action}`).addEventListener('click', () => {
    $('mig-error').textContent = '';
    const id = view.shown;
    if (!id) return;
    api<Migration>(`/api/v1/migrations/${encodeURIComponent(id)}/${action}`, { method: 'POST' }).then((m) => {
      const had = view.migrations.get(m.id);
      if (had) for (const s of had.timeline) addStep(m, s);
      view.migrations.set(m.id, m);
      renderMigration();
      renderGraph();
    }, showError);
  });
}

connect();
