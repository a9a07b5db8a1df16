/**
 * One OpenFlow 1.3 connection to a switch: negotiation, keep-alive, request/reply matching by
 * xid with timeouts, multipart reassembly, and barrier-confirmed batches. It knows nothing of
 * ViNO's forwarding: the controller drives it.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { MessageTypeCode, OFP_VERSION } from '../../src/openflow/constants.js';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { readRawFlowStatsReply, type RawFlowStats } from '../../src/openflow/decode/flow-stats-raw.js';
import { encodeMessageInto } from '../../src/openflow/encode/index.js';
import { OpenFlowError, errorCodeName, errorTypeName } from '../../src/openflow/errors.js';
import { HeaderError, MessageFramer } from '../../src/openflow/framer.js';
import { checkHeader } from '../../src/openflow/header-check.js';
import { BufferWriter } from '../../src/openflow/writer.js';
import type { ReportedPort } from '../core/topology-fabric.js';
import type {
  ControllerRole, ErrorMessage, FeaturesReply, Message, MultipartReplyBody, MultipartRequestBody, PortDesc, RoleReply,
} from '../../src/openflow/types/index.js';

export interface SessionOptions {
  /** Send an ECHO_REQUEST after this long without hearing from the switch. */
  echoIntervalMs: number;
  /** Drop the switch after this long without hearing from it. */
  idleTimeoutMs: number;
  /** Default time a request (or a batch's barrier) may take. */
  requestTimeoutMs: number;
  /** Time allowed for HELLO + FEATURES + port description. */
  handshakeTimeoutMs: number;
  /** Time allowed for the switch's HELLO to arrive whole (a slow sender is dropped). */
  helloTimeoutMs: number;
  /** PACKET_INs handled per second (bucket of one second's worth); more are dropped unread. 0: no limit. */
  packetInRate: number;
  /** ECHO_REQUESTs answered per second, likewise. 0: no limit. */
  echoRate: number;
  /** Malformed (but framed) messages tolerated per session; one more closes it. 0: no limit. */
  maxBadMessages: number;
  /** Close a switch that does not read: the bytes we may queue for it. */
  maxQueuedBytes: number;
  /** Parts of one multipart reply we accept before giving up on it (each part <= 64 KiB). */
  maxMultipartParts: number;
  /**
   * The names the switch's ports should have, by name (each name its own value), for the ports
   * reported at the handshake: a reported port equal to one keeps that string instead of the one
   * decoded (the controller's topology names every container port: 100k ports each kept a copy).
   */
  knownPortNames?: (datapathId: bigint) => ReadonlyMap<string, string> | undefined;
}

export const defaultSessionOptions: SessionOptions = {
  echoIntervalMs: 5_000,
  idleTimeoutMs: 15_000,
  requestTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  helloTimeoutMs: 5_000,
  packetInRate: 10_000,
  echoRate: 100,
  maxBadMessages: 100,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxMultipartParts: 4096,
};

/** A request or batch failed: the switch answered with an error, timed out, or went away. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(message: string, readonly code: 'TIMEOUT' | 'CLOSED' | 'SWITCH_ERROR' | 'PROTOCOL', readonly switchErrors: SwitchErrorReport[] = []) {
    super(message);
  }
}

/** An OFPT_ERROR the switch sent about one of our messages. */
export interface SwitchErrorReport {
  xid: number;
  /** The message we sent with that xid, when it was part of a tracked request or batch. */
  request?: Message;
  errorType: number;
  code: number;
  text: string;
}

export interface BatchResult {
  /** Messages sent, barrier excluded. */
  sent: number;
  /** From the first write to the barrier reply. */
  elapsedMs: number;
}

interface Pending {
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  /** When it times out (performance.now() ms), and how that is told. */
  deadline: number;
  timeout: { ms: number; what: string };
  request: Message;
  /** For multipart requests: the reply bodies received so far. */
  parts?: MultipartReplyBody[];
  /** For flow stats read raw (multipartRawFlows): the entries received so far, and the replies. */
  rawFlows?: RawFlowStats[];
  rawParts?: number;
  /** For batches: the batch's messages, and errors that referenced them. */
  batch?: Batch;
}

