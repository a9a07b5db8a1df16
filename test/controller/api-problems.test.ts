/**
 * The API's refusals: one RFC 9457 shape for every error of every route, body limits enforced
 * before the body is read, bearer auth by RFC 7235/6750.
 */
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { makeWorld } from './world.js';
import { checkBearer } from '../../controller/shell/api.js';
import { humanIssues } from '../../controller/shell/problem.js';
import { parseSize } from '../../controller/commands/run.js';

interface Problem { type: string; title: string; status: number; detail: string; instance?: string; errors?: { path: string; message: string }[] }

async function problemOf(t: Test, res: Response, status: number, what: string): Promise<Problem> {
  t.equal(res.status, status, `${what}: status ${status}`);
  t.equal(res.headers.get('content-type'), 'application/problem+json', `${what}: problem+json`);
  const body = await res.json() as Problem;
  t.match(body, { type: String, title: String, status, detail: String }, `${what}: RFC 9457 members`);
  t.notMatch(body.detail, /Invalid input|expected string, received/, `${what}: no raw zod text`);
  return body;
}

/** Raw HTTP over TCP: what the server answers, and whether it closed the connection. */
function rawRequest(port: number, head: string, body: (write: (b: Buffer) => boolean) => Promise<void>): Promise<{ response: string; bytesSent: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let response = '';
    let bytesSent = 0;
    let closed = false;
    let answered = false;
    let gaveUp = false;
    socket.on('data', (d) => {
      response += d.toString('latin1');
      answered = true;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = !gaveUp;
      resolve({ response, bytesSent, closed });
    });
    socket.on('connect', () => {
      socket.write(head);
      void body((b) => {
        if (answered || closed) return false;
        bytesSent += b.length;
        socket.write(b);
        return true;
      }).catch(reject);
    });
    // Stop waiting for a server that keeps the connection open (the assertion on `closed` fails then).
    setTimeout(() => {
      gaveUp = true;
      socket.destroy();
    }, 10_000).unref();
  });
}

t.test('every error is a problem+json with human wording and JSON Pointers', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const req = (path: string, init?: RequestInit) => fetch(`${w.apiUrl}${path}`, init);
  const put = (body: string, type = 'application/json') => req('/api/v1/containers/x1', { method: 'PUT', headers: { 'content-type': type }, body });

  const missing = await problemOf(t, await req('/api/v1/migrations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ container: 'c1', to: { switch: 'h2' } }) }), 400, 'missing to.port');
  t.same(missing.errors?.map((e) => e.path), ['/to/port']);
  t.match(missing.errors?.[0]?.message, /^required: a port name such as "veth-web"/);
  t.match(missing.detail, /^to\.port: required/, 'detail names the dotted path');

  const wrongType = await problemOf(t, await put(JSON.stringify({ mac: 5, node: 'h1', ofport: 3, extra: 1 })), 400, 'wrong type and unknown key');
  t.same(wrongType.errors?.map((e) => e.path).sort(), ['/extra', '/mac']);
  t.match(wrongType.errors?.find((e) => e.path === '/mac')?.message, /^expected a unicast MAC address .*, got number 5$/);
  t.equal(wrongType.errors?.find((e) => e.path === '/extra')?.message, 'unknown field "extra"');
  t.equal(wrongType.instance, '/api/v1/containers/x1');

  await problemOf(t, await put('{"mac": '), 400, 'malformed JSON').then((p) => t.match(p.type, /malformed-json$/));
  await problemOf(t, await put('mac=1', 'text/plain'), 415, 'text/plain body');
  await problemOf(t, await req('/api/v1/nowhere'), 404, 'unknown route');
  const notAllowed = await req('/api/v1/health', { method: 'DELETE' });
  await problemOf(t, notAllowed, 405, 'wrong method');
  t.match(notAllowed.headers.get('allow'), /GET/);
  await problemOf(t, await req('/api/v1/containers/nobody'), 404, 'unknown container');
  await problemOf(t, await put(JSON.stringify({ mac: '02:00:00:00:00:02', node: 'h1', ofport: 5 })), 409, 'MAC of another container');
  await problemOf(t, await req('/api/v1/migrations/nope/commit', { method: 'POST' }), 404, 'unknown migration');
  await problemOf(t, await req('/api/v1/migrations/nope/commit', { method: 'GET' }), 405, 'GET on a POST route');

  // A handler that throws: 500 in the same shape, the message kept for the operator.
  const original = w.app.controller.installedFlows.bind(w.app.controller);
  w.app.controller.installedFlows = async () => { throw new Error('disk on fire'); };
  const internal = await problemOf(t, await req('/api/v1/switches/sw1/flows'), 500, 'internal error');
  t.match(internal.detail, /disk on fire/);
  w.app.controller.installedFlows = original;

  const doc = await (await req('/api/v1/openapi.json')).json() as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> }; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };
  t.ok(doc.components.schemas['ProblemDetails']?.properties?.['errors'], 'OpenAPI declares ProblemDetails');
  const prepare400 = doc.paths['/api/v1/migrations']?.['post']?.responses['400'];
  t.ok(prepare400?.content?.['application/problem+json'], 'routes declare problem+json errors');
});

