/**
 * Frames held for frozen migrations: per migration the frames of each conversation
 * (transportFlowKey) in arrival order, bounded in frames and bytes per migration and over all
 * migrations together. A frame beyond a cap is dropped and counted, never queued out of order:
 * what is held of a conversation is always a prefix of what arrived.
 *
 * Taken conversation by conversation, one frame each in turn (the order in which they first
 * arrived), not in arrival order over all: a connection attempted during the freeze (a SYN, one
 * frame) is answered as soon as the container runs, not once a stream's whole backlog is out;
 * no conversation sees its own frames reordered. A frame of a conversation with nothing queued
 * may be sent on at once (see MigrationManager.onHeldFrame).
 */
import { transportFlowKey } from '../core/packet.js';

export interface HoldLimits {
  /** Frames held per migration. */
  maxFrames: number;
  /** Bytes held per migration. */
  maxBytes: number;
  /** Frames held over all migrations. */
  maxTotalFrames: number;
  /** Bytes held over all migrations. */
  maxTotalBytes: number;
  /**
   * Frames per replay burst: each burst's PACKET_OUTs are confirmed by a barrier before the
   * next goes, so a receiver gets the backlog at the pace the switch delivers it, not all at
   * once into a socket buffer sized for steady traffic. 0: the whole backlog at once. With the
   * replay window (port counters) the window sizes the bursts; a backlog of at most one burst
   * goes at once.
   */
  replayBurst: number;
  /**
   * Frames the replay delivers at the new port (its tx count) after the container last sent one
   * (its rx count), read from the switch's port counters before each burst: a running service
   * that answers what it reads keeps the window open; a frozen or descheduled one closes it, so
   * the backlog waits at the controller instead of overflowing a socket buffer. 0: bursts paced
   * by barriers only.
   */
  replayWindow: number;
  /**
   * A closed window with no frame from the container for this long (ms) sends one burst anyway:
   * a service that never answers (a sink) still gets its backlog, one window per this time.
   */
  replayIdleMs: number;
}

// A 1 s freeze of a container receiving ~10k frames/s fits per migration; the totals bound
// the controller's memory whatever floods it.
export const defaultHoldLimits: HoldLimits = {
  maxFrames: 16_384,
  maxBytes: 16 * 1024 * 1024,
  maxTotalFrames: 131_072,
  maxTotalBytes: 64 * 1024 * 1024,
  // Small datagrams cost a socket about 1 KiB each (skb truesize): 64 is a small part of
  // Linux's default 208 KiB receive buffer, whatever the service already had queued.
  replayBurst: 64,
  // Linux's default 208 KiB UDP receive buffer took a 200 ms freeze of 1 ms datagrams whole
  // (bench:migration, control mode): 128 outstanding frames leave it room for what else arrives.
  replayWindow: 128,
  replayIdleMs: 100,
};

export function checkHoldLimits(limits: Partial<HoldLimits>): HoldLimits {
  const out = { ...defaultHoldLimits, ...limits };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`hold limit ${k}: expected a non-negative integer, got ${String(v)}`);
  }
  return out;
}

/** What all queues hold together (one per controller). */
export class HoldBudget {
  frames = 0;
  bytes = 0;
  constructor(readonly limits: HoldLimits) {}
}

/** One conversation's queued frames, oldest first; those before `head` were taken already. */
interface Conversation {
  frames: Buffer[];
  head: number;
}

export class HeldFrames {
  /** Conversations with frames queued, in turn order: the next frame comes from the first. */
  private readonly conversations = new Map<string, Conversation>();
  private queuedFrames = 0;
  private queuedBytes = 0;
  /** Counters over the queue's life. */
  held = 0;
  heldBytes = 0;
  dropped = 0;

  constructor(private readonly budget: HoldBudget) {}

  get length(): number {
    return this.queuedFrames;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Whether a frame of `key`'s conversation is queued. */
  holdsFlow(key: string): boolean {
    return this.conversations.has(key);
  }

  /** Queues a copy of `frame`; false (and counted as dropped) when a cap would be exceeded. */
  push(frame: Uint8Array, key = transportFlowKey(frame)): boolean {
    if (!this.admits(frame.length)) return false;
    const n = frame.length;
    const c = this.conversations.get(key);
    // The decoder's data is a view into the receive buffer: keep a copy of our own.
    if (c) c.frames.push(Buffer.from(frame));
    else this.conversations.set(key, { frames: [Buffer.from(frame)], head: 0 });
    this.queuedFrames++;
    this.queuedBytes += n;
    this.budget.frames++;
    this.budget.bytes += n;
    this.held++;
    this.heldBytes += n;
    return true;
  }

  /**
   * A copy of `frame` to send on now, counted as held but not queued; undefined (and counted
   * as dropped) when queueing it would exceed a cap: a stream passing the queue is bounded as
   * one queued.
   */
  pass(frame: Uint8Array): Buffer | undefined {
    if (!this.admits(frame.length)) return undefined;
    this.held++;
    this.heldBytes += frame.length;
    return Buffer.from(frame);
  }

  /** Whether one more frame of `n` bytes fits every cap; counts a drop when not. */
  private admits(n: number): boolean {
    const { limits } = this.budget;
    if (this.length + 1 > limits.maxFrames || this.queuedBytes + n > limits.maxBytes
      || this.budget.frames + 1 > limits.maxTotalFrames || this.budget.bytes + n > limits.maxTotalBytes) {
      this.dropped++;
      return false;
    }
    return true;
  }

  /**
   * Takes `max` queued frames (all by default), one per conversation in turn, each
   * conversation's oldest first, and gives their room back.
   */
  take(max = Infinity): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    while (out.length < max) {
      const next = this.conversations.entries().next();
      if (next.done) break;
      const [key, c] = next.value;
      const f = c.frames[c.head++]!;
      out.push(f);
      bytes += f.length;
      // Its turn is over: to the back of the line, or gone when empty.
      this.conversations.delete(key);
      if (c.head === c.frames.length) continue;
      // Taken frames are not kept alive by a conversation that never empties (a stream).
      if (c.head >= 64 && 2 * c.head >= c.frames.length) {
        c.frames = c.frames.slice(c.head);
        c.head = 0;
      }
      this.conversations.set(key, c);
    }
    this.queuedFrames -= out.length;
    this.budget.frames -= out.length;
    this.budget.bytes -= bytes;
    this.queuedBytes -= bytes;
    return out;
  }

  /** Drops everything queued (abort, switch gone); returns how many frames. */
  discard(): number {
    const n = this.take().length;
    this.dropped += n;
    return n;
  }
}
