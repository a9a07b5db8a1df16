/**
 * The HTTP API (hono + @hono/zod-openapi): every request body and parameter is validated by a
 * zod schema, and the same schemas generate the OpenAPI 3.1 document. Events stream over a
 * WebSocket (`ws`); metrics in Prometheus text. Loopback by default; optional bearer token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createHash, timingSafeEqual } from 'node:crypto';
import { getRequestListener } from '@hono/node-server';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { Controller } from './controller.js';
import type { Metrics } from './metrics.js';
import { LocationConflict } from '../core/locations.js';
import { messageToJSON } from '../../src/openflow/json.js';
import { stringifyJson } from '../../src/json/index.js';
import type { FlowStats } from '../../src/openflow/types/index.js';
import { IFNAME_MAX, IFNAME_PATTERN, NAME_PATTERN } from '../../src/topology/schema.js';
import {
  PROBLEM_CONTENT_TYPE, humanIssues, problem, problemDoc, problemResponse, summarize, type ProblemDetailsValue, type ProblemItemValue, type ProblemKind,
} from './problem.js';
import { isDashboardPath, mountDashboard } from './dashboard.js';
import { addTopologyReloadRoute, addTopologyRoutes } from './topology-api.js';
import { EVENTS_PROTOCOL, tokenFromProtocols } from './ws-auth.js';

export interface ApiOptions {
  host: string;
  port: number;
  token?: string;
  logger: Logger;
  metrics: Metrics;
  version: string;
  /** Largest request body accepted, bytes (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Runs before every route, after authentication (a cluster follower redirects writes here). */
  guard?: MiddlewareHandler;
}

/** Request bodies are small JSON objects: a MiB is generous and bounds what a client can make us hold. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Clients never need to send more than a ping over the event stream. */
export const WS_MAX_PAYLOAD_BYTES = 4 * 1024;

const NodeName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');
/** A topology node name, by the topology file's naming rules. */
export const TopologyNodeName = z.string().regex(new RegExp(NAME_PATTERN), 'a topology node name: a letter, then letters, digits, "_" or "-"; at most 32 characters');
/** An OVS port name by the topology's rules (Linux interface names): no "/", no leading "." or "-". */
export const PortName = z.string().min(1).max(IFNAME_MAX).regex(new RegExp(IFNAME_PATTERN),
  `a port name such as "veth-web": a letter, digit or "_", then letters, digits, "_", "." or "-"; at most ${IFNAME_MAX} characters`)
  .openapi({ description: 'OVS port/interface name on that bridge (Linux interface naming rules)', example: 'veth-web' });
/** An OpenFlow port number of a physical/virtual port (OFPP_MAX is 0xffffff00; OVS stays below 0xff00). */
export const OfPortNumber = z.number().int().min(1).max(0xfeff).openapi({ description: 'OpenFlow port number (instead of `port`)' });
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
  port: PortName.optional(),
  ofport: OfPortNumber.optional(),
}).strict().refine((b) => b.port !== undefined || b.ofport !== undefined, { message: 'required: give the port name ("port", e.g. "veth-web") or number ("ofport")', path: ['port'] }).openapi('ContainerPut');

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
/** Problems every route can answer with. */
export const commonErrors = {
  400: problemDoc('Invalid request: every problem with its JSON Pointer in `errors`'),
  401: problemDoc('Missing or wrong bearer token (with `WWW-Authenticate`)'),
  413: problemDoc('Request body larger than the limit'),
  415: problemDoc('Request body is not JSON'),
};
const errors = commonErrors;

/** A problem response for this request. */
export function problemFor(c: Context, kind: ProblemKind, status: number, detail: string, errors?: ProblemItemValue[], members: Record<string, unknown> = {}): Response {
  return problemResponse(problem(kind, status, detail, { instance: c.req.path, ...(errors ? { errors } : {}), ...members }));
}

/**
 * Ends a route handler with a problem. Thrown (and sent by onError) rather than returned:
 * the typed routes accept only the responses they declare as JSON, and problems are not JSON.
 */
