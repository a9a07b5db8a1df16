/** The dashboard's view of the controller's API: shapes, the token, error text. */

export interface TopologyNode {
  name: string; kind: 'switch' | 'host'; region: string; bridge: string; dpid: string;
  connected: boolean; remote: string | null; role: string | null; flowCount: number;
  lastSync: string | null; lastStage: string | null; errors: number; lastError: string | null;
}
export interface LinkEnd { node: string; port: string; ofport: number; up: boolean | null }
export interface TopologyLink { index: number; kind: string; vni: number; a: LinkEnd; b: LinkEnd; state: 'up' | 'down' | 'unknown' }
export interface Topology { name: string; regions: string[]; nodes: TopologyNode[]; links: TopologyLink[] }
export interface Container { name: string; mac: string; ip: string | null; node: string; ofport: number; port: string | null; source: string; since: string }
export interface TimelineEntry { event: string; at: string; t: number; detail?: string }
export interface Migration {
  id: string; container: string; mac: string;
  from: { node: string; ofport: number | null; port: string | null };
  to: { node: string; ofport: number | null; port: string | null };
  state: 'prepared' | 'committing' | 'committed' | 'aborted' | 'failed';
  createdAt: string; flipLatencyMs: number | null; committedBy: string | null; error: string | null; timeline: TimelineEntry[];
}
export interface Health { status: string; version: string; uptimeSeconds: number; switches: { expected: number; connected: number; unknown: number }; containers: number }

const TOKEN_KEY = 'vino.apiToken';

/** Kept for this tab only (sessionStorage), sent as a header, never put in a URL. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The API refused the token (or none was given). */
export class Unauthorized extends Error {}

/** A request the API answered with an error status. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The text to show for an error body: RFC 9457 problem details (`detail`, else `title`), our
 * `{error}`, or the raw text.
 */
export function errorText(status: number, contentType: string | null, body: string): string {
  if (contentType && /json/.test(contentType)) {
    try {
      const parsed = JSON.parse(body) as { detail?: unknown; title?: unknown; error?: unknown };
      for (const v of [parsed.detail, parsed.title, parsed.error]) if (typeof v === 'string' && v) return v;
    } catch {
      // not JSON after all: fall through to the raw text
    }
  }
  return body.trim() || `HTTP ${status}`;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token.get();
  if (t) headers['authorization'] = `Bearer ${t}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  if (res.status === 401) throw new Unauthorized(errorText(401, res.headers.get('content-type'), await res.text()));
  if (!res.ok) throw new ApiError(res.status, errorText(res.status, res.headers.get('content-type'), await res.text()));
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** Subprotocols for the event stream: the token travels as one of them (see controller/shell/ws-auth.ts). */
export function eventProtocols(): string[] {
  const t = token.get();
  if (!t) return ['vino.events'];
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(t))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return ['vino.events', `vino.bearer.${b64}`];
}
