/**
 * The HTTP API (hono + @hono/zod-openapi): every request body and parameter is validated by a
 * zod schema, and the same schemas generate the OpenAPI 3.1 document. Events stream over a
 * WebSocket (`ws`); metrics in Prometheus text. Loopback by default; optional bearer token.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { getRequestListener } from '@hono/node-server';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { Controller } from './controller.js';
import type { Metrics } from './metrics.js';
import { LocationConflict } from '../core/locations.js';

export interface ApiOptions {
  host: string;
  port: number;
  token?: string;
  logger: Logger;
  metrics: Metrics;
  version: string;
  /** Runs before every route, after authentication (a cluster follower redirects writes here). */
  guard?: MiddlewareHandler;
}

/** A problem with a request, with the JSON path it concerns. */
export const Problem = z.object({ path: z.string(), message: z.string() }).openapi('Problem');
export const ErrorBody = z.object({ error: z.string(), problems: z.array(Problem).optional() }).openapi('Error');

const NodeName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');
const Mac = z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'a MAC address like 02:00:00:00:00:01')
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'a unicast MAC address (the group bit of the first octet is clear)');
const Ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'an IPv4 address like 10.0.0.1');

export const ContainerView = z.object({
  name: z.string(),
  mac: z.string(),
  ip: z.string().nullable(),
  node: z.string(),
  ofport: z.number().int(),
  port: z.string().nullable(),
  source: z.enum(['topology', 'api', 'learned', 'migration']),
  since: z.string().openapi({ description: 'ISO time of the last change' }),
}).openapi('Container');

export const ContainerPut = z.object({
  mac: Mac,
  ip: Ipv4.optional(),
  node: NodeName.openapi({ description: 'Topology node (switch or host) whose bridge the container is attached to' }),
  port: z.string().min(1).max(15).optional().openapi({ description: 'OVS port/interface name on that bridge' }),
  ofport: z.number().int().min(1).max(0xfeff).optional().openapi({ description: 'OpenFlow port number (instead of `port`)' }),
}).strict().refine((b) => b.port !== undefined || b.ofport !== undefined, { message: 'give the port name ("port") or number ("ofport")', path: ['port'] }).openapi('ContainerPut');

const PortView = z.object({ portNo: z.number().int(), name: z.string(), up: z.boolean() });
export const SwitchView = z.object({
  name: z.string().nullable(),
  dpid: z.string(),
  connected: z.boolean(),
  remote: z.string().nullable(),
  ports: z.array(PortView),
  flowCount: z.number().int(),
  fallback: z.boolean().openapi({ description: 'Not in the topology: served by the learning fallback' }),
}).openapi('Switch');

export const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptimeSeconds: z.number(),
  switches: z.object({ expected: z.number().int(), connected: z.number().int(), unknown: z.number().int() }),
  containers: z.number().int(),
}).openapi('Health');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'Invalid request: every problem with its JSON path'),
  401: json(ErrorBody, 'Missing or wrong bearer token'),
};

/** zod issues → problems with dotted JSON paths (`to.switch`, `links[3].host`). */
export function zodProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): { path: string; message: string }[] {
  return issues.map((i) => ({
    path: i.path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '') || '(body)',
    message: i.message,
  }));
}

/** JSON with bigint as hex strings and Buffers as hex: the API's form of OpenFlow values. */
export function apiJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `0x${v.toString(16)}`;
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    }
    return v;
  }));
}

export function containerView(l: import('../core/locations.js').Location): z.infer<typeof ContainerView> {
  return { name: l.name, mac: l.mac, ip: l.ip ?? null, node: l.node, ofport: l.ofport, port: l.port ?? null, source: l.source, since: new Date(l.since).toISOString() };
}

export type ApiApp = OpenAPIHono;

