/**
 * Fast failover on observed death, the lease TTL as the backstop.
 *
 * Every follower keeps one long-lived HTTP request open to the leader's advertised API
 * (GET /api/v1/ha/liveness: the leader answers with its member name and then writes a line every
 * second). When a leader process dies, its kernel closes that connection at once. The follower
 * next in line then asks for proof: a fresh TCP connection to the leader's API port. A refusal
 * (ECONNREFUSED: the host answered, nobody listens on that port) means the process is gone, and
 * the follower revokes the dead leader's etcd lease (Election.revokeDeadLeader) so that etcd
 * deletes its election key now rather than when the TTL runs out.
 *
 * Anything else is no proof and changes nothing: a connect that succeeds (the leader is alive;
 * the stream broke for another reason), a timeout or an unreachable host (a partition looks the
 * same as a dead machine from here). Then only the lease TTL decides, as without this module.
 *
 * Detection is only a speed-up. Safety rests on etcd and the switches: the revoked leader's
 * writes are fenced by its election key, and switches obey only the newest generation_id.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { LeaderInfo } from './election.js';

export const LIVENESS_PATH = '/api/v1/ha/liveness';
/** The member name header of a liveness answer: proves which process holds the stream. */
export const MEMBER_HEADER = 'x-vino-member';
/** How often the leader writes to an open liveness stream (keeps proxies and NAT state alive). */
export const HEARTBEAT_MS = 1000;

/** Fresh connections tried after a drop while the leader's port keeps answering, and their spacing. */
const PROBES = 3;
const PROBE_GAP_MS = 50;

export type ProbeVerdict = 'refused' | 'answered' | 'timeout' | 'unreachable';

/**
 * Opens a fresh TCP connection to `host:port`: 'refused' only on ECONNREFUSED (the peer's kernel
 * sent a reset: nothing listens there), 'answered' when it connects, 'timeout' when nothing came
 * back within `timeoutMs`, 'unreachable' for any other error (no route, host down, DNS).
 */
