/** The migration endpoints (the orchestrator's contract): POST/GET /api/v1/migrations[...]. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { OfPortNumber, PortName, TopologyNodeName, commonErrors, fail } from '../shell/api.js';
import { problemDoc } from '../shell/problem.js';
import type { Controller } from '../shell/controller.js';
import type { Metrics } from '../shell/metrics.js';
import { MigrationError, MigrationManager, type CommitOutcome, type Migration, type MigrationOptions } from './manager.js';

const Endpoint = z.object({ node: z.string(), ofport: z.number().int().nullable(), port: z.string().nullable() });
const PortStatusView = z.object({
  name: z.string().nullable().openapi({ description: 'Port name (null: asked for by number, not reported by the switch yet)' }),
  exists: z.boolean().openapi({ description: 'Whether the destination switch reports the port now' }),
  ofport: z.number().int().optional(),
}).openapi('MigrationPort');
const CommitView = z.object({
  outcome: z.enum(['flipped', 'already-committed', 'joined-running-flip']).openapi({ description: 'flipped: this request flipped the switches; already-committed: it was committed before; joined-running-flip: the first frame had started the flip and this request waited for it' }),
  committedBy: z.enum(['api', 'first-frame']).nullable(),
  flipLatencyMs: z.number().nullable(),
}).openapi('CommitOutcome');

export const MigrationView = z.object({
  id: z.string(),
  container: z.string(),
  mac: z.string(),
  from: Endpoint,
  to: Endpoint,
  port: PortStatusView,
  state: z.enum(['prepared', 'committing', 'committed', 'aborted', 'failed']),
  createdAt: z.string(),
  flipLatencyMs: z.number().nullable().openapi({ description: 'Commit (or first frame) to the last barrier reply of the flip' }),
  committedBy: z.enum(['api', 'first-frame']).nullable(),
  error: z.string().nullable(),
  timeline: z.array(z.object({ event: z.string(), at: z.string(), t: z.number(), detail: z.string().optional() })),
  commit: CommitView.optional().openapi({ description: 'Only in the answer to POST .../commit' }),
  freeze: z.object({
    by: z.enum(['api', 'old-port-down', 'old-port-gone']),
    lastAtOld: z.string().openapi({ description: 'The freeze: the last moment the old location took frames' }),
    firstAtNew: z.string().nullable().openapi({ description: 'First frame delivered at the new port (replayed or direct)' }),
    refractoryMs: z.number().nullable().openapi({ description: 'Data plane downtime: lastAtOld to firstAtNew' }),
    held: z.number().int(), heldBytes: z.number().int(), replayed: z.number().int(),
    dropped: z.number().int().openapi({ description: 'Frames beyond the hold caps, or discarded by an abort' }),
    afterRelease: z.number().int().optional().openapi({ description: 'Frames the hold flow sent after the barrier reply of its removal (datapath cache not yet revalidated); sent on at once' }),
    behindRelease: z.number().int().optional().openapi({ description: 'Frames the hold flow sent once its removal was under way, sent on behind it: the only ones that may arrive out of order (includes afterRelease)' }),
    passed: z.number().int().optional().openapi({ description: 'Frames of a conversation with nothing held (a new connection) sent on during the replay, not behind the backlog' }),
  }).nullable().openapi({ description: 'Set by the freeze step; null before it' }),
}).openapi('Migration');

export const MigrationRequest = z.object({
  container: z.string().min(1).openapi({ description: 'Container name (location table)' }),
  to: z.object({
    switch: TopologyNodeName.openapi({ description: 'Topology node whose bridge the container moves to' }),
    port: PortName.optional().openapi({ description: 'OVS port/interface name it will have there (it need not exist yet)' }),
    ofport: OfPortNumber.optional(),
  }).strict().refine((t) => t.port !== undefined || t.ofport !== undefined, { message: 'required: a port name such as "veth-web" (or "ofport", its OpenFlow port number)', path: ['port'] }),
}).strict().openapi('MigrationRequest');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const IdParam = z.object({ id: z.string().min(1) });

/** Returns the `extend` hook of startApp that adds the migration routes. */
export function extendWithMigrations(options: Partial<MigrationOptions> = {}) {
  return (app: OpenAPIHono, controller: Controller, metrics: Metrics): MigrationManager => {
    const manager = new MigrationManager(controller, options, metrics);
    const view = (m: Migration, outcome?: CommitOutcome): z.infer<typeof MigrationView> => ({
      ...m, from: { ...m.from }, to: { node: m.to.node, ofport: m.to.ofport, port: m.to.port }, port: manager.portStatus(m),
      freeze: m.freeze ? { ...m.freeze } : null,
      ...(outcome ? { commit: { outcome, committedBy: m.committedBy, flipLatencyMs: m.flipLatencyMs } } : {}),
    });
    const refuse = (c: Context, err: unknown): never => {
      if (!(err instanceof MigrationError)) throw err;
      const kind = err.status === 400 ? 'invalid-request' : err.status === 404 ? 'not-found' : err.status === 503 ? 'switch-refused' : 'conflict';
      return fail(c, kind, err.status, err.message, err.path ? [{ path: err.path, message: err.message }] : undefined,
        err.migration ? { migration: view(err.migration) } : {});
    };
    const errors = {
      ...commonErrors,
      404: problemDoc('Unknown container, switch or migration'),
      409: problemDoc('A migration of that container is in progress or it is already there; commit of an aborted or failed migration, or before its port exists; abort of one that is not prepared'),
    };

    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations',
      request: { body: { content: { 'application/json': { schema: MigrationRequest } }, required: true } },
      responses: { 201: json(MigrationView, 'Prepared: bicast flows confirmed by every connected switch; `port.exists` says whether the destination port is there yet'), ...errors, 503: problemDoc('A switch refused the flows') },
    }), async (c) => {
      const body = c.req.valid('json');
      try {
        const to = { node: body.to.switch, ...(body.to.port !== undefined ? { port: body.to.port } : {}), ...(body.to.ofport !== undefined ? { ofport: body.to.ofport } : {}) };
        return c.json(view(await manager.prepare(body.container, to)), 201);
      } catch (err) {
        return refuse(c, err);
      }
    });

    app.openapi(createRoute({ method: 'get', path: '/api/v1/migrations', responses: { 200: json(z.array(MigrationView), 'Migrations, oldest first'), 401: commonErrors[401] } }),
      (c) => c.json(manager.list().map((m) => view(m)), 200));

    app.openapi(createRoute({
      method: 'get', path: '/api/v1/migrations/{id}', request: { params: IdParam },
      responses: { 200: json(MigrationView, 'State and timeline'), 404: errors[404], 401: commonErrors[401] },
    }), (c) => {
      const m = manager.get(c.req.valid('param').id);
      return m ? c.json(view(m), 200) : fail(c, 'not-found', 404, `unknown migration "${c.req.valid('param').id}"`);
    });

    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations/{id}/commit', request: { params: IdParam },
      responses: {
        200: json(MigrationView, 'Committed: every switch confirmed the flip, downstream first. Idempotent: `commit.outcome` says whether this request flipped, found it committed already, or waited for the flip the first frame started'),
        404: errors[404], 409: errors[409], 401: commonErrors[401], 503: problemDoc('A switch refused the flip (the migration is failed; the switches are re-read and reconciled)'),
      },
    }), async (c) => {
      try {
        const { migration, outcome } = await manager.commitRequest(c.req.valid('param').id);
        if (migration.state === 'failed') return fail(c, 'switch-refused', 503, migration.error ?? 'the flip failed', undefined, { migration: view(migration, outcome) });
        return c.json(view(migration, outcome), 200);
      } catch (err) {
        return refuse(c, err);
      }
    });

    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations/{id}/abort', request: { params: IdParam },
      responses: { 200: json(MigrationView, 'Back to the old location'), 404: errors[404], 409: errors[409], 401: commonErrors[401] },
    }), async (c) => {
      try {
        return c.json(view(await manager.abort(c.req.valid('param').id)), 200);
      } catch (err) {
        return refuse(c, err);
      }
    });

    app.openapi(createRoute({
      method: 'post', path: '/api/v1/migrations/{id}/freeze', request: { params: IdParam },
      description: 'The old host takes no more frames into the container (its checkpoint captured the sockets, or its link is cut). '
        + 'Until the new port exists, frames that reach the new edge for the container are held by the controller in arrival order; '
        + 'when the port appears they are replayed there, in order, before new traffic. Call it once the old side is frozen, before commit; '
        + 'the old port going down or away freezes implicitly. Idempotent.',
      responses: {
        200: json(MigrationView, 'Frozen: the hold flow is barrier-confirmed at the new edge (or the new port already exists: nothing to hold)'),
        404: errors[404], 409: errors[409], 401: commonErrors[401],
      },
    }), async (c) => {
      try {
        return c.json(view(await manager.freeze(c.req.valid('param').id)), 200);
      } catch (err) {
        return refuse(c, err);
      }
    });
    return manager;
  };
}
