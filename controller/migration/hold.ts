/**
 * Frames held for frozen migrations: per migration a FIFO of whole frames, bounded in frames
 * and bytes per migration and over all migrations together. A frame beyond a cap is dropped
 * and counted, never queued out of order: what is held is always a prefix of what arrived.
 */

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

export class HeldFrames {
  /** Frames queued, oldest first; those before `head` were taken already. */
  private frames: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Counters over the queue's life. */
  held = 0;
  heldBytes = 0;
  dropped = 0;

  constructor(private readonly budget: HoldBudget) {}

  get length(): number {
    return this.frames.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queues a copy of `frame`; false (and counted as dropped) when a cap would be exceeded. */
  push(frame: Uint8Array): boolean {
    const { limits } = this.budget;
    const n = frame.length;
    if (this.length + 1 > limits.maxFrames || this.queuedBytes + n > limits.maxBytes
      || this.budget.frames + 1 > limits.maxTotalFrames || this.budget.bytes + n > limits.maxTotalBytes) {
      this.dropped++;
      return false;
    }
    // The decoder's data is a view into the receive buffer: keep a copy of our own.
    this.frames.push(Buffer.from(frame));
    this.queuedBytes += n;
    this.budget.frames++;
    this.budget.bytes += n;
    this.held++;
    this.heldBytes += n;
    return true;
  }

  /** Takes the oldest `max` queued frames (all by default), oldest first, and gives their room back. */
  take(max = Infinity): Buffer[] {
    const end = Math.min(this.frames.length, this.head + max);
    const out = this.head === 0 && end === this.frames.length ? this.frames : this.frames.slice(this.head, end);
    let bytes = 0;
    for (const f of out) bytes += f.length;
    if (end === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else {
      this.head = end;
    }
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
