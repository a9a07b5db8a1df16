/**
 * Leader election on etcd, the way etcd's own concurrency package does it: every member puts a
 * key under `<prefix>election/` attached to its lease; the key with the lowest create revision
 * is the leader. When the leader dies its lease expires, etcd deletes its key, and the next
 * one leads. The leader key's create revision is the OpenFlow generation_id: the next leader's
 * key was created later, so generations only grow, across elections and members.
 *
 * A lease runs out no sooner than its TTL (1 s at the least etcd grants, plus etcd's expiry
 * scan): too slow a failover for a leader that simply died. So the next in line may also end a
 * dead leader's lease at once (revokeDeadLeader, driven by liveness.ts when it has proof of the
 * death). That is a speed-up only: who may change switches and the shared state never depends
 * on it (see revokeDeadLeader).
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Fence } from './store.js';

export interface LeaderInfo {
  member: string;
  /** The leader's advertised API base URL (followers redirect writes there). */
  api: string | null;
  key: string;
  createRevision: string;
  /** OpenFlow generation_id for this leadership. */
  generationId: bigint;
}

export interface ElectionOptions {
  /** The overlay's key prefix (ends with "/"). */
  prefix: string;
  member: string;
  api: string | null;
  /** Lease TTL in seconds: how long a dead leader keeps the lead (etcd's own floor may be higher). */
  ttlSeconds: number;
  logger: Logger;
  /**
   * How long to wait before joining again after the lease was lost (etcd was away longer than
   * the TTL): the member still acting as master rejoins at once and the others wait, so the
   * master of before the outage leads after it, with what it learned meanwhile.
   */
  rejoinDelayMs?: () => number;
}

/** A dead leader's lease ended early by this member. */
export interface Revocation {
  member: string;
  key: string;
  /** The lease id (decimal, as etcd reports it). */
  lease: string;
  reason: string;
  at: string;
}

/**
 * Events: 'leader' (LeaderInfo | null, every time the leader changes), 'lease-lost' (Error),
 * 'revoked' (Revocation).
 */
export class Election extends EventEmitter {
  leader: LeaderInfo | null = null;
  /** Whether this member's key comes right after the leader's: it succeeds if the leader dies. */
  nextInLine = false;
  private lease?: Lease;
  private ownKey?: { key: string; createRevision: string };
  private watcher?: Watcher;
  private closed = false;
  private evaluating: Promise<void> = Promise.resolve();
  /** Whether the last 'leader' event named this member. */
  private announcedLeading = false;

  constructor(readonly client: Etcd3, readonly options: ElectionOptions) {
    super();
  }

  get isLeader(): boolean {
    return this.leader !== null && this.leader.key === this.ownKey?.key;
  }

  /** The write fence while leading: the store's transactions require our key unchanged. */
  fence(): Fence | undefined {
    return this.isLeader && this.ownKey ? { key: this.ownKey.key, createRevision: this.ownKey.createRevision } : undefined;
  }

  /** Joins the election; resolves once the current leader (maybe us) is known. */
  async start(): Promise<void> {
    this.watcher = await this.client.watch().prefix(this.electionPrefix).create();
    this.watcher.on('data', () => this.evaluate());
    // After a watch reconnect events may have been compacted away: look again.
    this.watcher.on('connected', () => this.evaluate());
    await this.campaign();
  }

  /** Leaves the election cleanly (lease revoked: the next member leads at once). */
  async resign(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    await this.watcher?.cancel().catch(() => {});
    await this.lease?.revoke().catch(() => {});
  }

  /** Stops keeping the lease alive without revoking it: as if this process died (tests, benchmarks). */
  async abandon(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    await this.watcher?.cancel().catch(() => {});
    this.lease?.release();
  }

  private get electionPrefix(): string {
    return `${this.options.prefix}election/`;
  }

  private keepAliveTimer?: NodeJS.Timeout;