/** Builds the routes; extensions (migrations) add theirs through `app` before `listen`. */
export function buildApi(controller: Controller, options: ApiOptions): OpenAPIHono {
  const started = Date.now();
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) return c.json({ error: 'invalid request', problems: zodProblems(result.error.issues) }, 400);
      return undefined;
    },
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      // hono's own refusals (e.g. a body that is not JSON) keep their status.
      return c.json({ error: err.message || 'bad request' }, err.status);
    }
    options.logger.error({ err: err.stack, path: c.req.path }, 'API handler failed');
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });

  if (options.token) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.use('*', async (c, next) => {
      const got = Buffer.from(c.req.header('authorization') ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return c.json({ error: 'missing or wrong bearer token' }, 401);
      }
      return next();
    });
  }
  if (options.guard) app.use('*', options.guard);

  app.openapi(createRoute({ method: 'get', path: '/api/v1/health', responses: { 200: json(Health, 'Controller health'), 401: errors[401] } }), (c) => {
    const info = controller.switchInfo();
    const expected = info.filter((s) => !s.fallback);
    const connected = expected.filter((s) => s.connected).length;
    return c.json({
      status: connected === expected.length ? 'ok' as const : 'degraded' as const,
      version: options.version,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      switches: { expected: expected.length, connected, unknown: info.length - expected.length },
      containers: controller.locations.size,
    }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/v1/switches', responses: { 200: json(z.array(SwitchView), 'Every topology switch and every unknown one connected'), 401: errors[401] } }), (c) => c.json(controller.switchInfo(), 200));

  app.openapi(createRoute({
    method: 'get', path: '/api/v1/switches/{name}/flows',
    request: { params: z.object({ name: NodeName }) },
    responses: {
      200: json(z.array(z.record(z.string(), z.unknown())), 'Flows the switch holds now, read from it (flow-stats), in the OpenFlow JSON form; 64-bit values as hex strings'),
      404: json(ErrorBody, 'Unknown switch'), 409: json(ErrorBody, 'Switch not connected'), ...errors,
    },
  }), async (c) => {
    const { name } = c.req.valid('param');
    if (!controller.topology.nodes[name]) return c.json({ error: `unknown switch "${name}"` }, 404);
    const flows = await controller.installedFlows(name);
    if (!flows) return c.json({ error: `switch "${name}" is not connected` }, 409);
    return c.json(apiJson(flows) as Record<string, unknown>[], 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/api/v1/containers', responses: { 200: json(z.array(ContainerView), 'The location table'), 401: errors[401] } }),
    (c) => c.json(controller.locations.all().map(containerView), 200));

  app.openapi(createRoute({
    method: 'get', path: '/api/v1/containers/{name}', request: { params: z.object({ name: NodeName }) },
    responses: { 200: json(ContainerView, 'One container'), 404: json(ErrorBody, 'Unknown container'), ...errors },
  }), (c) => {
    const { name } = c.req.valid('param');
    const l = controller.locations.get(name);
    return l ? c.json(containerView(l), 200) : c.json({ error: `unknown container "${name}"` }, 404);
  });

  app.openapi(createRoute({
    method: 'put', path: '/api/v1/containers/{name}',
    request: { params: z.object({ name: NodeName }), body: { content: { 'application/json': { schema: ContainerPut } }, required: true } },
    responses: {
      200: json(ContainerView, 'Registered or moved; the switches were updated (barrier-confirmed) before this response'),
      404: json(ErrorBody, 'Unknown node or port'), 409: json(ErrorBody, 'MAC or IP owned by another container'), ...errors,
    },
  }), async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const node = controller.topology.nodes[body.node];
    if (!node) return c.json({ error: `unknown node "${body.node}"`, problems: [{ path: 'node', message: `unknown node "${body.node}"` }] }, 404);
    const ofport = body.ofport ?? resolvePort(controller, body.node, body.port!);
    if (ofport === undefined) return c.json({ error: `no port "${body.port}" on ${body.node}`, problems: [{ path: 'port', message: `no port "${body.port}" on ${body.node} (not reported by its switch, not planned in the topology)` }] }, 404);
    try {
      await controller.placeContainer({ name, mac: body.mac, ...(body.ip ? { ip: body.ip } : {}), node: body.node, ofport, ...(body.port ? { port: body.port } : {}) });
    } catch (err) {
      if (err instanceof LocationConflict) return c.json({ error: err.message }, 409);
      throw err;
    }
    return c.json(containerView(controller.locations.get(name)!), 200);
  });

  app.openapi(createRoute({
    method: 'delete', path: '/api/v1/containers/{name}', request: { params: z.object({ name: NodeName }) },
    responses: { 204: { description: 'Removed; its flows are gone from the switches' }, 404: json(ErrorBody, 'Unknown container'), ...errors },
  }), async (c) => {
    const { name } = c.req.valid('param');
    if (!(await controller.removeContainer(name))) return c.json({ error: `unknown container "${name}"` }, 404);
    return c.body(null, 204);
  });

  app.get('/metrics', async (c) => c.body(await options.metrics.text(), 200, { 'content-type': options.metrics.contentType }));

  return app;
}

/** Adds the OpenAPI document route; call after every route is registered. */
export function finishApi(app: OpenAPIHono, version: string): void {
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'vino-controller API', version, description: 'Container locations, switches, flows and live migrations of a ViNO overlay.' },
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
}

function resolvePort(controller: Controller, node: string, name: string): number | undefined {
  const session = controller.sessions.get(node);
  for (const p of session?.ports.values() ?? []) if (p.name === name) return p.portNo;
  return controller.topology.nodes[node]?.bridge.ports.find((p) => p.name === name)?.ofport;
}

/** Starts the HTTP server with the WebSocket event stream on /api/v1/events. */
export async function listenApi(app: OpenAPIHono, controller: Controller, options: ApiOptions): Promise<{ server: Server; address: { host: string; port: number }; close: () => Promise<void> }> {
  const server = createServer(getRequestListener(app.fetch));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const authorized = !options.token || req.headers.authorization === `Bearer ${options.token}` || url.searchParams.get('token') === options.token;
    if (url.pathname !== '/api/v1/events' || !authorized) {
      socket.end(`HTTP/1.1 ${authorized ? '404 Not Found' : '401 Unauthorized'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
      ws.send(JSON.stringify({ type: 'hello', time: new Date().toISOString(), switches: controller.switchInfo().length }));
    });
  });
  const onEvent = (event: Record<string, unknown>) => {
    const text = JSON.stringify({ ...event, time: new Date().toISOString() }, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
    for (const ws of clients) {
      // A client that does not read is dropped rather than buffered without bound.
      if (ws.bufferedAmount > 4 * 1024 * 1024) ws.terminate();
      else ws.send(text);
    }
  };
  controller.on('event', onEvent);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'EADDRINUSE' ? `API port ${options.host}:${options.port} is already in use` : `cannot listen on ${options.host}:${options.port}: ${err.message}`)));
    server.listen(options.port, options.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    server,
    address: { host: a.address, port: a.port },
    close: async () => {
      controller.off('event', onEvent);
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { Context };