/** Messages sent with consecutive xids from `firstXid`, confirmed by the barrier `barrierXid`. */
interface Batch {
  firstXid: number;
  msgs: Message[];
  barrierXid: number;
  errors: SwitchErrorReport[];
  started: number;
}

/** The last xid before they wrap to 1 (0 is "none yet" to send()). */
const XID_LAST = 0xfffffff0;
/** A session's write buffer to start with: below half of Node's pool size, so a slice of its pool. */
const WRITER_BYTES = 2048;

export type SessionState = 'handshake' | 'ready' | 'closed';

/**
 * Events: 'ready' (features and ports known), 'message' (every message not consumed as a
 * reply: PACKET_IN, PORT_STATUS, FLOW_REMOVED, unsolicited ERROR, ...), 'port' (port table
 * changed: reason, desc), 'close' (reason text). Errors never escape as 'error' events.
 */
export class SwitchSession extends EventEmitter {
  state: SessionState = 'handshake';
  datapathId?: bigint;
  features?: FeaturesReply;
  /** What the switch reports of each port: the fields the controller reads, not the whole PortDesc (one per container: 100k of them). */
  readonly ports = new Map<number, SwitchPort>();
  /** Counters for metrics and the API. */
  readonly stats = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, errorsIn: 0, dropped: 0 };
  readonly remote: string;
  closeReason?: string;

  private readonly options: SessionOptions;
  private readonly framer = new MessageFramer(undefined, (version, type, length) => this.judgeHeader(version, type, length));
  /** A HELLO header from the switch was seen: from now on only 1.3 headers are accepted. */
  private helloSeen = false;
  private badMessages = 0;
  private helloTimer?: NodeJS.Timeout;
  private readonly packetInBucket: TokenBucket;
  private readonly echoBucket: TokenBucket;
  // Small (from Node's pool) and handed to the socket whole at each flush (take): a session's
  // 64 KiB writer kept for good was 64 MiB for a thousand idle switches, and a start-up's burst
  // grew it further.
  private readonly writer = new BufferWriter(WRITER_BYTES);
  private readonly pending = new Map<number, Pending>();
  private nextXid = 1;
  private lastHeard = Date.now();
  private keepAlive?: NodeJS.Timeout;
  private handshakeTimer?: NodeJS.Timeout;
  private flushScheduled = false;

  constructor(readonly socket: Socket, options: Partial<SessionOptions> = {}) {
    super();
    this.options = { ...defaultSessionOptions, ...options };
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by the switch'));
    this.packetInBucket = new TokenBucket(this.options.packetInRate);
    this.echoBucket = new TokenBucket(this.options.echoRate);
    this.handshakeTimer = setTimeout(() => this.close(`handshake not complete within ${this.options.handshakeTimeoutMs} ms`), this.options.handshakeTimeoutMs);
    this.helloTimer = setTimeout(() => this.close(`no HELLO from the switch within ${this.options.helloTimeoutMs} ms`), this.options.helloTimeoutMs);
    this.keepAlive = setInterval(() => this.checkAlive(), Math.min(this.options.echoIntervalMs, this.options.idleTimeoutMs) / 2);
    this.keepAlive.unref();
    this.send({ type: 'HELLO', xid: this.allocXid(), version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', versions: [OFP_VERSION] }] });
  }

  get name(): string {
    return this.datapathId === undefined ? this.remote : `dpid ${dpidText(this.datapathId)}`;
  }

  /** Queues a message (assigning an xid if it has none) and returns its xid. */
  send(msg: Message): number {
    if (this.state === 'closed') throw new SessionError(`session ${this.name} is closed`, 'CLOSED');
    if (!msg.xid) msg.xid = this.allocXid();
    encodeMessageInto(this.writer, msg);
    this.stats.messagesOut++;
    if (this.writer.pos >= 256 * 1024) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return msg.xid;
  }

  /** Sends a request that has exactly one reply message (features, barrier, role, ...). */
  request(msg: Message, timeoutMs = this.options.requestTimeoutMs): Promise<Message> {
    return new Promise((resolve, reject) => {
      const xid = this.send(msg);
      this.track(xid, { resolve, reject, request: msg, ...this.deadline(timeoutMs, msg.type) });
    });
  }

  /** A multipart request; resolves with every reply body once the last part (no MORE flag) arrives. */
  multipart(body: MultipartRequestBody, timeoutMs = this.options.requestTimeoutMs): Promise<MultipartReplyBody[]> {
    return new Promise((resolve, reject) => {
      const msg: Message = { type: 'MULTIPART_REQUEST', xid: 0, flags: 0, body };
      const xid = this.send(msg);
      const entry: Pending = {
        resolve: () => resolve(entry.parts ?? []), reject, request: msg, parts: [],
        ...this.deadline(timeoutMs, `multipart ${body.kind}`),
      };
      this.track(xid, entry);
    });
  }

  /**
   * A FLOW multipart request whose replies are read without decoding each entry's match and
   * instructions (see flow-stats-raw.ts); resolves with every entry once the last part arrives.
   */
  multipartRawFlows(selection: Extract<MultipartRequestBody, { kind: 'FLOW' }>, timeoutMs = this.options.requestTimeoutMs): Promise<RawFlowStats[]> {
    return new Promise((resolve, reject) => {
      const msg: Message = { type: 'MULTIPART_REQUEST', xid: 0, flags: 0, body: selection };
      const xid = this.send(msg);
      const entry: Pending = {
        resolve: () => resolve(entry.rawFlows ?? []), reject, request: msg, rawFlows: [], rawParts: 0,
        ...this.deadline(timeoutMs, 'multipart FLOW'),
      };
      this.track(xid, entry);
    });
  }

  /** A reply to multipartRawFlows: read raw; true if it was one. */
  private rawFlowReply(frame: Buffer): boolean {
    if (frame[1] !== MessageTypeCode.MULTIPART_REPLY || frame.length < 16) return false;
    const xid = frame.readUInt32BE(4);
    const p = this.pending.get(xid);
    if (!p?.rawFlows) return false;
    let part: ReturnType<typeof readRawFlowStatsReply>;
    try {
      part = readRawFlowStatsReply(frame);
    } catch (err) {
      this.protocolError(err, frame.subarray(0, 64), xid);
      this.settled(xid);
      p.reject(new SessionError(`malformed flow stats reply from ${this.name}: ${(err as Error).message}`, 'PROTOCOL'));
      return true;
    }
    for (const f of part.flows) p.rawFlows.push(f);
    // The entries are in rawFlows: the message handed on is only the last part's header.
    this.partArrived(xid, p, ++p.rawParts!, part.more, { type: 'MULTIPART_REPLY', xid, flags: 0, body: { kind: 'FLOW', flows: [] } });
    return true;
  }

  /**
   * Part `count` of a multipart reply arrived: the last one (no MORE flag) resolves the request
   * with `last`; past maxMultipartParts the request fails.
   */
  private partArrived(xid: number, p: Pending, count: number, more: boolean, last: Message): void {
    if (!more) {
      this.settled(xid);
      p.resolve(last);
    } else if (count > this.options.maxMultipartParts) {
      this.settled(xid);
      p.reject(new SessionError(`multipart reply from ${this.name} exceeds ${count} parts`, 'PROTOCOL'));
    }
  }

  /**
   * Sends `msgs` followed by a barrier; resolves when the barrier reply arrives (the switch has
   * processed them all). If the switch reported errors for any of them, rejects with a
   * SessionError listing each failed message.
   */
  applyBatch(msgs: Message[], timeoutMs = this.options.requestTimeoutMs): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      // The members get consecutive xids (one synchronous run of allocXid): the batch is a range,
      // not a map entry per message, which thousands of learned MACs per sync would cost.
      let firstXid = 0;
      for (const m of msgs) {
        m.xid = 0;
        const x = this.send(m);
        if (firstXid === 0) firstXid = x;
      }
      const barrier: Message = { type: 'BARRIER_REQUEST', xid: 0 };
      const xid = this.send(barrier);
      const batch: Batch = { firstXid, msgs, barrierXid: xid, errors: [], started };
      if (msgs.length > 0) this.batches.add(batch);
      this.track(xid, {
        request: barrier,
        batch,
        ...this.deadline(timeoutMs, `barrier after ${msgs.length} messages`),
        resolve: () => {
          this.batches.delete(batch);
          if (batch.errors.length > 0) {
            reject(new SessionError(`${batch.errors.length} of ${msgs.length} messages refused by ${this.name}: ${batch.errors.map((e) => e.text).join('; ')}`, 'SWITCH_ERROR', batch.errors));
          } else {
            resolve({ sent: msgs.length, elapsedMs: performance.now() - started });
          }
        },
        reject: (e) => {
          this.batches.delete(batch);
          reject(e);
        },
      });
    });
  }

  /**
   * OpenFlow roles (several controllers per switch): asks for `role` with the election's
   * generation id. A switch that saw a newer generation refuses a MASTER/SLAVE request with
   * ROLE_REQUEST_FAILED/STALE: that rejects with a SessionError whose switchErrors say so.
   */
  async requestRole(role: ControllerRole, generationId: bigint): Promise<RoleReply> {
    const reply = await this.request({ type: 'ROLE_REQUEST', xid: 0, role, generationId });
    this.role = (reply as RoleReply).role;
    return reply as RoleReply;
  }

  /** The role the switch last confirmed (EQUAL until a ROLE_REQUEST succeeds). */
  role: ControllerRole = 'EQUAL';

  /** Closes the connection; pending requests fail with CLOSED. Flows on the switch are untouched. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    clearInterval(this.keepAlive);
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.helloTimer);
    for (const [xid, p] of this.pending) {
      p.reject(new SessionError(`${p.request.type} (xid ${xid}) to ${this.name} failed: ${reason}`, 'CLOSED'));
    }
    this.pending.clear();
    this.batches.clear();
    if (this.writer.pos > 0 && !this.socket.destroyed) this.flush(true);
    this.socket.end();
    this.socket.destroySoon?.();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.emit('close', reason);
  }

  // ---------------------------------------------------------------------------------------

  /** Batches whose barrier reply has not come yet (a few at a time). */
  private readonly batches = new Set<Batch>();

  /** The batch that sent xid `xid`, and which of its messages that was. */
  private batchMember(xid: number): { batch: Batch; request: Message } | undefined {
    for (const batch of this.batches) {
      // xids run 1..XID_LAST and wrap to 1.
      const index = xid >= batch.firstXid ? xid - batch.firstXid : xid + XID_LAST - batch.firstXid;
      if (index < batch.msgs.length) return { batch, request: batch.msgs[index]! };
    }
    return undefined;
  }

  private allocXid(): number {
    const xid = this.nextXid;
    this.nextXid = this.nextXid >= XID_LAST ? 1 : this.nextXid + 1;
    return xid;
  }

  /**
   * One timer per session for every pending request, armed for the earliest deadline: a timer
   * set and cleared per request was a measurable share of a small batch's cost (one batch per
   * learned MAC when packet-ins come one at a time).
   */
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = Infinity;

  private deadline(ms: number, what: string): Pick<Pending, 'deadline' | 'timeout'> {
    const at = performance.now() + ms;
    if (at < this.deadlineAt) this.armDeadline(at);
    return { deadline: at, timeout: { ms, what } };
  }

  private armDeadline(at: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    // setTimeout takes at most 2^31-1 ms (longer fires at once); a later deadline re-arms on expiry.
    this.deadlineTimer = setTimeout(() => this.expire(), Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())));
  }

  /** Fails every request past its deadline; the timer then waits for the earliest one left. */
  private expire(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [xid, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(xid);
        p.reject(new SessionError(`${p.timeout.what} (xid ${xid}) to ${this.name}: no reply within ${p.timeout.ms} ms`, 'TIMEOUT'));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next < Infinity && this.state !== 'closed') this.armDeadline(next);
  }

  /**
   * A request answered (or failed otherwise). The timer stays armed when nothing is pending: it
   * keeps nothing alive that the open socket does not (close() clears it), and leaving it saves
   * re-arming it for every batch.
   */
  private settled(xid: number): void {
    this.pending.delete(xid);
  }

  private track(xid: number, p: Pending): void {
    if (this.state === 'closed') {
      p.reject(new SessionError(`session ${this.name} is closed`, 'CLOSED'));
      return;
    }
    this.pending.set(xid, p);
  }

  private flush(final = false): void {
    this.flushScheduled = false;
    if (this.writer.pos === 0 || this.socket.destroyed) return;
    const bytes = this.writer.take();
    this.stats.bytesOut += bytes.length;
    this.socket.write(bytes);
    // Backpressure: a switch that stops reading must not make us buffer without bound.
    if (!final && this.socket.writableLength > this.options.maxQueuedBytes) {
      this.close(`switch is not reading: ${this.socket.writableLength} bytes queued`);
    }
  }

  private checkAlive(): void {
    if (this.state === 'closed') return;
    const silent = Date.now() - this.lastHeard;
    if (silent >= this.options.idleTimeoutMs) {
      this.close(`no message from the switch for ${silent} ms (echo timeout)`);
    } else if (silent >= this.options.echoIntervalMs) {
      this.send({ type: 'ECHO_REQUEST', xid: 0, data: Buffer.alloc(0) });
    }
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.stats.bytesIn += chunk.length;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.refuseHeader(err);
      return;
    }
    // Only whole messages count as signs of life: a sender dribbling one byte at a time is idle.
    if (frames.length > 0) this.lastHeard = Date.now();
    for (const frame of frames) {
      // A message handled earlier in this chunk may have closed the session.
      if ((this.state as SessionState) === 'closed') return;
      this.stats.messagesIn++;
      // Floods are cut before decoding: the cost of a dropped message is a header read.
      const type = frame[1];
      if ((type === MessageTypeCode.PACKET_IN && !this.packetInBucket.take()) || (type === MessageTypeCode.ECHO_REQUEST && !this.echoBucket.take())) {
        this.stats.dropped++;
        continue;
      }
      if (this.rawFlowReply(frame)) continue;
      let msg: Message;
      try {
        msg = decodeMessage(frame);
      } catch (err) {
        // One bad message: answer with the error it deserves and carry on (the framing is intact);
        // a stream of them is a broken or hostile peer whose errors would cost us more than it.
        this.protocolError(err, frame.subarray(0, 64), frame.length >= 8 ? frame.readUInt32BE(4) : 0);
        if (this.options.maxBadMessages > 0 && ++this.badMessages > this.options.maxBadMessages) {
          this.close(`more than ${this.options.maxBadMessages} malformed messages`);
          return;
        }
        continue;
      }
      try {
        this.dispatch(msg);
      } catch (err) {
        this.emit('internal-error', err);
      }
    }
    if (this.framer.failure && (this.state as SessionState) !== 'closed') this.refuseHeader(this.framer.failure);
    // Fairness: after a big chunk, let the event loop go round (other switches, new connections)
    // before reading more from this one; a flooding switch would otherwise be read from again
    // and again while accepts wait.
    if (chunk.length >= FAIR_READ_BYTES && (this.state as SessionState) !== 'closed') {
      this.socket.pause();
      setImmediate(() => {
        if (this.state !== 'closed') this.socket.resume();
      });
    }
  }

  /** The header rules of header-check.ts, with this session's negotiation state. */
  private judgeHeader(version: number, type: number, length: number): void {
    checkHeader(version, type, length, this.helloSeen);
    if (type === MessageTypeCode.HELLO) this.helloSeen = true;
  }

  /**
   * A refused header: the stream cannot be resynchronised after it, and its announced body is
   * not waited for. The ERROR carries the header bytes; then the session closes.
   */
  private refuseHeader(err: unknown): void {
    const header = err instanceof HeaderError ? err.header : Buffer.alloc(0);
    this.protocolError(err, header, header.length >= 8 ? header.readUInt32BE(4) : 0);
    this.close(`refused header ${header.toString('hex') || '(none)'}: ${(err as Error).message}`);
  }

  private protocolError(err: unknown, data: Buffer, xid = 0): void {
    if (!(err instanceof OpenFlowError)) {
      this.emit('internal-error', err);
      return;
    }
    this.emit('protocol-error', err);
    try {
      this.send({ type: 'ERROR', xid, version: OFP_VERSION, errorType: err.type, code: err.code, data: Buffer.from(data) });
    } catch {
      /* closed meanwhile */
    }
  }

  private dispatch(msg: Message): void {
    switch (msg.type) {
      case 'HELLO':
        clearTimeout(this.helloTimer);
        return this.onHello(msg.version, msg.elements);
      case 'ECHO_REQUEST':
        this.send({ type: 'ECHO_REPLY', xid: msg.xid, data: Buffer.from(msg.data) });
        return;
      case 'ECHO_REPLY':
        return;
      case 'ERROR':
        return this.onError(msg);
      case 'MULTIPART_REPLY': {
        const p = this.pending.get(msg.xid);
        if (!p?.parts) break;
        p.parts.push(msg.body);
        this.partArrived(msg.xid, p, p.parts.length, (msg.flags & 1) !== 0, msg);
        return;
      }
      case 'PORT_STATUS':
        if (msg.reason === 'DELETE') this.ports.delete(msg.desc.portNo);
        else {
          // A port changed, not renamed: its name as kept (see knownPortNames).
          const was = this.ports.get(msg.desc.portNo)?.name;
          this.ports.set(msg.desc.portNo, switchPort(msg.desc, was === msg.desc.name ? was : msg.desc.name));
        }
        this.emit('port', msg.reason, msg.desc);
        break;
      default: {
        const p = this.pending.get(msg.xid);
        if (p && !p.parts && isReplyTo(p.request, msg)) {
          this.settled(msg.xid);
          p.resolve(msg);
          return;
        }
      }
    }
    this.emit('message', msg);
  }

  private onHello(peerVersion: number, elements: { type: string; versions?: number[] }[]): void {
    if (this.state !== 'handshake') return;
    const bitmap = elements.find((e) => e.type === 'VERSIONBITMAP');
    const speaks13 = bitmap?.versions ? bitmap.versions.includes(OFP_VERSION) : peerVersion >= OFP_VERSION;
    if (!speaks13) {
      const text = `this controller speaks OpenFlow 1.3 (0x04) only; the switch offered ${bitmap?.versions ? bitmap.versions.map((v) => `0x0${v}`).join(',') : `up to 0x0${peerVersion}`}`;
      this.send({ type: 'ERROR', xid: 0, version: OFP_VERSION, errorType: 0, code: 0, data: Buffer.from(text) });
      this.close(`version mismatch: ${text}`);
      return;
    }
    void this.completeHandshake();
  }

  private async completeHandshake(): Promise<void> {
    try {
      const features = (await this.request({ type: 'FEATURES_REQUEST', xid: 0 })) as FeaturesReply;
      this.features = features;
      this.datapathId = features.datapathId;
      // Whole packets to the controller: proxy ARP and learning need the frame, not a buffer id.
      this.send({ type: 'SET_CONFIG', xid: 0, flags: 0, missSendLen: 0xffff });
      const parts = await this.multipart({ kind: 'PORT_DESC' });
      const known = this.options.knownPortNames?.(features.datapathId);
      for (const part of parts) {
        if (part.kind !== 'PORT_DESC') continue;
        for (const p of part.ports) this.ports.set(p.portNo, switchPort(p, known?.get(p.name) ?? p.name));
      }
      clearTimeout(this.handshakeTimer);
      if ((this.state as SessionState) === 'closed') return;
      this.state = 'ready';
      this.emit('ready');
    } catch (err) {
      this.close(`handshake failed: ${(err as Error).message}`);
    }
  }

  private onError(msg: ErrorMessage): void {
    this.stats.errorsIn++;
    const code = 'experimenter' in msg ? msg.expType : msg.code;
    const text = 'experimenter' in msg
      ? `experimenter error 0x${msg.experimenter.toString(16)}/${msg.expType}`
      : `${errorTypeName(msg.errorType)}/${errorCodeName(msg.errorType, msg.code)}`;
    const member = this.batchMember(msg.xid);
    if (member) {
      const { batch, request } = member;
      batch.errors.push({ xid: msg.xid, request, errorType: msg.errorType, code, text: `${request.type} xid ${msg.xid}: ${text}` });
      return;
    }
    const p = this.pending.get(msg.xid);
    if (p) {
      this.settled(msg.xid);
      const report: SwitchErrorReport = { xid: msg.xid, request: p.request, errorType: msg.errorType, code, text };
      p.reject(new SessionError(`${p.request.type} (xid ${msg.xid}) refused by ${this.name}: ${text}`, 'SWITCH_ERROR', [report]));
      return;
    }
    if (this.state === 'handshake' && msg.errorType === 0) {
      this.close(`switch refused the handshake: ${text} ${msg.data.toString('latin1').replace(/[^\x20-\x7e]/g, '')}`);
      return;
    }
    this.emit('message', msg);
  }
}

