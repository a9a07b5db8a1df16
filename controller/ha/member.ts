/**
 * One member of a controller cluster: a full controller (OpenFlow sessions to every switch, the
 * API) whose state lives in etcd and whose right to change switches comes from an etcd
 * election. The leader claims OpenFlow MASTER on every switch with its generation id; the
 * others claim SLAVE, follow the shared state through a watch, and take over (read-back, no
 * wipe) when the leader's key goes: its lease expired, or the next in line revoked it on proof
 * that the leader's process died (liveness.ts: fast failover, the TTL stays the backstop).
 *
 * API on a follower: reads (GET, HEAD, the event stream) are served from its own copy; writes
 * are answered 307 with the master's advertised API URL, or 503 while no master is known. On
 * the master, writes are refused with 503 while etcd is unreachable (forwarding carries on).
 */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { Counter } from 'prom-client';
import { startApp, type AppConfig, type RunningApp } from '../app.js';
import { Election, type LeaderInfo, type Revocation } from './election.js';
import { LIVENESS_PATH, LeaderLiveness, LivenessStreams } from './liveness.js';
import { EtcdStateStore, etcdClient } from './store.js';

export interface MemberConfig extends Omit<AppConfig, 'store' | 'role' | 'apiGuard' | 'stateFile'> {
  /** etcd client URLs. */
  etcd: string[];
  /** This member's name (unique in the cluster). */
  member: string;
  /** Where other members send API writes (base URL, e.g. http://10.0.0.2:8080). */
  advertiseApi: string | null;
  /** Election lease TTL, seconds (etcd raises it to its own minimum). */
  leaseTtlSeconds?: number;
  /** Key prefix (default `/vino/<topology name>/`). */
  prefix?: string;
}

export interface MemberStatus {
  member: string;
  role: 'MASTER' | 'SLAVE';
  leader: { member: string; api: string | null; generationId: string } | null;
  etcdReachable: boolean;
  /** When this member last finished claiming MASTER on every connected switch (ISO), if ever. */
  masterSince: string | null;
  /** Dead leaders' leases this member revoked (fast failover), and the last one. */
  revocations: number;
  lastRevocation: Revocation | null;
}

