import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { OvsdbConnectionError } from './errors.js';

/**
 * Opens a fresh byte stream to the server. Called once per connection attempt (so again on
 * every reconnect); an SSH-forwarded channel (ssh2 `forwardOutLocal`/`openssh_forwardOutStreamLocal`),
 * a TLS socket or anything else that is a Node Duplex fits.
 */
export type DuplexFactory = () => Duplex | Promise<Duplex>;

/** `tcp:HOST:PORT`, `ssl:HOST:PORT` (also `[IPv6]`), `unix:PATH`, or a factory of Duplex streams. */
export type Endpoint = string | DuplexFactory;

export type ParsedEndpoint =
  | { kind: 'tcp' | 'ssl'; host: string; port: number }
  | { kind: 'unix'; path: string };

/**
 * Our side of an `ssl:` connection, PEM text (as `ovs-pki` writes it): the client's key and
 * certificate, and the CA the server's certificate must chain to. Like OVS itself, the
 * server's name is not checked against its certificate (OVS PKI certificates name a switch
 * or controller, not a host): the CA is the trust anchor.
 */
export interface TlsCredentials {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

/** The port ovsdb-server listens on when none is given (IANA-assigned for OVSDB). */
export const OVSDB_DEFAULT_PORT = 6640;

export function parseEndpoint(s: string): ParsedEndpoint {
  const fail = (why: string): never => {
    throw new OvsdbConnectionError('OVSDB_ERR_BAD_ENDPOINT', `bad OVSDB endpoint ${JSON.stringify(s)}: ${why}`);
  };
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (!path) fail('empty socket path');
    return { kind: 'unix', path };
  }
  if (s.startsWith('tcp:') || s.startsWith('ssl:')) {
    const kind = s.startsWith('tcp:') ? 'tcp' : 'ssl';
    const rest = s.slice(4);
    let host: string;
    let portText: string | undefined;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) fail("missing ']' after IPv6 address");
      host = rest.slice(1, close);
      const after = rest.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) fail("expected ':' after ']'");
      portText = after === '' ? undefined : after.slice(1);
    } else {
      const colon = rest.lastIndexOf(':');
      if (colon >= 0 && rest.indexOf(':') !== colon) fail(`IPv6 addresses must be written in brackets, e.g. ${kind}:[::1]:6640`);
      host = colon < 0 ? rest : rest.slice(0, colon);
      portText = colon < 0 ? undefined : rest.slice(colon + 1);
    }
    if (!host) fail('empty host');
    let port = OVSDB_DEFAULT_PORT;
    if (portText !== undefined) {
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) fail(`bad port ${JSON.stringify(portText)}`);
      port = Number(portText);
    }
    return { kind, host, port };
  }
  return fail('expected tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH');
}

export function describeEndpoint(e: Endpoint): string {
  return typeof e === 'string' ? e : 'duplex stream';
}

/** Fails unless an `ssl:` endpoint comes with credentials (the others need none). */
export function checkEndpointCredentials(endpoint: Endpoint, credentials: TlsCredentials | undefined): void {
  if (typeof endpoint !== 'string' || credentials) return;
  if (parseEndpoint(endpoint).kind === 'ssl') {
    throw new OvsdbConnectionError('OVSDB_ERR_BAD_ENDPOINT', `OVSDB endpoint ${JSON.stringify(endpoint)} needs TLS credentials: the tls option with key, cert and ca`);
  }
}

/**
 * Opens the transport and resolves once it can carry data (for `ssl:`, once the handshake
 * has verified the server's certificate against `credentials.ca`). Rejects with
 * OvsdbConnectionError(OVSDB_ERR_CONNECT) naming the endpoint on failure or after
 * `timeoutMs`.
 */
export async function openTransport(endpoint: Endpoint, timeoutMs: number, credentials?: TlsCredentials): Promise<Duplex> {
  const label = describeEndpoint(endpoint);
  let stream: Duplex;
  if (typeof endpoint === 'string') {
    const ep = parseEndpoint(endpoint);
    if (ep.kind === 'ssl') {
      checkEndpointCredentials(endpoint, credentials);
      const { key, cert, ca } = credentials!;
      const socket = tls.connect({
        host: ep.host, port: ep.port, key, cert, ca, rejectUnauthorized: true,
        ...(net.isIP(ep.host) ? {} : { servername: ep.host }),
        checkServerIdentity: () => undefined,
      });
      return waitFor(socket, 'secureConnect', label, timeoutMs);
    }
    stream = ep.kind === 'unix' ? net.connect({ path: ep.path }) : net.connect({ host: ep.host, port: ep.port });
  } else {
    stream = await callFactory(endpoint, label, timeoutMs);
  }
  if (stream.destroyed) throw new OvsdbConnectionError('OVSDB_ERR_CONNECT', `cannot open ${label}: the stream is already destroyed`);
  // A socket still connecting (ours, or one a factory returned) is waited for; any other
  // Duplex (an ssh2 channel, say) is usable as soon as the factory hands it over.
  if (!(stream instanceof net.Socket)) return stream;
  stream.setNoDelay(true);
  if (!stream.connecting) return stream;
  return waitFor(stream, 'connect', label, timeoutMs);
}

/** Resolves with `socket` once it emits `ready` ('connect', or 'secureConnect' for TLS). */
function waitFor(socket: net.Socket, ready: 'connect' | 'secureConnect', label: string, timeoutMs: number): Promise<Duplex> {
  socket.setNoDelay(true);
  return new Promise<Duplex>((resolve, reject) => {
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            cleanup();
            socket.destroy();
            reject(new OvsdbConnectionError('OVSDB_ERR_CONNECT', `cannot connect to ${label}: no connection within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (e: Error): void => {
      cleanup();
      socket.destroy();
      reject(new OvsdbConnectionError('OVSDB_ERR_CONNECT', `cannot connect to ${label}: ${e.message}`, { cause: e }));
    };
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.off(ready, onConnect);
      socket.off('error', onError);
    };
    socket.once(ready, onConnect);
    socket.once('error', onError);
  });
}

async function callFactory(factory: DuplexFactory, label: string, timeoutMs: number): Promise<Duplex> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const made = Promise.resolve().then(factory);
  try {
    if (timeoutMs <= 0) return await made;
    return await Promise.race([
      made,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new OvsdbConnectionError('OVSDB_ERR_CONNECT', `cannot open ${label}: the factory gave no stream within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } catch (e) {
    if (e instanceof OvsdbConnectionError) throw e;
    throw new OvsdbConnectionError('OVSDB_ERR_CONNECT', `cannot open ${label}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (timer) clearTimeout(timer);
    // A stream that arrives after we gave up would otherwise stay open forever.
    if (timedOut) made.then((d) => d.destroy(), () => undefined);
  }
}
