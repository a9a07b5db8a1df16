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
}

// A 1 s freeze of a container receiving ~10k frames/s fits per migration; the totals bound
// the controller's memory whatever floods it.
export const defaultHoldLimits: HoldLimits = {
  maxFrames: 16_384,
  maxBytes: 16 * 1024 * 1024,
  maxTotalFrames: 131_072,
  maxTotalBytes: 64 * 1024 * 1024,
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
  /** Frames queued and not yet taken, oldest first. */
  private frames: Buffer[] = [];
  private queuedBytes = 0;
  /** Counters over the queue's life. */
  held = 0;
  heldBytes = 0;
  dropped = 0;

  constructor(private readonly budget: HoldBudget) {}

  get length(): number {
    return this.frames.length;
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

  /** Takes every queued frame, oldest first, and gives their room back. */
  take(): Buffer[] {
    const out = this.frames;
    this.frames = [];
    this.budget.frames -= out.length;
    this.budget.bytes -= this.queuedBytes;
    this.queuedBytes = 0;
    return out;
  }

  /** Drops everything queued (abort, switch gone); returns how many frames. */
  discard(): number {
    const n = this.take().length;
    this.dropped += n;
    return n;
  }
}
