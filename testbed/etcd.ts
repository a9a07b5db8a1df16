/**
 * Starts etcd (Debian's /usr/bin/etcd) on loopback for tests and benchmarks: one member or a
 * cluster of three, on free ports, data in a temporary folder. The heartbeat and election
 * timeouts are shortened (50 ms / 500 ms) because etcd derives its minimum lease TTL from them:
 * with the defaults (100 ms / 1 s) no lease lives less than 2 s, with these 1 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
  log: string[];
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member. */
  endpoints: string[];
  /** SIGKILL one member (index), or all when omitted. */
  kill(index?: number): Promise<void>;
  /** Starts a killed member again with its data. */
  restart(index?: number): Promise<void>;
  /** Kills everything and removes the data. */
  stop(): Promise<void>;
}

export const ETCD_BINARY = process.env.VINO_ETCD ?? '/usr/bin/etcd';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export async function startEtcd(options: { size?: 1 | 3; name?: string } = {}): Promise<EtcdCluster> {
  const size = options.size ?? 1;
  const root = await mkdtemp(join(tmpdir(), `vino-etcd-${options.name ?? 'test'}-`));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({ name: `e${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, dataDir: join(root, `e${i}`), log: [] });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = `vino-${process.pid}-${Date.now()}`;

  const launch = (m: EtcdMember, state: 'new' | 'existing') => {
    const child = spawn(ETCD_BINARY, [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--initial-cluster-token', token,
      '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => {
      m.log.push(b.toString());
      if (m.log.length > 200) m.log.shift();
    });
    m.process = child;
  };

  const healthy = async (m: EtcdMember, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(500) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not up yet
      }
      if (m.process?.exitCode !== null && m.process?.exitCode !== undefined) {
        throw new Error(`etcd ${m.name} exited with status ${m.process.exitCode}: ${m.log.join('').slice(-600)}`);
      }
      if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy at ${m.clientUrl} within ${timeoutMs} ms: ${m.log.join('').slice(-600)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const killOne = async (m: EtcdMember) => {
    const p = m.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async kill(index) {
      await Promise.all((index === undefined ? members : [members[index]!]).map(killOne));
    },
    async restart(index) {
      const list = index === undefined ? members : [members[index]!];
      for (const m of list) launch(m, 'existing');
      await Promise.all(list.map((m) => healthy(m)));
    },
    async stop() {
      await Promise.all(members.map(killOne));
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    for (const m of members) launch(m, 'new');
    await Promise.all(members.map((m) => healthy(m)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