export function probeRefused(host: string, port: number, timeoutMs = 500): Promise<{ verdict: ProbeVerdict; detail: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (verdict: ProbeVerdict, detail: string) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve({ verdict, detail });
    };
    const timer = setTimeout(() => done('timeout', `no answer from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => {
      // Linux lets a connect to a free local port in the ephemeral range pick that very port as
      // its source and connect to itself (TCP simultaneous open): nothing listens there.
      if (socket.localPort === port && socket.localAddress === socket.remoteAddress) done('refused', `${host}:${port}: nothing listens (the connection reached itself)`);
      else done('answered', `${host}:${port} accepted a connection (from port ${socket.localPort})`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused', `${host}:${port} refused a fresh connection (ECONNREFUSED)`);
      else done('unreachable', `${host}:${port}: ${err.code ?? err.message}`);
    });
  });
}

export interface LivenessOptions {
  logger: Logger;
  /** The bearer token of the members' APIs (members of a cluster share it). */
  token?: string;
  /** Whether this member comes right after the leader (read when the stream drops). */
  nextInLine: () => boolean;
  /** Whether `leader` is still the leader this member knows of. */
  isCurrent: (leader: LeaderInfo) => boolean;
  /** Ends the dead leader's lease (Election.revokeDeadLeader). */
  revoke: (leader: LeaderInfo, reason: string) => Promise<unknown>;
  /** Fresh-connect timeout of the proof, ms (default 500). */
  probeTimeoutMs?: number;
  /** A stream with nothing received for this long is reopened, ms (default 5 heartbeats). */
  silenceMs?: number;
}

/**
 * The follower's side: one liveness stream to the current leader, reopened with backoff while
 * that leader stands (follow() switches it to another leader, or off with null).
 */
export class LeaderLiveness {
  private target?: LeaderInfo;
  private req?: ClientRequest;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = 100;
  private closed = false;
  /** Whether a liveness stream to the current leader is open (the leader answered it). */
  connected = false;
  /** The last verdict for each leader key whose stream dropped (tests, status). */
  readonly verdicts: { leader: string; key: string; verdict: ProbeVerdict | 'not-next'; detail: string; at: string }[] = [];

  constructor(private readonly options: LivenessOptions) {}

  /** Watches `leader` (null, or this member leading: nothing to watch). */
  follow(leader: LeaderInfo | null): void {
    if (this.closed) return;
    if (leader && this.target && leader.key === this.target.key) return;
    this.stopStream();
    this.target = leader && leader.api ? leader : undefined;
    this.retryMs = 100;
    if (leader && !leader.api) this.options.logger.warn({ leader: leader.member }, 'the leader advertises no API: its death is noticed only when its lease runs out');
    if (this.target) this.open(this.target);
  }

  close(): void {
    this.closed = true;
    this.stopStream();
    this.target = undefined;
  }

  private stopStream(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const req = this.req;
    this.req = undefined;
    this.connected = false;
    req?.destroy();
  }

  private open(leader: LeaderInfo): void {
    let url: URL;
    try {
      url = new URL(LIVENESS_PATH, leader.api!.replace(/\/?$/, '/'));
    } catch {
      this.options.logger.warn({ leader: leader.member, api: leader.api }, 'the leader\'s advertised API is not a URL: its death is noticed only when its lease runs out');
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { headers: { accept: 'text/plain', ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) } });
    this.req = req;
    let established = false;
    let ended = false;
    let silence: NodeJS.Timeout | undefined;
    // Until the answer's headers: a listener that accepts and never answers is not a stream.
    const answerTimer = setTimeout(() => finish('failed', `${url.href} did not answer within ${2 * HEARTBEAT_MS} ms`), 2 * HEARTBEAT_MS);
    answerTimer.unref();
    const quiet = () => {
      clearTimeout(silence);
      silence = setTimeout(() => finish('silent', `nothing from the leader for ${this.options.silenceMs ?? 5 * HEARTBEAT_MS} ms`), this.options.silenceMs ?? 5 * HEARTBEAT_MS);
      silence.unref();
    };
    const finish = (how: 'dropped' | 'failed' | 'silent', detail: string) => {
      if (ended) return;
      ended = true;
      clearTimeout(silence);
      clearTimeout(answerTimer);
      req.destroy();
      if (this.req !== req) return; // switched to another leader meanwhile
      this.req = undefined;
      this.connected = false;
      if (how === 'dropped' && established) void this.dropped(leader, url, detail);
      else this.retry(leader, how === 'failed' ? detail : undefined);
    };
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(answerTimer);
      const member = res.headers[MEMBER_HEADER];
      if (res.statusCode !== 200 || member !== leader.member) {
        res.resume();
        // Not the leader's stream (another process on that address, an API that refuses us):
        // nothing here can prove a death.
        finish('failed', `${url.href} answered ${res.statusCode}${member ? ` from member ${String(member)}` : ''}`);
        return;
      }
      established = true;
      this.connected = true;
      this.retryMs = 100;
      quiet();
      res.on('data', quiet);
      res.on('end', () => finish('dropped', 'the leader ended the liveness stream'));
      res.on('error', (err) => finish('dropped', `liveness stream broke: ${err.message}`));
      res.on('close', () => finish('dropped', 'liveness connection closed'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(established ? 'dropped' : 'failed', `${err.code ?? err.message}`));
    req.on('close', () => finish(established ? 'dropped' : 'failed', 'liveness connection closed'));
    req.end();
  }

  private retry(leader: LeaderInfo, why?: string): void {
    if (this.closed || this.target?.key !== leader.key) return;
    if (why && this.retryMs >= 2000) this.options.logger.debug({ leader: leader.member, why }, 'no liveness stream to the leader yet');
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 2000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.target?.key === leader.key && !this.closed) this.open(leader);
    }, wait);
    this.retryTimer.unref();
  }

  /** The leader's stream dropped: the next in line looks for proof of its death. */
  private async dropped(leader: LeaderInfo, url: URL, detail: string): Promise<void> {
    const at = new Date().toISOString();
    if (!this.options.isCurrent(leader)) return;
    if (!this.options.nextInLine()) {
      this.verdicts.push({ leader: leader.member, key: leader.key, verdict: 'not-next', detail, at });
      this.retry(leader);
      return;
    }
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // A dying process's kernel may close the stream's socket a moment before its listening
    // socket: a connect right after the drop may still be accepted into the closing listener's
    // queue, or reset with it (ECONNRESET). Such answers are asked again, briefly; a refusal at
    // any point is proof (a live leader never closes its API listener before resigning).
    let proof = await probeRefused(host, port, this.options.probeTimeoutMs ?? 500);
    for (let i = 1; i < PROBES && (proof.verdict === 'answered' || proof.verdict === 'unreachable') && !this.closed; i++) {
      await new Promise((r) => setTimeout(r, PROBE_GAP_MS));
      proof = await probeRefused(host, port, this.options.probeTimeoutMs ?? 500);
    }
    this.verdicts.push({ leader: leader.member, key: leader.key, verdict: proof.verdict, detail: proof.detail, at });
    if (this.closed || !this.options.isCurrent(leader)) return;
    if (proof.verdict === 'refused') {
      try {
        await this.options.revoke(leader, `${detail}; ${proof.detail}`);
      } catch (err) {
        this.options.logger.warn({ leader: leader.member, err: (err as Error).message }, 'cannot revoke the dead leader\'s lease: its lease TTL decides');
      }
      return;
    }
    this.options.logger.warn({ leader: leader.member, drop: detail, probe: proof.detail, verdict: proof.verdict }, 'lost the liveness stream to the leader but it is not proven dead: its lease TTL decides');
    this.retry(leader);
  }
}

/**
 * The leader's side: a handler body for GET /api/v1/ha/liveness. Returns the response; the
 * stream stays open until the client leaves or `streams` is ended (shutdown, crash()).
 */
export class LivenessStreams {
  private readonly open = new Set<{ end: () => void; socket?: { destroy(): void } }>();

  constructor(private readonly member: string) {}

  respond(socket?: { destroy(): void }): Response {
    let timer: NodeJS.Timeout | undefined;
    const entry: { end: () => void; socket?: { destroy(): void } } = { end: () => {}, ...(socket ? { socket } : {}) };
    const body = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        const line = new TextEncoder().encode('alive\n');
        ctl.enqueue(line);
        timer = setInterval(() => ctl.enqueue(line), HEARTBEAT_MS);
        timer.unref();
        entry.end = () => {
          clearInterval(timer);
          this.open.delete(entry);
          try {
            ctl.close();
          } catch {
            // already closed
          }
        };
        this.open.add(entry);
      },
      cancel: () => {
        clearInterval(timer);
        this.open.delete(entry);
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', [MEMBER_HEADER]: this.member } });
  }

  /** Ends every stream: `abrupt` resets the connections as a dying process's kernel would. */
  closeAll(abrupt: boolean): void {
    for (const e of [...this.open]) {
      if (abrupt && e.socket) {
        this.open.delete(e);
        e.socket.destroy();
      } else {
        e.end();
      }
    }
  }
}