  private async campaign(): Promise<void> {
    // Our own keep-alive loop rather than etcd3's: that one gives the lease up after 2 TTLs
    // without etcd, while etcd itself renews every lease when it comes back (a restarted or
    // re-elected etcd leader extends them): keeping on asking lets a master survive an etcd outage.
    const lease = this.client.lease(this.options.ttlSeconds, { autoKeepAlive: false });
    this.lease = lease;
    clearInterval(this.keepAliveTimer);
    const periodMs = (this.options.ttlSeconds * 1000) / 3;
    this.keepAliveTimer = setInterval(() => {
      if (this.closed || this.lease !== lease) return;
      lease.keepaliveOnce({ deadline: new Date(Date.now() + periodMs) }).catch(() => {
        // Unreachable: try again next period. An expired lease emits 'lost' by itself.
      });
    }, periodMs);
    this.keepAliveTimer.unref();
    lease.on('lost', (err: Error) => {
      if (this.closed || this.lease !== lease) return;
      clearInterval(this.keepAliveTimer);
      this.options.logger.warn({ err: err.message }, 'election lease lost: campaigning again');
      this.ownKey = undefined;
      this.emit('lease-lost', err);
      void this.evaluate();
      void this.recampaign();
    });
    const id = await lease.grant();
    const key = `${this.electionPrefix}${BigInt(id).toString(16)}`;
    const value = JSON.stringify({ member: this.options.member, api: this.options.api });
    const res = await this.client.if(key, 'Create', '==', 0).then(lease.put(key).value(value)).commit();
    if (!res.succeeded) throw new Error(`election key ${key} already exists`);
    this.ownKey = { key, createRevision: res.header.revision };
    await this.evaluate();
  }

  private async recampaign(): Promise<void> {
    const wait = this.options.rejoinDelayMs?.() ?? 0;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.campaign();
        return;
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, retryMs: delay }, 'cannot join the election yet');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Ends the lease of `leader`, which the caller has proof is dead (its process refused a fresh
   * connection to its API): etcd deletes its election key at once and the next member leads,
   * instead of waiting for the TTL. Does nothing when that key is gone or belongs to a newer
   * campaign already (re-read here, not taken from the cached view). Resolves with the revocation
   * made, or null.
   *
   * Why a wrong verdict cannot make two masters: the revoked member's writes to etcd are fenced
   * by its election key (every transaction compares the key's create revision: gone, they fail),
   * and switches obey only the highest OpenFlow generation_id, which the successor's later key
   * gives it (the old master's role requests are refused as STALE, and the switch demotes it to
   * SLAVE when the successor claims MASTER). Revoking a live leader costs a needless failover,
   * never a split brain; that is also why only a refusal counts as proof and a timeout does not.
   */
  async revokeDeadLeader(leader: LeaderInfo, reason: string): Promise<Revocation | null> {
    if (this.closed) return null;
    const res = await this.client.get(leader.key).exec();
    const kv = res.kvs[0];
    if (!kv || kv.create_revision !== leader.createRevision) {
      this.options.logger.debug({ leader: leader.member, key: leader.key }, 'dead leader\'s key already gone: nothing to revoke');
      return null;
    }
    if (kv.lease === '0') return null;
    await this.client.leaseClient.leaseRevoke({ ID: kv.lease });
    const done: Revocation = { member: leader.member, key: leader.key, lease: kv.lease, reason, at: new Date().toISOString() };
    this.options.logger.warn({ leader: leader.member, key: leader.key, lease: kv.lease, reason }, 'revoked lease of dead leader');
    this.emit('revoked', done);
    return done;
  }

  /** Looks up the lowest key; emits 'leader' when it changed. Serialised. */
  private evaluate(): Promise<void> {
    this.evaluating = this.evaluating.then(async () => {
      if (this.closed) return;
      try {
        const res = await this.client.getAll().prefix(this.electionPrefix).sort('Create', 'Ascend').limit(2).exec();
        const kv = res.kvs[0];
        this.nextInLine = this.ownKey !== undefined && res.kvs[1]?.key.toString() === this.ownKey.key;
        let next: LeaderInfo | null = null;
        if (kv) {
          const v = JSON.parse(kv.value.toString()) as { member: string; api: string | null };
          next = { member: v.member, api: v.api, key: kv.key.toString(), createRevision: kv.create_revision, generationId: BigInt(kv.create_revision) };
        }
        // Also when only our own standing changed: the watch can report our new key before the
        // put that created it returns (ownKey unset then), and that evaluation names us leader
        // without knowing it is us; the one after must still say so.
        const leading = next !== null && next.key === this.ownKey?.key;
        if (next?.key === this.leader?.key && leading === this.announcedLeading) return;
        this.leader = next;
        this.announcedLeading = leading;
        this.options.logger.info({ leader: next?.member ?? null, generationId: next?.generationId.toString() ?? null, me: this.isLeader }, 'leader changed');
        this.emit('leader', next);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message }, 'cannot read the election state');
      }
    });
    return this.evaluating;
  }
}