t.test('body limit: a declared 10 MB body is refused before it is read, chunked bodies at the limit', async (t) => {
  const w = await makeWorld('line-3.json', { apiMaxBodyBytes: 64 * 1024 });
  t.teardown(() => w.close());
  const port = Number(new URL(w.apiUrl).port);
  const chunk = Buffer.alloc(16 * 1024, 0x20);

  const declared = await rawRequest(port,
    'PUT /api/v1/containers/x1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n',
    async (write) => {
      // Send the body slowly: the refusal must not wait for it.
      for (let i = 0; i < 640; i++) {
        if (!write(chunk)) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  t.match(declared.response, /^HTTP\/1\.1 413 /, '413');
  t.match(declared.response, /application\/problem\+json/);
  t.match(declared.response, /limit of 65536 bytes/, 'names the limit');
  t.ok(declared.closed, 'connection closed');
  t.ok(declared.bytesSent < 10 * 1024 * 1024, `refused after ${declared.bytesSent} of 10485760 bytes`);

  const chunked = await rawRequest(port,
    'PUT /api/v1/containers/x1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    async (write) => {
      for (let i = 0; i < 640; i++) {
        if (!write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]))) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  t.match(chunked.response, /^HTTP\/1\.1 413 /, 'chunked: 413');
  t.match(chunked.response, /limit of 65536 bytes/);
  t.ok(chunked.closed, 'chunked: connection closed');
  t.ok(chunked.bytesSent < 10 * 1024 * 1024, `chunked: refused after ${chunked.bytesSent} bytes`);

  // Under the limit still works.
  const ok = await fetch(`${w.apiUrl}/api/v1/containers/x1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:00:77', node: 'h1', ofport: 40 }) });
  t.equal(ok.status, 200);
});

t.test('WebSocket frames from clients are bounded', async (t) => {
  const w = await makeWorld('line-3.json');
  t.teardown(() => w.close());
  const ws = new WebSocket(`${w.apiUrl.replace('http', 'ws')}/api/v1/events`);
  t.teardown(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  const code = await new Promise<number>((resolve) => {
    ws.once('close', (c) => resolve(c));
    ws.send(Buffer.alloc(1024 * 1024, 0x61));
  });
  t.equal(code, 1009, 'a 1 MiB frame closes the stream with 1009 (message too big)');
});

t.test('bearer auth: scheme case-insensitive, 401 with WWW-Authenticate', async (t) => {
  const w = await makeWorld('line-3.json', { apiToken: 's3cret' });
  t.teardown(() => w.close());
  const health = (authorization?: string) => fetch(`${w.apiUrl}/api/v1/health`, authorization ? { headers: { authorization } } : {});
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) t.equal((await health(`${scheme} s3cret`)).status, 200, `${scheme} accepted`);
  const none = await health();
  await problemOf(t, none, 401, 'no token');
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="vino"');
  const wrong = await health('Bearer nope');
  await problemOf(t, wrong, 401, 'wrong token');
  t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="vino", error="invalid_token"');
  const basic = await health('Basic czNjcmV0');
  t.equal(basic.status, 401);
  t.match(basic.headers.get('www-authenticate'), /^Bearer realm="vino"/);

  const events = (headers: Record<string, string>) => new Promise<number>((resolve) => {
    const ws = new WebSocket(`${w.apiUrl.replace('http', 'ws')}/api/v1/events`, { headers });
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.once('error', () => {});
  });
  t.equal(await events({ authorization: 'bearer s3cret' }), 101, 'event stream: lower-case scheme accepted');
  t.equal(await events({ authorization: 'Bearer nope' }), 401, 'event stream: wrong token refused');

  t.equal(checkBearer('Bearer  s3cret ', 's3cret'), 'ok');
  t.equal(checkBearer('Bearer s3cre', 's3cret'), 'wrong');
  t.equal(checkBearer(undefined, 's3cret'), 'missing');
  t.equal(checkBearer('Token s3cret', 's3cret'), 'malformed');
});

t.test('zod issues in human words', async (t) => {
  const items = humanIssues([
    { code: 'invalid_type', path: ['to', 'port'], message: 'Invalid input: expected string, received undefined', expected: 'string' },
    { code: 'too_big', origin: 'string', maximum: 15, path: ['to', 'port'], message: 'Too big' },
    { code: 'too_big', origin: 'string', maximum: 3, path: ['name'], message: 'Too big' },
    { code: 'unrecognized_keys', keys: ['a', 'b'], path: [], message: 'Unrecognized keys' },
    { code: 'custom', path: ['links', 3, 'a/b'], message: 'a MAC address like 02:00:00:00:00:01' },
  ], { to: { port: 'a-very-long-port-name' }, name: 'abcd' });
  // One problem per value: the second issue of /to/port is left out.
  t.same(items, [
    { path: '/to/port', message: 'expected a port name such as "veth-web", got the string "a-very-long-port-name"' },
    { path: '/name', message: 'at most 3 characters, got 4' },
    { path: '/a', message: 'unknown field "a"' },
    { path: '/b', message: 'unknown field "b"' },
    { path: '/links/3/a~1b', message: 'a MAC address like 02:00:00:00:00:01' },
  ]);
});


t.test('--api-max-body sizes', async (t) => {
  t.equal(parseSize('65536', '--api-max-body'), 65536);
  t.equal(parseSize('64KiB', '--api-max-body'), 65536);
  t.equal(parseSize('1MiB', '--api-max-body'), 1048576);
  for (const bad of ['0', '-1', '1.5MiB', '10MB', 'lots']) {
    t.throws(() => parseSize(bad, '--api-max-body'), { message: new RegExp(`^--api-max-body: expected a size in bytes .*got "${bad.replace('.', '\\.')}"$`) }, `"${bad}" refused`);
  }
});
