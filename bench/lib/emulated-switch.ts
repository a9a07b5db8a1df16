/**
 * A lean emulated OpenFlow 1.3 switch for controller load tests (in the manner of cbench): it
 * completes the handshake with our codec, then sends pre-encoded table-miss PACKET_INs from new
 * source MACs and counts what comes back by scanning message headers, never decoding the hot
 * messages. It is built so that the emulator, not the controller, is never the bottleneck:
 *  - packet-ins are copies of a template encoded once, with the xid and source MAC patched in;
 *  - FLOW_MODs are counted from the header; the match is scanned only for eth_src/eth_dst;
 *  - BARRIER and ECHO requests are answered with raw bytes.
 *
 * A packet-in is "answered" when the switch first sees something that forwards its frame or the
 * frames that follow it: a PACKET_OUT carrying the frame (a learning switch sends the frame on
 * itself), or a FLOW_MOD that adds or modifies a flow matching its source MAC (as eth_src or
 * eth_dst): for a proactive controller (vino, whose table 0 forwards the frame itself and sends
 * the controller a copy) that is the new MAC's flow on the switch it was learned at; for a
 * reactive learning switch (os-ken, ovs-testcontroller) the (in_port, src, dst) flow or the
 * PACKET_OUT it sends in reply, whichever arrives first.
 */
import { connect, type Socket } from 'node:net';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { MessageFramer } from '../../src/openflow/framer.js';
import { MessageTypeCode as T, OFP_VERSION, Port } from '../../src/openflow/constants.js';
import { MultipartFlags, MultipartTypeCode } from '../../src/openflow/types/multipart.js';
import type { Message, PortDesc } from '../../src/openflow/types/index.js';

/** PORT_DESC entries per MULTIPART_REPLY: 64 bytes each, well under the 64 KiB message limit. */
const PORTS_PER_REPLY = 1000;

export interface EmulatedSwitchConfig {
  /** Distinguishes this switch's generated MACs from every other switch's (0..65535). */
  index: number;
  datapathId: bigint;
  /** Reported as the name of OFPP_LOCAL (how OVS names the bridge's own port). */
  bridgeName: string;
  /** Ports the switch reports besides the edge ports (e.g. the topology's planned tunnel ports). */
  ports: { ofport: number; name: string }[];
  /** Ports the emulated hosts sit behind; packet-ins arrive on these. At least two. */
  edgePorts: number[];
  /**
   * Whether PORT_DESC lists the edge ports (default true). A switch emulating a topology's node
   * that sends no load leaves them out: it then reports the ports of the plan alone, as the real
   * node would (a transit switch reporting two host ports would become an edge once connected).
   */
  reportEdgePorts?: boolean;
  /**
   * When the handshake is over: 'port-desc' (default) once FEATURES and the PORT_DESC multipart
   * have been answered; 'features' once FEATURES has (controllers that never ask for ports, such
   * as ovs-testcontroller).
   */
  readyAfter?: 'features' | 'port-desc';
  /**
   * Keeps the flows the controller adds (raw, by table, priority and match) and answers FLOW
   * stats requests with them, as a switch that already holds flows does when a controller
   * (re)starts; pass the same map to the switch that replaces this one. Without it the emulated
   * switch only counts FLOW_MODs and reports an empty table.
   */
  flows?: EmulatedFlowTable;
}

/** An emulated switch's flows: key (table, priority, match bytes) → the flow stats entry that reports it. */
export type EmulatedFlowTable = Map<string, Buffer>;

export interface SwitchCounters {
  flowMods: number;
  packetOuts: number;
  groupMods: number;
  meterMods: number;
  barriers: number;
  packetInsSent: number;
  answered: number;
  /** Answers whose first sign was a PACKET_OUT carrying the frame (the rest: a FLOW_MOD). */
  answeredByPacketOut: number;
}

