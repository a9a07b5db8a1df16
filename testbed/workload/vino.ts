/**
 * The vino controller as a separate process (`node dist/controller/cli.js --topology FILE
 * --of-listen ... --api-listen ... --state FILE`), as an operator runs it, and a small client
 * of its migration API (the orchestrator's side of the contract).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { childEnv, freePort, sleep, startLogged, type Child } from './processes.js';
import { repoRoot } from './overlay.js';

export interface MigrationView {
  id: string;
  container: string;
  mac: string;
  from: { node: string; ofport: number | null; port: string | null };
  to: { node: string; ofport: number | null; port: string | null };
  state: 'prepared' | 'committing' | 'committed' | 'aborted' | 'failed';
  createdAt: string;
  flipLatencyMs: number | null;
  committedBy: 'api' | 'first-frame' | null;
  error: string | null;
  timeline: { event: string; at: string; t: number; detail?: string }[];
  /** Absent from controllers without the freeze step. */
  freeze?: { by: string; lastAtOld: string; firstAtNew: string | null; refractoryMs: number | null; held: number; heldBytes: number; replayed: number; dropped: number; afterRelease?: number; behindRelease?: number; passed?: number; takenAtOld?: number; reportedAtOld?: number } | null;
}

export interface SwitchView {
  name: string | null;
  dpid: string;
  connected: boolean;
  ports: { portNo: number; name: string; up: boolean }[];
  flowCount: number;
}

/** An HTTP answer of the API that was not the expected one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly body: unknown, what: string) {
    // Errors are RFC 9457 problem details: `detail` says what went wrong.
    super(`${what}: HTTP ${status}${body && typeof body === 'object' && 'detail' in body ? `: ${String((body as { detail: unknown }).detail)}` : ''}`);
  }
}

export class VinoApi {
  constructor(readonly base: string) {}

  async call<T>(method: string, route: string, body?: unknown, expect: number[] = [200]): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.base}${route}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the message
    }
    if (!expect.includes(res.status)) throw new ApiError(res.status, parsed, `${method} ${route}`);
    return { status: res.status, body: parsed as T };
  }

  async prepare(container: string, to: { switch: string; port: string }): Promise<MigrationView> {
    return (await this.call<MigrationView>('POST', '/api/v1/migrations', { container, to }, [201])).body;
  }
  async commit(id: string): Promise<MigrationView> {
    return (await this.call<MigrationView>('POST', `/api/v1/migrations/${encodeURIComponent(id)}/commit`)).body;
  }
  /** The old host takes no more frames: the controller holds what reaches the new edge until the new port exists. */
  async freeze(id: string): Promise<MigrationView> {
    return (await this.call<MigrationView>('POST', `/api/v1/migrations/${encodeURIComponent(id)}/freeze`)).body;
  }
  async abort(id: string): Promise<MigrationView> {
    return (await this.call<MigrationView>('POST', `/api/v1/migrations/${encodeURIComponent(id)}/abort`)).body;
  }
  async migration(id: string): Promise<MigrationView> {
    return (await this.call<MigrationView>('GET', `/api/v1/migrations/${encodeURIComponent(id)}`)).body;
  }
  async switches(): Promise<SwitchView[]> {
    return (await this.call<SwitchView[]>('GET', '/api/v1/switches')).body;
  }
  async container(name: string): Promise<{ name: string; node: string; ofport: number; port: string | null }> {
    return (await this.call<{ name: string; node: string; ofport: number; port: string | null }>('GET', `/api/v1/containers/${encodeURIComponent(name)}`)).body;
  }

  /** Waits until a migration leaves the prepared/committing states; returns it. */
  async waitSettled(id: string, timeoutMs: number): Promise<MigrationView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.migration(id);
      if (m.state !== 'prepared' && m.state !== 'committing') return m;
      if (Date.now() > deadline) return m;
      await sleep(20);
    }
  }
}

/**
 * Commits. The controller answers a commit that raced the container's first frame with that
 * flip's outcome (committedBy "first-frame"); a 409 (older controllers) is waited out too.
 */
