/** The migration endpoints (the orchestrator's contract): POST/GET /api/v1/migrations[...]. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ErrorBody } from '../shell/api.js';
import type { Controller } from '../shell/controller.js';
import type { Metrics } from '../shell/metrics.js';
import { MigrationError, MigrationManager, type MigrationOptions } from './manager.js';

const Endpoint = z.object({ node: z.string(), ofport: z.number().int().nullable(), port: z.string().nullable() });
export const MigrationView = z.object({
  id: z.string(),
  container: z.string(),
  mac: z.string(),
  from: Endpoint,
  to: Endpoint,
  state: z.enum(['prepared', 'committing', 'committed', 'aborted', 'failed']),
  createdAt: z.string(),
  flipLatencyMs: z.number().nullable().openapi({ description: 'Commit (or first frame) to the last barrier reply of the flip' }),
  committedBy: z.enum(['api', 'first-frame']).nullable(),
  error: z.string().nullable(),
  timeline: z.array(z.object({ event: z.string(), at: z.string(), t: z.number(), detail: z.string().optional() })),
  freeze: z.object({
    by: z.enum(['api', 'old-port-down', 'old-port-gone']),
    lastAtOld: z.string().openapi({ description: 'The freeze: the last moment the old location took frames' }),
    firstAtNew: z.string().nullable().openapi({ description: 'First frame delivered at the new port (replayed or direct)' }),
    refractoryMs: z.number().nullable().openapi({ description: 'Data plane downtime: lastAtOld to firstAtNew' }),
    held: z.number().int(), heldBytes: z.number().int(), replayed: z.number().int(),
    dropped: z.number().int().openapi({ description: 'Frames beyond the hold caps, or discarded by an abort' }),
    afterRelease: z.number().int().optional().openapi({ description: 'Frames the hold flow sent after the barrier reply of its removal (datapath cache not yet revalidated); sent on at once' }),
  }).nullable().openapi({ description: 'Set by the freeze step; null before it' }),
}).openapi('Migration');

export const MigrationRequest = z.object({
  container: z.string().min(1).openapi({ description: 'Container name (location table)' }),
  to: z.object({
    switch: z.string().min(1).openapi({ description: 'Topology node whose bridge the container moves to' }),
    port: z.string().min(1).max(15).openapi({ description: 'OVS port/interface name it will have there' }),
  }).strict(),
}).strict().openapi('MigrationRequest');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const IdParam = z.object({ id: z.string().min(1) });

function view(m: import('./manager.js').Migration): z.infer<typeof MigrationView> {
  return { ...m, from: { ...m.from }, to: { node: m.to.node, ofport: m.to.ofport, port: m.to.port }, freeze: m.freeze ? { ...m.freeze } : null };
}

/** Returns the `extend` hook of startApp that adds the migration routes. */
export function extendWithMigrations(options: Partial<MigrationOptions> = {}) {
  return (app: OpenAPIHono, controller: Controller, metrics: Metrics): MigrationManager => {
    const manager = new MigrationManager(controller, options, metrics);
    const fail = (err: unknown) => {
      if (!(err instanceof MigrationError)) throw err;
      return { status: err.status, body: { error: err.message, ...(err.path ? { problems: [{ path: err.path, message: err.message }] } : {}) } };
    };
    const errors = {
      400: json(ErrorBody, 'Invalid body: every problem with its JSON path'),
      404: json(ErrorBody, 'Unknown container, switch or migration'),
      409: json(ErrorBody, 'A migration of that container is in progress, it is already there, or the migration is not prepared'),
    };

    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations',
      request: { body: { content: { 'application/json': { schema: MigrationRequest } }, required: true } },
      responses: { 201: json(MigrationView, 'Prepared: bicast flows confirmed by every connected switch'), ...errors, 503: json(ErrorBody, 'A switch refused the flows') },
    }), async (c) => {
      const body = c.req.valid('json');
      try {
        return c.json(view(await manager.prepare(body.container, { node: body.to.switch, port: body.to.port })), 201);
      } catch (err) {
        const f = fail(err);
        return c.json(f.body, f.status as 404);
      }
    });

    app.openapi(createRoute({ method: 'get', path: '/api/v1/migrations', responses: { 200: json(z.array(MigrationView), 'Migrations, oldest first') } }),
      (c) => c.json(manager.list().map(view), 200));

    app.openapi(createRoute({
      method: 'get', path: '/api/v1/migrations/{id}', request: { params: IdParam },
      responses: { 200: json(MigrationView, 'State and timeline'), 404: errors[404] },
    }), (c) => {
      const m = manager.get(c.req.valid('param').id);
      return m ? c.json(view(m), 200) : c.json({ error: `unknown migration "${c.req.valid('param').id}"` }, 404);
    });

    for (const action of ['commit', 'abort'] as const) {
      app.openapi(createRoute({
        method: 'post', path: `/api/v1/migrations/{id}/${action}`, request: { params: IdParam },
        responses: {
          200: json(MigrationView, action === 'commit' ? 'Flipped: every switch confirmed, downstream first; carries flipLatencyMs' : 'Back to the old location'),
          404: errors[404], 409: errors[409],
        },
      }), async (c) => {
        const { id } = c.req.valid('param');
        try {
          const m = action === 'commit' ? await manager.commit(id) : await manager.abort(id);
          return c.json(view(m), 200);
        } catch (err) {
          const f = fail(err);
          return c.json(f.body, f.status as 404);
        }
      });
    }
    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations/{id}/freeze', request: { params: IdParam },
      description: 'The old host takes no more frames into the container (its checkpoint captured the sockets, or its link is cut). '
        + 'Until the new port exists, frames that reach the new edge for the container are held by the controller in arrival order; '
        + 'when the port appears they are replayed there, in order, before new traffic. Call it once the old side is frozen, before commit; '
        + 'the old port going down or away freezes implicitly. Idempotent.',
      responses: {
        200: json(MigrationView, 'Frozen: the hold flow is barrier-confirmed at the new edge (or the new port already exists: nothing to hold)'),
        404: errors[404], 409: errors[409],
      },
    }), async (c) => {
      try {
        return c.json(view(await manager.freeze(c.req.valid('param').id)), 200);
      } catch (err) {
        const f = fail(err);
        return c.json(f.body, f.status as 404);
      }
    });
    return manager;
  };
}