const FAIR_READ_BYTES = 16 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Allows `rate` events per second on average, in bursts of up to one second's worth. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  take(): boolean {
    if (this.rate <= 0) return true;
    if (this.tokens < 1) {
      const now = performance.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens < 1) return false;
    }
    this.tokens--;
    return true;
  }
}

function isReplyTo(request: Message, reply: Message): boolean {
  switch (request.type) {
    case 'FEATURES_REQUEST': return reply.type === 'FEATURES_REPLY';
    case 'GET_CONFIG_REQUEST': return reply.type === 'GET_CONFIG_REPLY';
    case 'BARRIER_REQUEST': return reply.type === 'BARRIER_REPLY';
    case 'ROLE_REQUEST': return reply.type === 'ROLE_REPLY';
    case 'GET_ASYNC_REQUEST': return reply.type === 'GET_ASYNC_REPLY';
    case 'QUEUE_GET_CONFIG_REQUEST': return reply.type === 'QUEUE_GET_CONFIG_REPLY';
    case 'ECHO_REQUEST': return reply.type === 'ECHO_REPLY';
    default: return false;
  }
}

export function dpidText(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

/** A port as the controller keeps it: number, name, and the bits that say whether it is up. */
export type SwitchPort = ReportedPort;

/** `p` as kept, named `name` (equal to p.name: the string to keep). */
function switchPort(p: PortDesc, name: string): SwitchPort {
  // A number past 2^31 (LOCAL, 0xfffffffe) in the same field as the others would turn that field
  // into a boxed double (16 B) in every port of the shape: those ports get a shape of their own.
  if (p.portNo > 0x7fffffff) return { name, portNo: p.portNo, config: p.config, state: p.state };
  // The decoder's 32-bit reads can come out as doubles even when small, and a field that once
  // held one boxes every port's value (16 B each, one port per container): small integers here.
  // config and state define bits 0-6 only, so bit 31 is not kept.
  return { portNo: p.portNo | 0, name, config: p.config & 0x7fffffff, state: p.state & 0x7fffffff };
}
