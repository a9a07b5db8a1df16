/**
 * Read-only views the dashboard (and operators) need beyond the switch and container lists:
 * the overlay as a graph (nodes by region, VXLAN links with the state of both tunnel ports)
 * and, per switch, when its flows last changed and what it refused. `GET /api/v1/topology`.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Controller, ControllerEvent } from './controller.js';
import { problem, problemDoc, problemResponse } from './problem.js';
import { analyzeTopologyText } from '../../src/topology/load.js';
import { formatTopologyDiff } from '../../src/topology/diff.js';
import { ReloadError } from './controller.js';

/** Per switch: the last barrier-confirmed change and the refusals, from the controller's events. */
export class SwitchActivity {
  /** lastSyncMs: ms since epoch, formatted when read (an event comes with every confirmed batch, one per learned MAC at times). */
  private readonly bySwitch = new Map<string, { lastSyncMs: number | null; lastStage: string | null; errors: number; lastError: string | null }>();
  private readonly onEvent = (e: ControllerEvent) => {
    if (e.type === 'flows-applied' && typeof e.switch === 'string') {
      const a = this.entry(e.switch);
      a.lastSyncMs = Date.now();
      a.lastStage = String(e.stage);
    } else if (e.type === 'flows-failed' && typeof e.switch === 'string') {
      const a = this.entry(e.switch);
      a.errors++;
      a.lastError = String(e.error);
    }
  };

  constructor(private readonly controller: Controller) {
    controller.on('event', this.onEvent);
  }

  get(name: string): { lastSync: string | null; lastStage: string | null; errors: number; lastError: string | null } {
    const a = this.bySwitch.get(name);
    if (!a) return { lastSync: null, lastStage: null, errors: 0, lastError: null };
    return { lastSync: a.lastSyncMs === null ? null : new Date(a.lastSyncMs).toISOString(), lastStage: a.lastStage, errors: a.errors, lastError: a.lastError };
  }

  close(): void {
    this.controller.off('event', this.onEvent);
  }

  private entry(name: string) {
    let a = this.bySwitch.get(name);
    if (!a) this.bySwitch.set(name, (a = { lastSyncMs: null, lastStage: null, errors: 0, lastError: null }));
    return a;
  }
}

const TopologyNode = z.object({
  name: z.string(),
  kind: z.enum(['switch', 'host']),
  region: z.string(),
  bridge: z.string(),
  dpid: z.string(),
  connected: z.boolean(),
  remote: z.string().nullable(),
  role: z.enum(['equal']).nullable().openapi({
    description: 'OpenFlow controller role of the connection (null when not connected). This controller sends no ROLE_REQUEST, so it is OpenFlow 1.3\'s default, EQUAL',
  }),
  flowCount: z.number().int().openapi({ description: 'Flows of ours the switch is known to hold (read back on connect, updated on each confirmed change)' }),
  lastSync: z.string().nullable().openapi({ description: 'ISO time of the last barrier-confirmed flow change since the controller started' }),
  lastStage: z.string().nullable(),
  errors: z.number().int().openapi({ description: 'Flow changes the switch refused since the controller started' }),
  lastError: z.string().nullable(),
}).openapi('TopologyNode');

const LinkEnd = z.object({
  node: z.string(),
  port: z.string(),
  ofport: z.number().int(),
  up: z.boolean().nullable().openapi({ description: 'Port state reported by the switch; null when the switch is not connected or does not report the port' }),
});

const TopologyLink = z.object({
  index: z.number().int(),
  kind: z.enum(['switch-host', 'switch-switch']),
  vni: z.number().int(),
  a: LinkEnd,
  b: LinkEnd,
  state: z.enum(['up', 'down', 'unknown']).openapi({ description: 'up: both tunnel ports up; down: one is reported down or missing; unknown: a switch is not connected' }),
}).openapi('TopologyLink');

export const TopologyView = z.object({
  name: z.string(),
  regions: z.array(z.string()),
  nodes: z.array(TopologyNode),
  links: z.array(TopologyLink),
}).openapi('Topology');

export type TopologyViewType = z.infer<typeof TopologyView>;

