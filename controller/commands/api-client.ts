/**
 * The operator commands' client for a running controller's API: where it is (`--api` or
 * $VINO_API), the token (`--token` or $VINO_API_TOKEN), errors turned into exit statuses.
 */
import { WebSocket } from 'ws';
import { parseJson } from '../../src/json/index.js';

export const DEFAULT_API = 'http://127.0.0.1:8080';

/** Exit statuses of the operator commands, beside command.ts's 0 (ok) and 2 (usage). */
export const EXIT_FAILED = 1;
export const EXIT_UNREACHABLE = 3;
export const EXIT_UNAUTHORIZED = 4;

/** The controller could not be reached at all (nothing listening, wrong address, dropped). */
export class Unreachable extends Error {}

/** The controller answered with an error status. */
export class RequestFailed extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface ClientOptions {
  api?: string | undefined;
  token?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** `host:port` or a URL; anything else is a usage error of the caller (thrown as Error). */
export function apiBase(text: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`--api: expected a URL like http://127.0.0.1:8080 or HOST:PORT, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--api: expected an http or https URL, got "${text}"`);
  return url;
}

/**
 * The text of an error body: RFC 9457 problem details (`detail`, else `title`, plus the
 * problems' JSON paths), our `{error, problems}`, or the raw text.
 */
export function errorMessage(status: number, contentType: string | null, text: string): string {
  if (contentType && /json/.test(contentType)) {
    try {
      const body = JSON.parse(text) as { detail?: unknown; title?: unknown; error?: unknown; errors?: unknown; problems?: unknown };
      const main = [body.detail, body.title, body.error].find((v): v is string => typeof v === 'string' && v.length > 0);
      const list = (Array.isArray(body.errors) ? body.errors : Array.isArray(body.problems) ? body.problems : []) as { path?: unknown; pointer?: unknown; message?: unknown; detail?: unknown }[];
      const items = list.map((p) => {
        const where = typeof p.path === 'string' ? p.path : typeof p.pointer === 'string' ? p.pointer : '';
        const what = typeof p.message === 'string' ? p.message : typeof p.detail === 'string' ? p.detail : '';
        return where ? `${where}: ${what}` : what;
      }).filter((s) => s && s !== main);
      if (main) return items.length > 0 ? `${main} (${items.join('; ')})` : main;
    } catch {
      // not JSON after all: the raw text below
    }
  }
  return text.trim() || `HTTP ${status}`;
}

export class ApiClient {
  readonly base: URL;
  readonly token: string | undefined;

  constructor(options: ClientOptions = {}) {
    const env = options.env ?? process.env;
    this.base = apiBase(options.api ?? env.VINO_API ?? DEFAULT_API);
    this.token = options.token ?? (env.VINO_API_TOKEN || undefined);
  }

  get display(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** `path` under the base URL (a controller behind a reverse proxy may live under a prefix). */
  private url(path: string): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/+$/, '')}${path}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url(path), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Unreachable(`cannot reach the controller at ${this.display}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new RequestFailed(res.status, errorMessage(res.status, res.headers.get('content-type'), text));
    if (res.status === 204 || text === '') return undefined as T;
    try {
      // Lossless: flow cookies and counters are 64-bit and come as plain JSON integers.
      return parseJson(text) as T;
    } catch {
      throw new RequestFailed(res.status, `the controller at ${this.display} answered ${method} ${path} with something that is not JSON`);
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /**
   * Opens the event stream; resolves once it is open. `onEvent` gets every event, `onClose`
   * is told when the stream ends (the controller stopped, the network dropped).
   */
  events(onEvent: (e: StreamEvent) => void, onClose: (why: string) => void): Promise<{ close(): void }> {
    const url = new URL(this.url('/api/v1/events'));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
      let open = false;
      let closedByUs = false;
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(res.statusCode === 401 ? new RequestFailed(401, 'missing or wrong bearer token') : new RequestFailed(res.statusCode ?? 0, `the event stream was refused (HTTP ${res.statusCode})`));
      });
      ws.on('open', () => {
        open = true;
        resolve({
          close: () => {
            closedByUs = true;
            ws.close();
          },
        });
      });
      ws.on('message', (data) => {
        try {
          onEvent(JSON.parse(String(data)) as StreamEvent);
        } catch {
          // one unreadable event does not end the stream
        }
      });
      ws.on('error', (err) => {
        if (!open) reject(new Unreachable(`cannot reach the controller's event stream at ${url.href}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      ws.on('close', (code) => {
        if (open && !closedByUs) onClose(code === 1000 ? 'closed by the controller' : `connection lost (code ${code})`);
      });
    });
  }
}

export interface StreamEvent {
  type: string;
  time?: string;
  [key: string]: unknown;
}