export function fail(c: Context, kind: ProblemKind, status: number, detail: string, errors?: ProblemItemValue[], members: Record<string, unknown> = {}): never {
  throw new HTTPException(status as 400, { res: problemFor(c, kind, status, detail, errors, members) });
}

/**
 * Flow-stats entries in the JSON form of `vino-ofp decode` (src/openflow/json.ts): the same
 * encoder, so the API and the tool print a flow the same way; 64-bit values as exact integers.
 */
export function flowsJsonText(flows: FlowStats[]): string {
  const reply = messageToJSON({ type: 'MULTIPART_REPLY', xid: 0, flags: 0, body: { kind: 'FLOW', flows } }) as { body: { flows: import('../../src/openflow/json.js').JsonValue } };
  return stringifyJson(reply.body.flows);
}

export function containerView(l: import('../core/locations.js').Location): z.infer<typeof ContainerView> {
  return { name: l.name, mac: l.mac, ip: l.ip ?? null, node: l.node, ofport: l.ofport, port: l.port ?? null, source: l.source, since: new Date(l.since).toISOString() };
}

export type ApiApp = OpenAPIHono;

/** Builds the routes; extensions (migrations) add theirs through `app` before `listen`. */
export function buildApi(controller: Controller, options: ApiOptions): OpenAPIHono {
  const started = Date.now();
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const items = humanIssues(result.error.issues, (result as { data?: unknown }).data);
      return problemFor(c, 'invalid-request', 400, summarize(items), items);
    },
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      if (err.res) return err.getResponse(); // a problem from fail()
      // hono's own refusals: a body that is not JSON is the only one it raises for our routes.
      if (err.status === 400 && /json/i.test(err.message)) return problemFor(c, 'malformed-json', 400, 'the request body is not valid JSON');
      return problemFor(c, err.status === 400 ? 'invalid-request' : 'internal', err.status, err.message || 'request refused');
    }
    options.logger.error({ err: err.stack, path: c.req.path }, 'API handler failed');
    return problemFor(c, 'internal', 500, `internal error: ${err.message}`);
  });

  // The page loads without a token: it asks for one when the API answers 401.
  mountDashboard(app);

  if (options.token) {
    const token = options.token;
    app.use('*', async (c, next) => {
      if (c.req.method === 'GET' && isDashboardPath(c.req.path)) return next();
      const verdict = checkBearer(c.req.header('authorization'), token);
      if (verdict !== 'ok') return unauthorized(c.req.path, verdict);
      return next();
    });
  }
  if (options.guard) app.use('*', options.guard);

  // Only JSON is read; anything else is refused before it is parsed.
  app.use('*', async (c, next) => {
    const hasBody = c.req.header('transfer-encoding') !== undefined || Number(c.req.header('content-length') ?? 0) > 0;
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (hasBody && !['GET', 'HEAD'].includes(c.req.method) && !/^application\/([\w.-]+\+)?json$/.test(type)) {
      return problemFor(c, 'unsupported-media-type', 415, `the request body must be JSON (Content-Type: application/json), got ${type ? `"${type}"` : 'no Content-Type'}`);
    }
    return next();
  });

  // Streamed (chunked) bodies are counted as they arrive; declared lengths were checked before hono (listenApi).
  app.use('*', bodyLimit({ maxSize: maxBody, onError: (c) => tooLarge(c.req.path, maxBody) }));

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
      200: json(z.array(z.record(z.string(), z.unknown())), 'Flows the switch holds now, read from it (flow-stats), in the JSON form of `vino-ofp decode` (src/openflow/JSON.md): ports, ethertypes and counters as integers, 64-bit values exact (read them with a lossless JSON parser)'),
      404: problemDoc('Unknown switch'), 409: problemDoc('Switch not connected'), ...errors,
    },
  }), async (c) => {
    const { name } = c.req.valid('param');
    if (!controller.topology.nodes[name]) return fail(c, 'not-found', 404, `unknown switch "${name}"`);
    const flows = await controller.installedFlows(name);
    if (!flows) return fail(c, 'conflict', 409, `switch "${name}" is not connected`);
    // Written by the lossless encoder, not c.json (64-bit values exact): the route's typing knows only c.json.
    return c.body(flowsJsonText(flows), 200, { 'content-type': 'application/json' }) as never;
  });

  app.openapi(createRoute({ method: 'get', path: '/api/v1/containers', responses: { 200: json(z.array(ContainerView), 'The location table'), 401: errors[401] } }),
    (c) => c.json(controller.locations.all().map(containerView), 200));

  app.openapi(createRoute({
    method: 'get', path: '/api/v1/containers/{name}', request: { params: z.object({ name: NodeName }) },
    responses: { 200: json(ContainerView, 'One container'), 404: problemDoc('Unknown container'), ...errors },
  }), (c) => {
    const { name } = c.req.valid('param');
    const l = controller.locations.get(name);
    return l ? c.json(containerView(l), 200) : fail(c, 'not-found', 404, `unknown container "${name}"`);
  });

  app.openapi(createRoute({
    method: 'put', path: '/api/v1/containers/{name}',
    request: { params: z.object({ name: NodeName }), body: { content: { 'application/json': { schema: ContainerPut } }, required: true } },
    responses: {
      200: json(ContainerView, 'Registered or moved; the switches were updated (barrier-confirmed) before this response'),
      404: problemDoc('Unknown node or port'), 409: problemDoc('MAC or IP owned by another container'), ...errors,
    },
  }), async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const node = controller.topology.nodes[body.node];
    if (!node) return fail(c, 'not-found', 404, `unknown node "${body.node}"`, [{ path: '/node', message: `unknown node "${body.node}" (not in the topology)` }]);
    const ofport = body.ofport ?? resolvePort(controller, body.node, body.port!);
    if (ofport === undefined) {
      const message = `no port "${body.port}" on ${body.node} (not reported by its switch, not planned in the topology)`;
      return fail(c, 'not-found', 404, message, [{ path: '/port', message }]);
    }
    try {
      await controller.placeContainer({ name, mac: body.mac, ...(body.ip ? { ip: body.ip } : {}), node: body.node, ofport, ...(body.port ? { port: body.port } : {}) });
    } catch (err) {
      if (err instanceof LocationConflict) return fail(c, 'conflict', 409, err.message);
      throw err;
    }
    return c.json(containerView(controller.locations.get(name)!), 200);
  });

  app.openapi(createRoute({
    method: 'delete', path: '/api/v1/containers/{name}', request: { params: z.object({ name: NodeName }) },
    responses: { 204: { description: 'Removed; its flows are gone from the switches' }, 404: problemDoc('Unknown container'), ...errors },
  }), async (c) => {
    const { name } = c.req.valid('param');
    if (!(await controller.removeContainer(name))) return fail(c, 'not-found', 404, `unknown container "${name}"`);
    return c.body(null, 204);
  });

  addTopologyRoutes(app, controller);
  addTopologyReloadRoute(app, controller);

  app.get('/metrics', async (c) => c.body(await options.metrics.text(), 200, { 'content-type': options.metrics.contentType }));

  return app;
}