export interface RunningMember extends RunningApp {
  election: Election;
  store: EtcdStateStore;
  /** This member's watch on the leader's liveness (followers). */
  liveness: LeaderLiveness;
  status(): MemberStatus;
  /** Stops as if killed: no resignation, the lease runs out (tests, benchmarks). */
  crash(): Promise<void>;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export async function startMember(config: MemberConfig): Promise<RunningMember> {
  const timeoutMs = 2000;
  const client = etcdClient(config.etcd, timeoutMs);
  const prefix = config.prefix ?? `/vino/${config.topology.name}/`;
  const pino = (await import('pino')).default;
  const logger = (config.logger ?? pino({ level: config.logLevel ?? 'info', base: { app: 'vino-controller' } })).child({ member: config.member });
  const election = new Election(client, { prefix, member: config.member, api: config.advertiseApi, ttlSeconds: config.leaseTtlSeconds ?? 1, logger,
    rejoinDelayMs: () => (app?.controller.inCharge ? 0 : 1000 * (config.leaseTtlSeconds ?? 1) + 500),
  });
  const store = new EtcdStateStore(client, { prefix, fence: () => election.fence(), requestTimeoutMs: timeoutMs });
  let masterSince: string | null = null;
  let app: RunningApp | undefined;
  const streams = new LivenessStreams(config.member);
  const liveness = new LeaderLiveness({
    logger, ...(config.apiToken ? { token: config.apiToken } : {}),
    nextInLine: () => election.nextInLine,
    isCurrent: (l) => election.leader?.key === l.key && !election.isLeader,
    revoke: (l, reason) => election.revokeDeadLeader(l, reason),
  });
  let revocations = 0;
  let lastRevocation: Revocation | null = null;
  let revokedCounter: Counter | undefined;
  // Declared before the API starts (it serves /api/v1/ha), defined once the app runs.
  let status: () => MemberStatus = () => { throw new Error('member not started'); };

  const guard: MiddlewareHandler = async (c, next) => {
    if (!WRITE_METHODS.has(c.req.method)) return next();
    if (!app?.controller.inCharge) {
      const leader = election.leader;
      if (leader?.api && !election.isLeader) {
        const url = new URL(c.req.url);
        return c.redirect(`${leader.api.replace(/\/$/, '')}${url.pathname}${url.search}`, 307);
      }
      return c.json({ error: 'this member is not the master and no master is known: retry shortly' }, 503);
    }
    if (!store.reachable || !election.isLeader) return c.json({ error: 'the shared state store (etcd) is unreachable: writes are refused until it returns; forwarding continues' }, 503);
    return next();
  };

  try {
    await election.start();
  } catch (err) {
    client.close();
    throw new Error(`cannot join the controller cluster through etcd ${config.etcd.join(',')}: ${(err as Error).message}`);
  }
  const first = election.leader;
  const role = { role: election.isLeader ? 'MASTER' as const : 'SLAVE' as const, generationId: first?.generationId ?? 0n };
  if (role.role === 'MASTER') masterSince = new Date().toISOString();
  try {
    app = await startApp({
      ...config, logger, store, role, apiGuard: guard,
      extend: async (api, controller, metrics) => {
        api.get('/api/v1/ha', (c) => c.json(status()));
        // Followers hold this open to notice the leader's death (liveness.ts); every member serves it.
        api.get(LIVENESS_PATH, (c) => streams.respond((c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket));
        revokedCounter = new Counter({ name: 'vino_ha_dead_leader_revocations_total', help: 'Leases of dead leaders revoked by this member (fast failover on a refused connection)', registers: [metrics.registry] });
        await config.extend?.(api, controller, metrics);
      },
    });
  } catch (err) {
    await election.resign();
    client.close();
    throw err;
  }
  const running = app;
  status = (): MemberStatus => ({
    member: config.member,
    role: running.controller.inCharge ? 'MASTER' : 'SLAVE',
    leader: election.leader ? { member: election.leader.member, api: election.leader.api, generationId: election.leader.generationId.toString() } : null,
    etcdReachable: store.reachable,
    masterSince,
    revocations,
    lastRevocation,
  });
  const { controller, migrations } = running;
  await store.watch();

  // A new cluster's first master writes the whole state (the topology's containers too), so
  // that followers and successors adopt it exactly.
  if (controller.inCharge) await controller.saveState();

  store.on('changed', () => {
    if (controller.inCharge) return;
    const snap = store.snapshot();
    controller.adoptLocations(snap.locations, 'etcd', true);
    migrations.restore(snap.migrations, '');
  });

  election.on('revoked', (r: Revocation) => {
    revocations++;
    lastRevocation = r;
    revokedCounter?.inc();
    controller.emit('event', { type: 'leader-revoked', member: config.member, deadLeader: r.member, lease: r.lease, reason: r.reason });
  });

  // Leadership changes are handled one at a time, in order.
  let roleChain = Promise.resolve();
  election.on('leader', (leader: LeaderInfo | null) => {
    liveness.follow(election.isLeader ? null : leader);
    roleChain = roleChain.then(async () => {
      if (!leader) return;
      if (election.isLeader) {
        const started = performance.now();
        // Still master from before (our lease ran out while etcd was away and we won again):
        // memory is ahead of etcd, it is written below. Otherwise take over from what etcd
        // holds, which is at least what the old master confirmed.
        const continuing = controller.inCharge;
        try {
          await store.load();
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'cannot re-read the shared state before taking over: using the watched copy');
        }
        const snap = store.snapshot();
        // An empty store was never written (a fresh cluster): the topology's containers stand.
        if (!continuing && snap.locations.length + snap.migrations.length > 0) {
          controller.adoptLocations(snap.locations, 'etcd', true);
          migrations.restore(snap.migrations, 'taken over after a failover');
        }
        const refused = await controller.assumeRole('MASTER', leader.generationId);
        masterSince = new Date().toISOString();
        logger.info({ generationId: leader.generationId.toString(), refused, ms: Math.round(performance.now() - started) }, 'took over as master');
        controller.emit('event', { type: 'mastership', member: config.member, generationId: leader.generationId.toString(), refused });
        // Whatever changed while etcd was away (or failed to save) is written now.
        void controller.saveState();
      } else {
        masterSince = null;
        await controller.assumeRole('SLAVE', leader.generationId);
      }
    }).catch((err: Error) => logger.error({ err: err.stack }, 'role change failed'));
  });

  liveness.follow(election.isLeader ? null : election.leader);
  // The leadership may have changed between joining and listening.
  if (election.leader && (election.isLeader ? 'MASTER' : 'SLAVE') !== role.role) election.emit('leader', election.leader);

  // While etcd is away: probe it, and once back, write what changed meanwhile.
  const probe = setInterval(() => {
    void client.maintenance.status().then(() => {
      if (!store.reachable) logger.info('etcd reachable again');
      store.setReachable(true);
      if (!controller.storeHealthy && controller.inCharge && election.isLeader) void controller.saveState();
    }, () => store.setReachable(false));
  }, 500);
  probe.unref();

  const shutdown = async (resign: boolean) => {
    clearInterval(probe);
    liveness.close();
    if (resign) await election.resign();
    else await election.abandon();
    // Open liveness streams would hold the API server open; a crash resets them as a dying
    // process's kernel does, in the same tick as the API stops listening (followers' proof).
    streams.closeAll(!resign);
    await running.stop();
    await store.close();
    client.close();
  };

  return {
    ...running,
    election,
    store,
    liveness,
    status,
    stop: () => shutdown(true),
    crash: () => shutdown(false),
  };
}
