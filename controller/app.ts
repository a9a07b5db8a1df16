/**
 * Assembles a running controller: OpenFlow listeners, the HTTP API and the event stream.
 * Used by `vino-controller` (commands/run.ts), the tests and the demo.
 */
import pino, { type Logger } from 'pino';
import type { ResolvedTopology } from '../src/topology/types.js';
import { Controller, type ListenAddress, type ListenTls, type Provisioner } from './shell/controller.js';
import { Metrics } from './shell/metrics.js';
import { buildApi, finishApi, listenApi } from './shell/api.js';
import type { SessionOptions } from './shell/session.js';
import type { ForwardingOptions } from './core/forwarding.js';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { extendWithMigrations } from './migration/api.js';
import { MigrationManager } from './migration/manager.js';
import type { HoldLimits } from './migration/hold.js';
import type { MiddlewareHandler } from 'hono';
import type { StateStore } from './ha/store.js';

export interface AppConfig {
  topology: ResolvedTopology;
  ofListen: ListenAddress[];
  apiListen: ListenAddress | null;
  apiToken?: string;
  /** Largest HTTP request body accepted, bytes (default 1 MiB). */
  apiMaxBodyBytes?: number;
  /** HTTPS for the API: certificate and key (PEM). */
  apiTls?: { cert: string | Buffer; key: string | Buffer };
  stateFile?: string;
  /** Move a truncated or corrupt state file aside and start from the topology (else start fails). */
  stateReset?: boolean;
  /** Connections in the handshake beyond this are refused. */
  maxHandshaking?: number;
  /** Cluster member: the shared store, the OpenFlow role to claim first, and the API's guard. */
  store?: StateStore;
  role?: { role: 'MASTER' | 'SLAVE'; generationId: bigint };
  apiGuard?: MiddlewareHandler;
  logger?: Logger;
  logLevel?: string;
  session?: Partial<SessionOptions>;
  forwarding?: Partial<ForwardingOptions>;
  version?: string;
  /** Read back and repair every switch this often, ms (0/absent: off). */
  auditIntervalMs?: number;
  /** Prepared migrations not committed within this time are aborted. */
  migrationTimeoutMs?: number;
  /** Caps on the frames held while migrating containers are frozen. */
  holdLimits?: Partial<HoldLimits>;
  /** Provisions nodes for a reload with provisioning (absent: such a reload is refused). */
  provisioner?: Provisioner;
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
    ...(config.stateReset ? { stateReset: true } : {}),
    ...(config.maxHandshaking !== undefined ? { maxHandshaking: config.maxHandshaking } : {}),
    ...(config.store ? { store: config.store } : {}),
    ...(config.role ? { role: config.role } : {}),
    ...(config.session ? { session: config.session } : {}),
    ...(config.forwarding ? { forwarding: config.forwarding } : {}),
    ...(config.auditIntervalMs ? { auditIntervalMs: config.auditIntervalMs } : {}),
    ...(config.provisioner ? { provisioner: config.provisioner } : {}),
  });
  const version = config.version ?? '0.0.0';
  let api: Awaited<ReturnType<typeof listenApi>> | null = null;
  const openflow = await controller.start();
  let migrations: MigrationManager | undefined;
  try {
    const apiOptions = { host: config.apiListen?.host ?? '127.0.0.1', port: config.apiListen?.port ?? 0, logger, metrics, version, ...(config.apiToken ? { token: config.apiToken } : {}), ...(config.apiMaxBodyBytes !== undefined ? { maxBodyBytes: config.apiMaxBodyBytes } : {}), ...(config.apiTls ? { tls: config.apiTls } : {}), ...(config.apiGuard ? { guard: config.apiGuard } : {}) };
    const app = buildApi(controller, apiOptions);
    migrations = extendWithMigrations({
      ...(config.migrationTimeoutMs ? { timeoutMs: config.migrationTimeoutMs } : {}),
      ...(config.holdLimits ? { hold: config.holdLimits } : {}),
    })(app, controller, metrics);
    if (config.apiListen) {
      await config.extend?.(app, controller, metrics);
      finishApi(app, version);
      api = await listenApi(app, controller, apiOptions);
      logger.info({ api: `${config.apiTls ? 'https' : 'http'}://${api.address.host}:${api.address.port}` }, 'API listening');
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

/**
 * Parses an OpenFlow listen address: HOST:PORT or tcp:HOST:PORT (plain), ssl:HOST:PORT (TLS,
 * given `tls`). Fails naming the missing credential when ssl: comes without them.
 */
export function parseOfListen(text: string, tls: Partial<ListenTls> | undefined, what = '--of-listen'): ListenAddress {
  const m = /^(tcp|ssl):(.*)$/.exec(text);
  const address = parseListen(m ? m[2]! : text, what);
  if (m?.[1] !== 'ssl') return address;
  const missing = (['key', 'cert', 'ca'] as const).filter((k) => !tls?.[k]);
  if (missing.length > 0) {
    throw new Error(`${what} ${text}: TLS needs ${missing.map((k) => `--of-${k}`).join(', ')} (our key, our certificate, the CA that signs the switches' certificates)`);
  }
  return { ...address, tls: { key: tls!.key!, cert: tls!.cert!, ca: tls!.ca! } };
}

/** Parses HOST:PORT ("[::1]:6633" for IPv6). */
export function parseListen(text: string, what: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new Error(`${what}: expected HOST:PORT, got "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Whether `host` is reachable only from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}