/** Adds the OpenAPI document route; call after every route is registered. */
export function finishApi(app: OpenAPIHono, version: string): void {
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'vino-controller API', version, description: 'Container locations, switches, flows and live migrations of a ViNO overlay.' },
  });
  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return problemResponse(problem('method-not-allowed', 405, `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allowed.join(', ')}`, { instance: c.req.path }), { allow: allowed.join(', ') });
    }
    return problemFor(c, 'not-found', 404, `no route ${c.req.method} ${c.req.path}`);
  });
}

/** Methods registered for a concrete path (hono answers 404 for a known path with the wrong method). */
function allowedMethods(app: OpenAPIHono, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue;
    const pattern = new RegExp(`^${r.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
    if (pattern.test(path)) methods.add(r.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

export type BearerVerdict = 'ok' | 'missing' | 'malformed' | 'wrong';

/** RFC 7235/6750: the scheme name is case-insensitive; the token is compared in constant time. */
export function checkBearer(header: string | undefined, token: string): BearerVerdict {
  if (header === undefined || header.trim() === '') return 'missing';
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return 'malformed';
  // Digests have equal lengths: the comparison time says nothing about the token's length.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token)) ? 'ok' : 'wrong';
}

function wwwAuthenticate(verdict: BearerVerdict): string {
  if (verdict === 'wrong') return 'Bearer realm="vino", error="invalid_token"';
  if (verdict === 'malformed') return 'Bearer realm="vino", error="invalid_request"';
  return 'Bearer realm="vino"';
}

function unauthorized(instance: string, verdict: BearerVerdict): Response {
  const detail = verdict === 'wrong' ? 'the bearer token is wrong'
    : verdict === 'malformed' ? 'the Authorization header must be "Bearer <token>"'
    : 'this API needs "Authorization: Bearer <token>"';
  return problemResponse(problem('unauthorized', 401, detail, { instance }), { 'www-authenticate': wwwAuthenticate(verdict) });
}

function tooLargeProblem(instance: string, limit: number): ProblemDetailsValue {
  return problem('payload-too-large', 413, `the request body is larger than the limit of ${limit} bytes (--api-max-body)`, { instance, limit });
}

function tooLarge(instance: string, limit: number): Response {
  // Closing the connection: the rest of the body is never read.
  return problemResponse(tooLargeProblem(instance, limit), { connection: 'close' });
}

/** A problem written straight to node's response (before hono: oversized bodies, WebSocket refusals). */
function writeProblem(res: ServerResponse, body: ProblemDetailsValue, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(body.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function resolvePort(controller: Controller, node: string, name: string): number | undefined {
  const session = controller.sessions.get(node);
  for (const p of session?.ports.values() ?? []) if (p.name === name) return p.portNo;
  return controller.topology.nodes[node]?.bridge.ports.find((p) => p.name === name)?.ofport;
}


/** Starts the HTTP server with the WebSocket event stream on /api/v1/events. */
export async function listenApi(app: OpenAPIHono, controller: Controller, options: ApiOptions): Promise<{ server: Server; address: { host: string; port: number }; close: () => Promise<void> }> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const honoListener = getRequestListener(app.fetch);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // A declared length over the limit is refused before a byte of the body is read.
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      writeProblem(res, tooLargeProblem(path, maxBody), { connection: 'close' });
      return;
    }
    void honoListener(req, res);
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  // Browsers cannot set headers on a WebSocket: they offer the token as a subprotocol (ws-auth.ts).
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD_BYTES, handleProtocols: (offered) => (offered.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false) });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const fromProtocol = tokenFromProtocols(req.headers['sec-websocket-protocol']);
    // Never from the URL: URLs end up in logs and browser history.
    const verdict: BearerVerdict = !options.token ? 'ok'
      : req.headers.authorization !== undefined ? checkBearer(req.headers.authorization, options.token)
      : fromProtocol !== undefined ? checkBearer(`Bearer ${fromProtocol}`, options.token)
      : 'missing';
    if (url.pathname !== '/api/v1/events' || verdict !== 'ok') {
      const body = verdict !== 'ok'
        ? problem('unauthorized', 401, verdict === 'wrong' ? 'the bearer token is wrong' : 'the event stream needs "Authorization: Bearer <token>" or the vino.bearer.<token> subprotocol (tokens in URLs are not accepted)', { instance: url.pathname })
        : problem('not-found', 404, `no WebSocket endpoint at ${url.pathname} (the event stream is /api/v1/events)`, { instance: url.pathname });
      const text = JSON.stringify(body);
      const auth = verdict !== 'ok' ? `WWW-Authenticate: ${wwwAuthenticate(verdict)}\r\n` : '';
      socket.end(`HTTP/1.1 ${body.status} ${body.status === 401 ? 'Unauthorized' : 'Not Found'}\r\nConnection: close\r\n${auth}Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
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
      // In-flight requests get a moment to finish; then their connections are cut, so a client
      // that keeps one open cannot hold the shutdown.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(cut);
    },
  };
}

export type { Context };