const OFPFC_ADD = 0;
const OFPFC_MODIFY = 1;
const OFPFC_MODIFY_STRICT = 2;
/** Before connecting again after the controller closed a connection mid-handshake. */
const RECONNECT_PAUSE_MS = 100;
const OFPFC_DELETE_STRICT = 4;
/** ofp_flow_stats up to its match; a MULTIPART_REPLY body is at most 64 KiB. */
const FLOW_STATS_HEADER = 48;
const FLOW_STATS_PER_REPLY_BYTES = 60_000;
const OXM_CLASS_OPENFLOW_BASIC = 0x8000;
const OXM_ETH_DST = 3;
const OXM_ETH_SRC = 4;
/** Offset of ofp_match in an ofp_flow_mod (header 8 + cookie/mask 16 + table..pad 24). */
const FLOW_MOD_MATCH_OFFSET = 48;
const FLOW_MOD_COMMAND_OFFSET = 25;
/** ofp_packet_out: header 8, buffer_id 4, in_port 4, actions_len 2, pad 6, then actions and the frame. */
const PACKET_OUT_ACTIONS_LEN_OFFSET = 16;
const PACKET_OUT_ACTIONS_OFFSET = 24;
/** Frame sent in each packet-in: Ethernet + IPv4 + UDP, padded to the 60-byte minimum. */
const FRAME_LEN = 60;
const ETH_SRC_OFFSET = 6;

/** A 48-bit MAC as an exact JS number (map key without string work). */
export function macKey(buf: Buffer, off: number): number {
  return buf.readUInt16BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 2);
}