export function topologyView(controller: Controller, activity: SwitchActivity): TopologyViewType {
  const { topology } = controller;
  const flowCounts = new Map(controller.switchInfo().map((i) => [i.name, i.flowCount]));
  const nodes = Object.values(topology.nodes).map((n) => {
    const s = controller.sessions.get(n.name);
    const connected = s?.state === 'ready';
    return {
      name: n.name, kind: n.kind, region: n.region, bridge: n.bridge.name, dpid: n.bridge.dpid,
      connected, remote: connected ? (s?.remote ?? null) : null, role: connected ? 'equal' as const : null,
      flowCount: flowCounts.get(n.name) ?? 0, ...activity.get(n.name),
    };
  });
  const portUp = (node: string, ofport: number): boolean | null => {
    const s = controller.sessions.get(node);
    if (!s || s.state !== 'ready') return null;
    const p = s.ports.get(ofport);
    // A planned tunnel port the switch does not report is as good as down.
    if (!p) return false;
    return (p.config & 1) === 0 && (p.state & 1) === 0;
  };
  const links = topology.links.map((l) => {
    const a = { node: l.a.node, port: l.a.port, ofport: l.a.ofport, up: portUp(l.a.node, l.a.ofport) };
    const b = { node: l.b.node, port: l.b.port, ofport: l.b.ofport, up: portUp(l.b.node, l.b.ofport) };
    const state = a.up === false || b.up === false ? 'down' as const : a.up === null || b.up === null ? 'unknown' as const : 'up' as const;
    return { index: l.index, kind: l.kind, vni: l.vni, a, b, state };
  });
  const regions = [...new Set(nodes.map((n) => n.region))];
  return { name: topology.name, regions, nodes, links };
}

/** Registers GET /api/v1/topology. */
export function addTopologyRoutes(app: OpenAPIHono, controller: Controller): SwitchActivity {
  const activity = new SwitchActivity(controller);
  app.openapi(createRoute({
    method: 'get', path: '/api/v1/topology',
    responses: {
      200: { content: { 'application/json': { schema: TopologyView } }, description: 'The overlay as a graph: nodes (by region) with connection state, links with tunnel port state' },
      401: problemDoc('Missing or wrong bearer token (with `WWW-Authenticate`)'),
    },
  }), (c) => c.json(topologyView(controller, activity), 200));
  return activity;
}

const Changes = z.object({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.object({ name: z.string(), fields: z.array(z.string()) })) });
export const ReloadView = z.object({
  dryRun: z.boolean(),
  changes: z.array(z.string()).openapi({ description: 'One line per change: "+ node sw9", "- link sw1~sw2", "~ container web: node, ofport"' }),
  diff: z.object({ nodes: Changes, links: Changes, containers: Changes, attributes: z.array(z.string()), empty: z.boolean() }),
  provisioned: z.array(z.string()),
  switchesTouched: z.array(z.string()),
  flowMods: z.number().int(),
  diffMs: z.number(),
  totalMs: z.number().openapi({ description: 'From the request to the last barrier reply' }),
}).openapi('TopologyReload');

const Flag = z.enum(['0', '1', 'true', 'false']).optional();

/**
 * `PUT /api/v1/topology`: reload without restart. The body is the topology document, checked
 * exactly as `vino-controller validate` checks a file: any problem → 400 with every JSON path, and
 * nothing changes. `?dry_run=1` returns the diff only; `?provision=1` provisions the new nodes
 * through OVSDB first.
 */
export function addTopologyReloadRoute(app: OpenAPIHono, controller: Controller): void {
  app.openapi(createRoute({
    method: 'put', path: '/api/v1/topology',
    request: {
      query: z.object({ dry_run: Flag.openapi({ description: 'Return the diff, change nothing' }), provision: Flag.openapi({ description: 'Provision added nodes and the ends of added links through OVSDB first' }) }),
      body: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ description: 'The topology document (schema/topology.schema.json)' }) } }, required: true },
    },
    responses: {
      200: { content: { 'application/json': { schema: ReloadView } }, description: 'Applied (or, with dry_run, what would change); the switches confirmed the flows (barrier) before this response' },
      400: problemDoc('Invalid topology: every problem with its JSON path (and line:column) in `errors`; nothing changed'),
      401: problemDoc('Missing or wrong bearer token (with `WWW-Authenticate`)'),
      409: problemDoc('A removed node still holds containers or a prepared migration, or a reload is in progress; nothing changed'),
      502: problemDoc('Provisioning failed on some node; the topology was not changed'),
    },
  }), async (c) => {
    const query = c.req.valid('query');
    const on = (v: string | undefined) => v === '1' || v === 'true';
    const { topology, problems } = analyzeTopologyText(await c.req.text());
    if (!topology) {
      return problemResponse(problem('invalid-request', 400, `invalid topology: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing changed`, {
        instance: c.req.path,
        errors: problems.map((p) => ({ path: p.path, message: p.at ? `${p.at.line}:${p.at.column}: ${p.message}` : p.message })),
      })) as never;
    }
    try {
      const r = await controller.reload(topology, { dryRun: on(query.dry_run), provision: on(query.provision) });
      return c.json({ ...r, changes: formatTopologyDiff(r.diff) }, 200);
    } catch (err) {
      if (!(err instanceof ReloadError)) throw err;
      const kind = err.status === 400 ? 'invalid-request' : err.status === 502 ? 'provisioning-failed' : 'conflict';
      return problemResponse(problem(kind, err.status, err.message, { instance: c.req.path, errors: err.problems })) as never;
    }
  });
}
