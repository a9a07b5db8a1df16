// A real ovsdb-server per test, in its own temp dir, killed in t.teardown (also on failure).
// Reusable by any test that needs an OVSDB (e.g. provisioning tests).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OvsdbClient, type OvsdbClientOptions } from '../../src/ovsdb/client.js';
import { op } from '../../src/ovsdb/operations.js';
import type { Endpoint } from '../../src/ovsdb/transport.js';
import type { Uuid } from '../../src/ovsdb/values.js';
import { spawnWatched, type WatchedChild } from '../util/child.js';

const run = promisify(execFile);

export const OVSDB_SERVER = '/usr/sbin/ovsdb-server';
export const OVSDB_TOOL = '/usr/bin/ovsdb-tool';
export const OVS_APPCTL = '/usr/bin/ovs-appctl';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** The part of a tap Test the fixture uses (keeps this file independent of tap's types). */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export interface OvsdbServerOptions {
  /** Schema file for the database (default: the Open_vSwitch schema). */
  schema?: string;
  /** Also listen on TCP 127.0.0.1 (on a port the server picks). */
  tcp?: boolean;
  /**
   * Instead of plain TCP, listen with TLS on 127.0.0.1 (`pssl:`, a port the server picks):
   * the server's key and certificate files, and the CA its clients' certificates must chain to.
   */
  ssl?: { keyFile: string; certFile: string; caFile: string };
}

export interface OvsdbServerFixture {
  dir: string;
  dbFile: string;
  socket: string;
  ctl: string;
  /** `unix:<socket>` */
  unixEndpoint: string;
  /** `tcp:127.0.0.1:<port>` when started with tcp: true. */
  tcpEndpoint: string | undefined;
  /** `ssl:127.0.0.1:<port>` when started with ssl. */
  sslEndpoint: string | undefined;
  tcpPort: number | undefined;
  /** The running server's pid (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops the server with `signal` (default SIGKILL: a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same database file, socket and TCP port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server stays connected but stops answering. */
  pause(): void;
  resume(): void;
  /** Runs `ovs-appctl -t <ctl> <args>`. */
  appctl(...args: string[]): Promise<string>;
  /** Everything the server wrote to stderr so far (for failure messages). */
  log(): string;
}

export async function startOvsdbServer(t: TeardownHost, options: OvsdbServerOptions = {}): Promise<OvsdbServerFixture> {
  if (options.tcp && options.ssl) throw new Error('startOvsdbServer: tcp and ssl are exclusive (one TCP port is reported)');
  const dir = await mkdtemp(path.join(os.tmpdir(), `vino-ovsdb-${process.pid}-${Math.random().toString(36).slice(2, 8)}-`));
  const dbFile = path.join(dir, 'conf.db');
  const socket = path.join(dir, 'db.sock');
  const ctl = path.join(dir, 'ovsdb-server.ctl');
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: dir };
  let server: WatchedChild | undefined;
  let tcpPort: number | undefined;
  let paused = false;

  t.teardown(async () => {
    if (server?.running()) {
      if (paused) server.process.kill('SIGCONT');
      server.process.kill('SIGKILL');
      await server.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  await run(OVSDB_TOOL, ['create', dbFile, options.schema ?? VSWITCH_SCHEMA], { env });

  const start = async (): Promise<void> => {
    const args = [
      dbFile,
      `--remote=punix:${socket}`,
      `--unixctl=${ctl}`,
      `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`,
      `--log-file=${path.join(dir, 'ovsdb-server.log')}`,
      '--no-chdir',
      '-vconsole:info',
    ];
    // Port 0 on first start (no race for a free port); the same port on restarts.
    if (options.tcp) args.push(`--remote=ptcp:${tcpPort ?? 0}:127.0.0.1`);
    if (options.ssl) {
      const { keyFile, certFile, caFile } = options.ssl;
      args.push(`--remote=pssl:${tcpPort ?? 0}:127.0.0.1`, `--private-key=${keyFile}`, `--certificate=${certFile}`, `--ca-cert=${caFile}`);
    }
    const s = spawnWatched(OVSDB_SERVER, args, { env });
    server = s;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!s.running()) {
        throw new Error(`ovsdb-server exited (${s.process.exitCode ?? s.process.signalCode}) during startup:\n${s.stderr()}`);
      }
      // First start: the server logs the port it picked. Restart: the port is known.
      const listens = options.tcp || options.ssl;
      if (listens && tcpPort === undefined) {
        const m = /listening on port (\d+)/.exec(s.stderr());
        if (m) tcpPort = Number(m[1]);
      }
      const tcpUp = !listens || (tcpPort !== undefined && (await canConnect({ host: '127.0.0.1', port: tcpPort })));
      if (tcpUp && (await canConnect({ path: socket }))) return;
      if (Date.now() > deadline) throw new Error(`ovsdb-server did not come up within 10 s:\n${s.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  await start();

  return {
    dir,
    dbFile,
    socket,
    ctl,
    unixEndpoint: `unix:${socket}`,
    get tcpPort() {
      return tcpPort;
    },
    get tcpEndpoint() {
      return tcpPort === undefined || !options.tcp ? undefined : `tcp:127.0.0.1:${tcpPort}`;
    },
    get sslEndpoint() {
      return tcpPort === undefined || !options.ssl ? undefined : `ssl:127.0.0.1:${tcpPort}`;
    },
    get pid() {
      return server?.running() ? server.process.pid : undefined;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!server?.running()) return;
      if (paused) {
        server.process.kill('SIGCONT');
        paused = false;
      }
      server.process.kill(signal);
      await server.exited;
    },
    async restart() {
      if (server?.running()) throw new Error('ovsdb-server is still running');
      await start();
    },
    pause() {
      server?.process.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      server?.process.kill('SIGCONT');
      paused = false;
    },
    async appctl(...args: string[]) {
      const { stdout } = await run(OVS_APPCTL, ['-t', ctl, ...args], { env });
      return stdout;
    },
    log: () => server?.stderr() ?? '',
  } as OvsdbServerFixture;
}

function canConnect(to: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(to);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Opens an OvsdbClient that is closed in t.teardown. Short echo/reconnect timings suit tests. */
export async function connectClient(
  t: TeardownHost,
  endpoint: Endpoint,
  options: OvsdbClientOptions = {},
): Promise<OvsdbClient> {
  const client = new OvsdbClient(endpoint, { requestTimeout: 10_000, ...options });
  t.teardown(() => client.close());
  await client.connect();
  return client;
}

/** Inserts the Open_vSwitch root row an empty vswitch database lacks; returns its UUID. */
export async function initOpenVswitchRow(client: OvsdbClient): Promise<Uuid> {
  const [r] = await client.transact('Open_vSwitch', [op.insert('Open_vSwitch', {})]);
  return r.uuid;
}