export async function commitOrJoin(api: VinoApi, id: string, timeoutMs = 30_000): Promise<{ migration: MigrationView; raced: boolean }> {
  try {
    const migration = await api.commit(id);
    return { migration, raced: migration.committedBy === 'first-frame' };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 409) throw err;
    const m = await api.waitSettled(id, timeoutMs);
    if (m.committedBy !== 'first-frame') throw err;
    return { migration: m, raced: true };
  }
}

export interface VinoProcess {
  child: Child;
  api: VinoApi;
  ofListen: string;
  apiListen: string;
  stateFile: string;
  stop(): Promise<void>;
}

/** The controller's entry point, compiled. */
export function controllerCli(): string {
  const file = path.join(repoRoot(), 'dist', 'controller', 'cli.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  return file;
}

/**
 * Starts the controller and waits until its API answers and every switch of the topology is
 * connected (and a moment for the first sync). The log (JSON lines) goes to `logFile`.
 */
export async function startVino(options: {
  topologyFile: string;
  ofHost: string;
  ofPort: number;
  stateFile: string;
  logFile: string;
  apiPort?: number;
  logLevel?: string;
  migrationTimeoutS?: number;
  /** More command-line options (e.g. --hold-frames 0). */
  extraArgs?: string[];
  /** How long to wait for every switch (default 30 s). */
  connectTimeoutMs?: number;
  expectSwitches: number;
  /** Run as a cluster member (state in etcd instead of `stateFile`). */
  cluster?: { etcd: string[]; member: string; leaseTtlS?: number };
}): Promise<VinoProcess> {
  const apiPort = options.apiPort ?? (await freePort('127.0.0.1'));
  const ofListen = `${options.ofHost}:${options.ofPort}`;
  const apiListen = `127.0.0.1:${apiPort}`;
  // VINO_CPU_PROF=DIR: the controller writes a V8 CPU profile there when it stops (where a
  // migration's time goes; the environment's NODE_OPTIONS is not passed on, see childEnv).
  const profileDir = process.env.VINO_CPU_PROF;
  const argv = [
    process.execPath, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), controllerCli(), '--topology', options.topologyFile,
    '--of-listen', ofListen, '--api-listen', apiListen,
    ...(options.cluster
      ? ['--etcd', options.cluster.etcd.join(','), '--member', options.cluster.member, '--advertise-api', `http://${apiListen}`, ...(options.cluster.leaseTtlS ? ['--lease-ttl', String(options.cluster.leaseTtlS)] : [])]
      : ['--state', options.stateFile]),
    '--log-level', options.logLevel ?? 'info',
    ...(options.migrationTimeoutS ? ['--migration-timeout', String(options.migrationTimeoutS)] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = startLogged('vino-controller', argv, options.logFile, { env: childEnv() });
  const api = new VinoApi(`http://${apiListen}`);
  const proc: VinoProcess = { child, api, ofListen, apiListen, stateFile: options.stateFile, stop: () => child.stop() };
  try {
    await waitConnected(proc, options.expectSwitches, options.connectTimeoutMs ?? 30_000);
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
  return proc;
}

/** Waits until `expected` topology switches are connected to the controller. */
export async function waitConnected(proc: VinoProcess, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'API not answering yet';
  while (Date.now() < deadline) {
    if (!proc.child.running()) {
      throw new Error(`the controller exited (${JSON.stringify(await proc.child.exited)}); its log ${proc.child.logFile} ends with:\n${proc.child.tail()}`);
    }
    try {
      const sw = await proc.api.switches();
      const named = sw.filter((s) => s.name !== null);
      const up = named.filter((s) => s.connected).length;
      if (up >= expected) return;
      last = `${up} of ${expected} switches connected (missing: ${named.filter((s) => !s.connected).map((s) => s.name).join(', ')})`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`the controller did not get its switches within ${timeoutMs} ms: ${last}; log ${proc.child.logFile}:\n${proc.child.tail()}`);
}