export function macText(key: number): string {
  return key.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

function writeMac(buf: Buffer, off: number, key: number): void {
  buf.writeUInt16BE(Math.floor(key / 0x1_0000_0000), off);
  buf.writeUInt32BE(key % 0x1_0000_0000, off + 2);
}

/** Locally administered unicast MACs, 02:ss:ss:cc:cc:cc: switch index, then a counter. */
const NEW_MAC_BASE = 0x02 * 2 ** 40;
/** Hosts taught first (the destinations of the measured traffic), 06:ss:ss:00:00:ee. */
const ANCHOR_MAC_BASE = 0x06 * 2 ** 40;
const BROADCAST = 0xffff_ffff_ffff;

function ipv4UdpFrame(dst: number, src: number, ipSrc: number, ipDst: number): Buffer {
  const f = Buffer.alloc(FRAME_LEN);
  writeMac(f, 0, dst);
  writeMac(f, ETH_SRC_OFFSET, src);
  f.writeUInt16BE(0x0800, 12);
  const ip = 14;
  f[ip] = 0x45;
  f.writeUInt16BE(FRAME_LEN - ip, ip + 2);
  f[ip + 8] = 64; // ttl
  f[ip + 9] = 17; // udp
  f.writeUInt32BE(ipSrc >>> 0, ip + 12);
  f.writeUInt32BE(ipDst >>> 0, ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += f.readUInt16BE(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, ip + 10);
  const udp = ip + 20;
  f.writeUInt16BE(49152, udp);
  f.writeUInt16BE(9, udp + 2); // discard
  f.writeUInt16BE(FRAME_LEN - udp, udp + 4);
  return f;
}

function port(portNo: number, name: string, index: number): PortDesc {
  return {
    portNo, hwAddr: macText(0x0e * 2 ** 40 + index * 2 ** 24 + (portNo & 0xffffff)), name, config: 0, state: 4,
    curr: 0x840, advertised: 0, supported: 0, peer: 0, currSpeed: 10_000_000, maxSpeed: 0,
  };
}

export class EmulatedSwitch {
  readonly counters: SwitchCounters = { flowMods: 0, packetOuts: 0, groupMods: 0, meterMods: 0, barriers: 0, packetInsSent: 0, answered: 0, answeredByPacketOut: 0 };
  /** Packet-ins sent and not answered yet: source MAC key → send time (performance.now()). */
  readonly pending = new Map<number, number>();
  /** Answer latencies in µs, collected while `recording`. */
  latencies: number[] = [];
  recording = false;
  /** Last time bytes arrived from the controller (performance.now()). */
  lastRx = 0;
  /** ERROR messages the controller sent (a sign the emulation is wrong). */
  readonly errors: string[] = [];

  private socket?: Socket;
  private framer = new MessageFramer();
  /** Where connect() was told to go, for a reconnect after a refusal (see attach). */
  private target?: { host: string; portNo: number; deadline: number };
  private readyDone = false;
  private closing = false;
  private readonly templates: Buffer[];
  private readonly frameOffset: number;
  private readonly portDesc: PortDesc[];
  private nextMac = 1;
  private nextXid = 1;
  private edgeCursor = 0;
  /** Packet-ins to keep outstanding; 0: not sending. */
  private window = 0;
  private readyResolve!: () => void;
  readonly ready: Promise<void>;
  private gotFeatures = false;
  closed = false;

  constructor(readonly config: EmulatedSwitchConfig) {
    if (config.edgePorts.length < 2) throw new Error('emulated switch: at least two edge ports are needed (traffic goes from one to another)');
    if (config.index < 0 || config.index > 0xffff) throw new Error(`emulated switch: index ${config.index} outside 0..65535`);
    const planned = new Set(config.ports.map((p) => p.ofport));
    const clash = config.edgePorts.find((p) => planned.has(p));
    if (clash !== undefined) throw new Error(`emulated switch ${config.bridgeName}: edge port ${clash} is also a planned port of the bridge`);
    this.ready = new Promise((r) => (this.readyResolve = r));
    this.portDesc = [
      ...config.ports.map((p) => port(p.ofport, p.name, config.index)),
      ...(config.reportEdgePorts === false ? [] : config.edgePorts.map((p) => port(p, `bench-e${p}`, config.index))),
      port(Port.LOCAL, config.bridgeName, config.index),
    ];
    // One template per edge port: a frame from that port to the anchor host behind the next edge
    // port, so a learning switch knows the destination and answers with a flow.
    this.templates = config.edgePorts.map((p, i) => {
      const dst = this.anchorMac((i + 1) % config.edgePorts.length);
      const frame = ipv4UdpFrame(dst, NEW_MAC_BASE, 0x0a000000 + config.index * 256 + i, 0x0a000000 + config.index * 256 + ((i + 1) % config.edgePorts.length));
      return this.encodePacketIn(p, frame);
    });
    this.frameOffset = this.templates[0]!.length - FRAME_LEN;
    this.checkTemplate();
  }

  /** MAC of the host taught behind edge port number `i` (index into edgePorts). */
  anchorMac(i: number): number {
    return ANCHOR_MAC_BASE + this.config.index * 2 ** 24 + i;
  }

  private encodePacketIn(inPort: number, frame: Buffer): Buffer {
    return encodeMessage({
      type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 'NO_MATCH', tableId: 0,
      cookie: 0xffff_ffff_ffff_ffffn, match: { fields: [{ field: 'in_port', value: inPort }] }, data: frame,
    });
  }

  /** The patched template must still decode to what we mean to send. */
  private checkTemplate(): void {
    const b = Buffer.from(this.templates[0]!);
    b.writeUInt32BE(77, 4);
    writeMac(b, this.frameOffset + ETH_SRC_OFFSET, NEW_MAC_BASE + 12345);
    const m = decodeMessage(b);
    if (m.type !== 'PACKET_IN' || m.xid !== 77 || macKey(m.data, ETH_SRC_OFFSET) !== NEW_MAC_BASE + 12345) {
      throw new Error('emulated switch: patched packet-in template does not decode as intended');
    }
  }

  /**
   * Connects, retrying while the controller is not listening yet; a connection the controller
   * closes before the handshake is over (it refuses switches past its handshake limit) is made
   * again after a pause until `deadline`, as Open vSwitch does with its backoff.
   */
  async connect(host: string, portNo: number, deadline: number): Promise<void> {
    this.target = { host, portNo, deadline };
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          const s = connect({ host, port: portNo });
          s.once('connect', () => {
            s.off('error', reject);
            this.attach(s);
            resolve();
          });
          s.once('error', reject);
        });
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ECONNREFUSED' || performance.now() > deadline) {
          throw new Error(`emulated switch ${this.config.bridgeName}: cannot connect to ${host}:${portNo}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private attach(s: Socket): void {
    this.socket = s;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', () => {});
    s.on('close', () => {
      this.closed = true;
      this.window = 0;
      const t = this.target;
      if (this.readyDone || this.closing || !t || performance.now() > t.deadline) return;
      setTimeout(() => {
        if (this.closing) return;
        this.framer = new MessageFramer();
        this.gotFeatures = false;
        this.closed = false;
        this.connect(t.host, t.portNo, t.deadline).catch(() => {});
      }, RECONNECT_PAUSE_MS);
    });
    s.write(encodeMessage({ type: 'HELLO', xid: this.nextXid++, version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', versions: [OFP_VERSION] }] }));
  }

  close(): void {
    this.closing = true;
    this.window = 0;
    this.socket?.destroy();
  }

  private markReady(): void {
    this.readyDone = true;
    this.readyResolve();
  }

  /** Sends one packet-in per edge port from its anchor host (broadcast destination): teaches them. */
  teachAnchors(): void {
    const out: Buffer[] = [];
    this.config.edgePorts.forEach((p, i) => {
      const frame = ipv4UdpFrame(BROADCAST, this.anchorMac(i), 0x0a000000 + this.config.index * 256 + i, 0xffffffff);
      const msg = this.encodePacketIn(p, frame);
      msg.writeUInt32BE(this.nextXid++, 4);
      out.push(msg);
    });
    this.socket?.write(Buffer.concat(out));
  }

  /** Sends one table-miss PACKET_IN of a frame from `srcMac` (text) at `inPort` (e.g. a migrated container's first frame). */
  sendFrame(inPort: number, srcMac: string): void {
    const src = Number.parseInt(srcMac.replace(/:/g, ''), 16);
    if (!Number.isSafeInteger(src) || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(srcMac)) throw new Error(`emulated switch: "${srcMac}" is not a MAC address`);
    const msg = this.encodePacketIn(inPort, ipv4UdpFrame(BROADCAST, src, 0, 0xffffffff));
    msg.writeUInt32BE(this.nextXid++, 4);
    this.socket?.write(msg);
  }

  /** Keeps `window` packet-ins outstanding from now on (1: latency mode). */
  start(window: number): void {
    this.window = window;
    this.topUp();
  }

  /** Stops sending; outstanding packet-ins stay pending. */
  stop(): void {
    this.window = 0;
  }

  private topUp(): void {
    const chunk = this.topUpChunk();
    if (chunk) this.socket!.write(chunk);
  }

  /** The packet-ins that bring the outstanding ones back to the window, or undefined when none are due. */
  private topUpChunk(): Buffer | undefined {
    const want = this.window - this.pending.size;
    return want > 0 && !this.closed ? this.newPacketIns(want) : undefined;
  }

  /** `count` packet-ins, each from a MAC never used before on this switch, counted as sent. */
  private newPacketIns(count: number): Buffer {
    const len = this.templates[0]!.length;
    const chunk = Buffer.allocUnsafe(len * count);
    const edges = this.templates.length;
    const base = NEW_MAC_BASE + this.config.index * 2 ** 24;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const off = i * len;
      this.templates[this.edgeCursor]!.copy(chunk, off);
      this.edgeCursor = this.edgeCursor + 1 === edges ? 0 : this.edgeCursor + 1;
      chunk.writeUInt32BE(this.nextXid, off + 4);
      this.nextXid = this.nextXid >= 0xfffffff0 ? 1 : this.nextXid + 1;
      if (this.nextMac > 0xffffff) throw new Error(`emulated switch ${this.config.bridgeName}: ran out of source MACs (16M per switch)`);
      const key = base + this.nextMac++;
      writeMac(chunk, off + this.frameOffset + ETH_SRC_OFFSET, key);
      this.pending.set(key, now);
    }
    this.counters.packetInsSent += count;
    return chunk;
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    this.lastRx = now;
    const answeredBefore = this.counters.answered;
    let replies: Buffer[] | undefined;
    for (const m of this.framer.push(chunk)) {
      switch (m[1]) {
        case T.FLOW_MOD:
          this.counters.flowMods++;
          if (this.config.flows) this.keepFlow(m, this.config.flows);
          this.onFlowMod(m, now);
          break;
        case T.PACKET_OUT:
          this.counters.packetOuts++;
          this.onPacketOut(m, now);
          break;
        case T.GROUP_MOD:
          this.counters.groupMods++;
          break;
        case T.METER_MOD:
          this.counters.meterMods++;
          break;
        case T.BARRIER_REQUEST:
        case T.ECHO_REQUEST: {
          // Same bytes, reply type: BARRIER_REPLY = request + 1, ECHO_REPLY = request + 1.
          const r = Buffer.from(m);
          r[1] = m[1]! + 1;
          if (m[1] === T.BARRIER_REQUEST) this.counters.barriers++;
          (replies ??= []).push(r);
          break;
        }
        default: {
          const r = this.control(m);
          if (r) (replies ??= []).push(...r);
        }
      }
    }
    // The replies and the packet-ins that replace the answered ones go in one syscall (corked:
    // one writev, no copy): the emulator's own cost per answer, and the segments the controller
    // has to read, must stay below any controller's.
    const more = this.counters.answered !== answeredBefore ? this.topUpChunk() : undefined;
    const s = this.socket!;
    if (replies && more) s.cork();
    if (replies) s.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
    if (more) s.write(more);
    if (replies && more) s.uncork();
  }

  /** A PACKET_OUT whose frame (not a buffer id) comes from a pending source MAC answers it. */
  private onPacketOut(m: Buffer, now: number): void {
    if (m.length < PACKET_OUT_ACTIONS_OFFSET) return;
    const data = PACKET_OUT_ACTIONS_OFFSET + m.readUInt16BE(PACKET_OUT_ACTIONS_LEN_OFFSET);
    if (m.length < data + ETH_SRC_OFFSET + 6) return;
    if (this.answer(macKey(m, data + ETH_SRC_OFFSET), now)) this.counters.answeredByPacketOut++;
  }

  private answer(key: number, now: number): boolean {
    const sent = this.pending.get(key);
    if (sent === undefined) return false;
    this.pending.delete(key);
    this.counters.answered++;
    if (this.recording) this.latencies.push((now - sent) * 1000);
    return true;
  }

  private onFlowMod(m: Buffer, now: number): void {
    const command = m[FLOW_MOD_COMMAND_OFFSET];
    if (command !== OFPFC_ADD && command !== OFPFC_MODIFY && command !== OFPFC_MODIFY_STRICT) return;
    if (m.length < FLOW_MOD_MATCH_OFFSET + 4 || m.readUInt16BE(FLOW_MOD_MATCH_OFFSET) !== 1) return;
    const end = Math.min(m.length, FLOW_MOD_MATCH_OFFSET + m.readUInt16BE(FLOW_MOD_MATCH_OFFSET + 2));
    let off = FLOW_MOD_MATCH_OFFSET + 4;
    while (off + 4 <= end) {
      const field = m[off + 2]! >> 1;
      const len = m[off + 3]!;
      if (m.readUInt16BE(off) === OXM_CLASS_OPENFLOW_BASIC && (field === OXM_ETH_DST || field === OXM_ETH_SRC) && off + 10 <= end) {
        this.answer(macKey(m, off + 4), now);
      }
      off += 4 + len;
    }
  }

  /**
   * Adds, replaces or deletes (strict: table, priority, match) a flow in `flows`, stored as the
   * flow stats entry that will report it: the FLOW_MOD's own fields moved into that layout.
   */
  private keepFlow(m: Buffer, flows: EmulatedFlowTable): void {
    if (m.length < FLOW_MOD_MATCH_OFFSET + 4) return;
    const matchEnd = FLOW_MOD_MATCH_OFFSET + ((m.readUInt16BE(FLOW_MOD_MATCH_OFFSET + 2) + 7) & ~7);
    const key = `${m[24]}/${m.readUInt16BE(30)}/${m.toString('latin1', FLOW_MOD_MATCH_OFFSET, Math.min(matchEnd, m.length))}`;
    const command = m[FLOW_MOD_COMMAND_OFFSET];
    if (command === OFPFC_DELETE_STRICT) {
      flows.delete(key);
      return;
    }
    if (command !== OFPFC_ADD && command !== OFPFC_MODIFY_STRICT) return;
    const entry = Buffer.alloc(FLOW_STATS_HEADER + m.length - FLOW_MOD_MATCH_OFFSET);
    entry.writeUInt16BE(entry.length, 0);
    entry[2] = m[24]!; // table_id
    entry.writeUInt16BE(m.readUInt16BE(30), 12); // priority
    m.copy(entry, 14, 26, 30); // idle_timeout, hard_timeout
    m.copy(entry, 18, 44, 46); // flags
    m.copy(entry, 24, 8, 16); // cookie
    m.copy(entry, FLOW_STATS_HEADER, FLOW_MOD_MATCH_OFFSET);
    flows.set(key, entry);
  }

  /** FLOW stats replies with every kept flow (any request: the controller asks for all of its own). */
  private flowStatsReplies(xid: number, flows: EmulatedFlowTable): Buffer[] {
    const parts: Buffer[] = [];
    let batch: Buffer[] = [];
    let bytes = 0;
    const flush = (last: boolean) => {
      const body = Buffer.concat(batch);
      const msg = Buffer.alloc(16 + body.length);
      msg[0] = OFP_VERSION;
      msg[1] = T.MULTIPART_REPLY;
      msg.writeUInt16BE(msg.length, 2);
      msg.writeUInt32BE(xid, 4);
      msg.writeUInt16BE(MultipartTypeCode.FLOW, 8);
      msg.writeUInt16BE(last ? 0 : MultipartFlags.REPLY_MORE, 10);
      body.copy(msg, 16);
      parts.push(msg);
      batch = [];
      bytes = 0;
    };
    for (const entry of flows.values()) {
      if (bytes + entry.length > FLOW_STATS_PER_REPLY_BYTES) flush(false);
      batch.push(entry);
      bytes += entry.length;
    }
    flush(true);
    return parts;
  }

  /** Handshake and the controller's occasional requests: decoded with the codec (not hot). */
  private control(bytes: Buffer): Buffer[] | undefined {
    const type = bytes[1]!;
    const xid = bytes.readUInt32BE(4);
    const raw = (replyType: number, body: Buffer = Buffer.alloc(0)): Buffer => {
      const b = Buffer.alloc(8 + body.length);
      b[0] = OFP_VERSION;
      b[1] = replyType;
      b.writeUInt16BE(b.length, 2);
      b.writeUInt32BE(xid, 4);
      body.copy(b, 8);
      return b;
    };
    switch (type) {
      case T.HELLO:
      case T.SET_CONFIG:
      case T.ECHO_REPLY:
      case T.SET_ASYNC:
      case T.PORT_MOD:
      case T.TABLE_MOD:
        return undefined;
      case T.FEATURES_REQUEST:
        this.gotFeatures = true;
        if (this.config.readyAfter === 'features') queueMicrotask(() => this.markReady());
        return [encodeMessage({ type: 'FEATURES_REPLY', xid, datapathId: this.config.datapathId, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f })];
      case T.GET_CONFIG_REQUEST: {
        const body = Buffer.alloc(4);
        body.writeUInt16BE(0xffff, 2);
        return [raw(T.GET_CONFIG_REPLY, body)];
      }
      case T.ROLE_REQUEST:
        return [raw(T.ROLE_REPLY, bytes.subarray(8))];
      case T.GET_ASYNC_REQUEST:
        return [raw(T.GET_ASYNC_REPLY, Buffer.alloc(24))];
      case T.MULTIPART_REQUEST: {
        const kind = bytes.readUInt16BE(8);
        if (kind === MultipartTypeCode.PORT_DESC) {
          // A message is at most 64 KiB: a bridge with a thousand ports answers in parts, all
          // but the last flagged REPLY_MORE, as a real switch does.
          const parts: Buffer[] = [];
          for (let i = 0; i === 0 || i < this.portDesc.length; i += PORTS_PER_REPLY) {
            const last = i + PORTS_PER_REPLY >= this.portDesc.length;
            const reply: Message = { type: 'MULTIPART_REPLY', xid, flags: last ? 0 : MultipartFlags.REPLY_MORE, body: { kind: 'PORT_DESC', ports: this.portDesc.slice(i, i + PORTS_PER_REPLY) } };
            parts.push(encodeMessage(reply));
          }
          if (this.gotFeatures) queueMicrotask(() => this.markReady());
          return parts;
        }
        if (kind === MultipartTypeCode.FLOW && this.config.flows) return this.flowStatsReplies(xid, this.config.flows);
        // Every other kind: an empty table (no flows, groups, meters yet); DESC: blank strings.
        const body = Buffer.alloc(8 + (kind === MultipartTypeCode.DESC ? 1056 : 0));
        body.writeUInt16BE(kind, 0);
        return [raw(T.MULTIPART_REPLY, body)];
      }
      case T.ERROR: {
        let text: string;
        try {
          const e = decodeMessage(bytes);
          text = e.type === 'ERROR' ? `type ${e.errorType} code ${'code' in e ? e.code : '?'}` : 'undecodable';
        } catch (err) {
          text = `undecodable: ${(err as Error).message}`;
        }
        if (this.errors.length < 20) this.errors.push(text);
        return undefined;
      }
      default:
        return undefined;
    }
  }
}
