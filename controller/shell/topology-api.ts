/**
 * Topology routes: `GET /api/v1/topology` (the resolved topology in force) and
 * `PUT /api/v1/topology` (reload without restart). The body is the topology document, checked
 * exactly as `vino-controller validate` checks a file: any problem → 400 with every JSON path,
 * and nothing changes. `?dry_run=1` returns the diff only; `?provision=1` provisions the new
 * nodes through OVSDB first.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { analyzeTopologyText } from '../../src/topology/load.js';
import { formatTopologyDiff } from '../../src/topology/diff.js';
import { ErrorBody } from './api.js';
import { ReloadError, type Controller } from './controller.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

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

export function addTopologyRoutes(app: OpenAPIHono, controller: Controller): void {
  app.openapi(createRoute({
    method: 'get', path: '/api/v1/topology',
    responses: { 200: json(z.record(z.string(), z.unknown()), 'The resolved topology in force (every default filled in)') },
  }), (c) => c.json(controller.topology as unknown as Record<string, unknown>, 200));

  app.openapi(createRoute({
    method: 'put', path: '/api/v1/topology',
    request: {
      query: z.object({ dry_run: Flag.openapi({ description: 'Return the diff, change nothing' }), provision: Flag.openapi({ description: 'Provision added nodes and the ends of added links through OVSDB first' }) }),
      body: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ description: 'The topology document (topologies/schema.json)' }) } }, required: true },
    },
    responses: {
      200: json(ReloadView, 'Applied (or, with dry_run, what would change); the switches confirmed the flows (barrier) before this response'),
      400: json(ErrorBody, 'Invalid topology: every problem with its JSON path (and line:column in the message); nothing changed'),
      409: json(ErrorBody, 'A removed node still holds containers or a prepared migration, or a reload is in progress; nothing changed'),
      502: json(ErrorBody, 'Provisioning failed on some node; the topology was not changed'),
    },
  }), async (c) => {
    const query = c.req.valid('query');
    const on = (v: string | undefined) => v === '1' || v === 'true';
    const text = await c.req.text();
    const { topology, problems } = analyzeTopologyText(text);
    if (!topology) {
      return c.json({
        error: `invalid topology: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing changed`,
        problems: problems.map((p) => ({ path: p.path, message: p.at ? `${p.at.line}:${p.at.column}: ${p.message}` : p.message })),
      }, 400);
    }
    try {
      const r = await controller.reload(topology, { dryRun: on(query.dry_run), provision: on(query.provision) });
      return c.json({ ...r, changes: formatTopologyDiff(r.diff) }, 200);
    } catch (err) {
      if (!(err instanceof ReloadError)) throw err;
      return c.json({ error: err.message, problems: err.problems }, err.status);
    }
  });
}
