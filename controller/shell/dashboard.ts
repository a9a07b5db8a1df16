/**
 * Serves the dashboard (controller/dashboard, bundled at build time into dist/dashboard) at
 * /ui/ on the API's listen address. The page itself needs no token (it asks for one when the
 * API answers 401); every byte comes from here, under a Content-Security-Policy that allows no
 * inline script and no other origin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';

/** The files the bundle consists of: nothing else is served (no path from the URL reaches the file system). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  // The licenses of what the bundle includes (cytoscape's), which the bundle points to.
  'app.js.LEGAL.txt': 'text/plain; charset=utf-8',
};

/**
 * cytoscape adds this one rule as a <style> element when it starts; its hash lets exactly that
 * rule through (app.css sets the same, so nothing breaks if a later version changes it).
 */
const CYTOSCAPE_RULE = '.__________cytoscape_container { position: relative; }';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' 'sha256-${createHash('sha256').update(CYTOSCAPE_RULE).digest('base64')}'`,
  "img-src 'self' data:",
  // 'self' also covers ws:// to the same host and port (CSP level 3).
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_PREFIX = '/ui/';

/** dist/dashboard beside dist/controller (this file runs as dist/controller/shell/dashboard.js). */
export function dashboardDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');
}

/** True for paths the dashboard serves without a token. */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/ui' || path.startsWith(DASHBOARD_PREFIX);
}

/** Mounts `/` (redirect) and `/ui/*`. Register before the token middleware's routes are matched. */
export function mountDashboard(app: OpenAPIHono, dir = dashboardDir()): void {
  const cache = new Map<string, Buffer>();
  const security = {
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
  app.get('/', (c) => c.redirect(DASHBOARD_PREFIX, 302));
  app.get('/ui', (c) => c.redirect(DASHBOARD_PREFIX, 302));
  app.get(`${DASHBOARD_PREFIX}:file{.*}`, async (c) => {
    const name = c.req.param('file') || 'index.html';
    const type = FILES[name];
    if (!type) return c.json({ error: `no dashboard file "${name}"` }, 404);
    let body = cache.get(name);
    if (!body) {
      try {
        body = await readFile(join(dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        return c.text(`the dashboard is not built (${join(dir, name)} missing): run npm run build\n`, 503);
      }
      cache.set(name, body);
    }
    return c.body(new Uint8Array(body), 200, { 'content-type': type, ...security });
  });
}
