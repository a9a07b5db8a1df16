/**
 * Assembles a running controller: OpenFlow listeners, the HTTP API and the event stream.
 * Used by `vino-controller` (commands/run.ts), the tests and the demo.
 */
import pino, { type Logger } from 'pino';
import type { ResolvedTopology } from '../src/topology/types.js';
import { Controller, type ListenAddress } from './shell/controller.js';
import { Metrics } from './shell/metrics.js';
import { buildApi, finishApi, listenApi } from './shell/api.js';
import type { SessionOptions } from './shell/session.js';
import type { ForwardingOptions } from './core/forwarding.js';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { extendWithMigrations } from './migration/api.js';
import { MigrationManager } from './migration/manager.js';
import type { MiddlewareHandler } from 'hono';
import type { StateStore } from './ha/store.js';

export interface AppConfig {
  topology: ResolvedTopology;
  ofListen: ListenAddress[];
  apiListen: ListenAddress | null;
  apiToken?: string;
  stateFile?: string;
  /** Cluster member: the shared store, the OpenFlow role to claim first, and the API's guard. */
  store?: StateStore;
  role?: { role: 'MASTER' | 'SLAVE'; generationId: bigint };
  apiGuard?: MiddlewareHandler;
  logger?: Logger;
  logLevel?: string;
  session?: Partial<SessionOptions>;
  forwarding?: Partial<ForwardingOptions>;
  version?: string;
  /** Prepared migrations not committed within this time are aborted. */
  migrationTimeoutMs?: number;
  /** Adds routes (e.g. migrations) before the API starts. */
  extend?: (app: OpenAPIHono, controller: Controller, metrics: Metrics) => void | Promise<void>;
}

export interface RunningApp {
  controller: Controller;
  migrations: MigrationManager;
  metrics: Metrics;
  openflow: ListenAddress[];
  api: { host: string; port: number } | null;
  logger: Logger;
  stop(): Promise<void>;
}

export async function startApp(config: AppConfig): Promise<RunningApp> {
  const logger = config.logger ?? pino({ level: config.logLevel ?? 'info', base: { app: 'vino-controller' } });
  const metrics = new Metrics();
  const controller = new Controller(config.topology, {
    ofListen: config.ofListen, logger, metrics,
    ...(config.stateFile ? { stateFile: config.stateFile } : {}),
    ...(config.store ? { store: config.store } : {}),
    ...(config.role ? { role: config.role } : {}),
    ...(config.session ? { session: config.session } : {}),
    ...(config.forwarding ? { forwarding: config.forwarding } : {}),
  });
  const version = config.version ?? '0.0.0';
  let api: Awaited<ReturnType<typeof listenApi>> | null = null;
  const openflow = await controller.start();
  let migrations: MigrationManager | undefined;
  try {
    const apiOptions = { host: config.apiListen?.host ?? '127.0.0.1', port: config.apiListen?.port ?? 0, logger, metrics, version, ...(config.apiToken ? { token: config.apiToken } : {}), ...(config.apiGuard ? { guard: config.apiGuard } : {}) };
    const app = buildApi(controller, apiOptions);
    migrations = extendWithMigrations(config.migrationTimeoutMs ? { timeoutMs: config.migrationTimeoutMs } : {})(app, controller, metrics);
    if (config.apiListen) {
      await config.extend?.(app, controller, metrics);
      finishApi(app, version);
      api = await listenApi(app, controller, apiOptions);
      logger.info({ api: `http://${api.address.host}:${api.address.port}` }, 'API listening');
    }
  } catch (err) {
    await controller.stop();
    throw err;
  }
  return {
    controller, metrics, openflow, logger, migrations,
    api: api?.address ?? null,
    async stop() {
      migrations.close();
      await api?.close();
      await controller.stop();
    },
  };
}

/** Parses HOST:PORT ("[::1]:6633" for IPv6). */
export function parseListen(text: string, what: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new Error(`${what}: expected HOST:PORT, got "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}
