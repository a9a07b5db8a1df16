/**
 * A scripted OpenFlow 1.3 switch that connects to a controller over TCP, built on our codec.
 * Tests use it to drive a controller through negotiation, keep-alive, errors and floods;
 * benchmarks use many of them as emulated switches (like cbench). Each behaviour can be
 * overridden, and every message received is recorded.
 */
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { decodeMessage } from '../openflow/decode/index.js';
import { encodeMessage } from '../openflow/encode/index.js';
import { MessageFramer } from '../openflow/framer.js';
import type { ControllerRole, Message, PortDesc } from '../openflow/types/index.js';
import { SimSwitch } from './network.js';

export interface FakeSwitchOptions {
  datapathId: bigint;
  ports?: PortDesc[];
  /** Versions announced in HELLO (default [4]); the header carries the highest. */
  helloVersions?: number[];
  /** Answer ECHO_REQUEST (default true). */
  answerEcho?: boolean;
  /** Answer BARRIER_REQUEST (default true). */
  answerBarrier?: boolean;
  /** Split the port description into parts of this many ports (MORE flag), default: one part. */
  portDescPartSize?: number;
  /** Called for FLOW_MOD / GROUP_MOD / METER_MOD; return an ERROR to refuse it. */
  onModify?: (msg: Message) => Message | undefined;
  /** Tables to keep (a switch that reconnects keeps its flows, like OVS). */
  table?: SimSwitch;
  /**
   * Role bookkeeping shared by the connections of one switch to several controllers (give each
   * FakeSwitch of the same switch the same book and table).
   */
  roles?: RoleBook;
}

/**
 * What a switch remembers about controller roles (OpenFlow 1.3 §6.3.7): the highest generation
 * id seen in a MASTER/SLAVE request, and its connections, so that a new master demotes the old one.
 */
export class RoleBook {
  generationId?: bigint;
  readonly connections = new Set<FakeSwitch>();
}

/** Whether generation `a` is older than `b`, compared as the spec does (signed 64-bit distance). */
function olderGeneration(a: bigint, b: bigint): boolean {
  return BigInt.asIntN(64, a - b) < 0n;
}

export function fakePort(portNo: number, name: string): PortDesc {
  const b = portNo & 0xff;
  return {
    portNo, hwAddr: `02:fe:00:00:00:${b.toString(16).padStart(2, '0')}`, name, config: 0, state: 4,
    curr: 0x840, advertised: 0, supported: 0, peer: 0, currSpeed: 10_000_000, maxSpeed: 0,
  };
}

export class FakeSwitch extends EventEmitter {
  readonly received: Message[] = [];
  /** Packet counters per port for PORT_STATS: tx counts PACKET_OUTs to the port, rx is the test's to set. */
  readonly portCounters = new Map<number, { rxPackets: bigint; txPackets: bigint }>();
  /** The switch's tables: FLOW_MOD and GROUP_MOD are applied to it, flow stats read from it. */
  readonly table: SimSwitch;
  readonly socket: Socket;
  private readonly framer = new MessageFramer();
  private readonly options: Required<Omit<FakeSwitchOptions, 'onModify' | 'table' | 'roles'>> & Pick<FakeSwitchOptions, 'onModify'>;
  closed = false;
  /** This connection's role as the switch sees it. */
  role: ControllerRole = 'EQUAL';
  readonly roles: RoleBook;

  constructor(port: number, options: FakeSwitchOptions, host = '127.0.0.1') {
    super();
    this.options = {
      ports: [fakePort(1, 'p1'), fakePort(2, 'p2')], helloVersions: [4], answerEcho: true, answerBarrier: true,
      portDescPartSize: 0, ...options,
    };
    this.table = options.table ?? new SimSwitch(`dpid-${options.datapathId.toString(16)}`);
    this.roles = options.roles ?? new RoleBook();
    this.roles.connections.add(this);
    this.socket = connect({ port, host });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      const versions = this.options.helloVersions;
      const version = versions.reduce((a, b) => (b > a ? b : a), 0);
      // Hello elements exist from OpenFlow 1.3 (wire version 4) on; older peers send a bare header.
      this.write({ type: 'HELLO', xid: 1, version, elements: version >= 4 ? [{ type: 'VERSIONBITMAP', versions }] : [] });
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.roles.connections.delete(this);
      this.emit('close');
    });
  }

  write(msg: Message): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(msg));
  }

  /** Raw bytes, for garbage and malformed-message tests. */
  writeRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** A port appears (PORT_STATUS ADD), as when the orchestrator attaches a container. */
  addPort(desc: PortDesc): void {
    this.options.ports = [...this.options.ports.filter((p) => p.portNo !== desc.portNo), desc];
    this.write({ type: 'PORT_STATUS', xid: 0, reason: 'ADD', desc });
  }

  removePort(portNo: number): void {
    const desc = this.options.ports.find((p) => p.portNo === portNo);
    if (!desc) return;
    this.options.ports = this.options.ports.filter((p) => p.portNo !== portNo);
    this.write({ type: 'PORT_STATUS', xid: 0, reason: 'DELETE', desc });
  }

  /**
   * Sends a frame received on `inPort` to the controller: a table-miss packet-in, or with
   * `tableId` an output-to-controller action of a flow in that table.
   */
  packetIn(inPort: number, frame: Buffer, cookie = 0n, tableId = 0): void {
    // Slaves get no packet-ins (the default asynchronous configuration).
    if (this.role === 'SLAVE') return;
    this.write({
      type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: tableId === 0 ? 'NO_MATCH' : 'ACTION', tableId, cookie,
      match: { fields: [{ field: 'in_port', value: inPort }] }, data: frame,
    });
  }

  /** Resolves with the first received message (past or future) satisfying `pred`. */
  waitFor(pred: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', check);
        reject(new Error(`fake switch: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (m: Message) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off('message', check);
        resolve(m);
      };
      this.on('message', check);
    });
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.framer.push(chunk)) {
      const msg = decodeMessage(frame);
      this.received.push(msg);
      this.respond(msg);
      this.emit('message', msg);
    }
  }

  private respond(msg: Message): void {
    const { options } = this;
    switch (msg.type) {
      case 'FEATURES_REQUEST':
        return this.write({ type: 'FEATURES_REPLY', xid: msg.xid, datapathId: options.datapathId, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f });
      case 'ECHO_REQUEST':
        if (options.answerEcho) this.write({ type: 'ECHO_REPLY', xid: msg.xid, data: msg.data });
        return;
      case 'BARRIER_REQUEST':
        if (options.answerBarrier) this.write({ type: 'BARRIER_REPLY', xid: msg.xid });
        return;
      case 'MULTIPART_REQUEST':
        if (msg.body.kind === 'PORT_DESC') {
          const size = options.portDescPartSize || options.ports.length || 1;
          const parts: PortDesc[][] = [];
          for (let i = 0; i < options.ports.length; i += size) parts.push(options.ports.slice(i, i + size));
          if (parts.length === 0) parts.push([]);
          parts.forEach((ports, i) => this.write({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: i < parts.length - 1 ? 1 : 0, body: { kind: 'PORT_DESC', ports } }));
        } else if (msg.body.kind === 'FLOW') {
          const sel = msg.body;
          const flows = this.table.flows
            .filter((f) => (sel.tableId === 0xff || f.tableId === sel.tableId) && (f.cookie & sel.cookieMask) === (sel.cookie & sel.cookieMask))
            .map((f) => ({
              tableId: f.tableId, durationSec: 0, durationNsec: 0, priority: f.priority, idleTimeout: 0, hardTimeout: 0,
              flags: 0, cookie: f.cookie, packetCount: 0n, byteCount: 0n, match: f.match, instructions: f.instructions,
            }));
          // Several parts, as a real switch does for big tables.
          for (let i = 0; i < flows.length || i === 0; i += 50) {
            this.write({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: i + 50 < flows.length ? 1 : 0, body: { kind: 'FLOW', flows: flows.slice(i, i + 50) } });
          }
        } else if (msg.body.kind === 'GROUP_DESC') {
          const groups = [...this.table.groups].map(([groupId, g]) => ({ groupType: g.groupType as 'ALL', groupId, buckets: g.buckets.map((b) => ({ weight: 0, watchPort: 0xffffffff, watchGroup: 0xffffffff, ...b })) }));
          this.write({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: 0, body: { kind: 'GROUP_DESC', groups } });
        } else if (msg.body.kind === 'PORT_STATS') {
          const want = msg.body.portNo;
          const ports = options.ports.filter((p) => want === 0xffffffff || p.portNo === want).map((p) => ({
            portNo: p.portNo, rxPackets: 0n, txPackets: 0n, ...this.portCounters.get(p.portNo), rxBytes: 0n, txBytes: 0n, rxDropped: 0n, txDropped: 0n,
            rxErrors: 0n, txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 0, durationNsec: 0,
          }));
          this.write({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: 0, body: { kind: 'PORT_STATS', ports } });
        } else if (msg.body.kind === 'METER_CONFIG') {
          const meters = [...this.table.meters].map(([meterId, m]) => ({ meterId, flags: m.flags, bands: m.bands }));
          this.write({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: 0, body: { kind: 'METER_CONFIG', meters } });
        }
        return;
      case 'ROLE_REQUEST': {
        const book = this.roles;
        if (msg.role === 'MASTER' || msg.role === 'SLAVE') {
          if (book.generationId !== undefined && olderGeneration(msg.generationId, book.generationId)) {
            return this.write({ type: 'ERROR', xid: msg.xid, version: 4, errorType: 11, code: 0, data: Buffer.alloc(0) });
          }
          book.generationId = msg.generationId;
        }
        if (msg.role === 'MASTER') for (const c of book.connections) if (c !== this && c.role === 'MASTER') c.role = 'SLAVE';
        if (msg.role !== 'NOCHANGE') this.role = msg.role;
        return this.write({ type: 'ROLE_REPLY', xid: msg.xid, role: this.role, generationId: book.generationId ?? 0n });
      }
      case 'PACKET_OUT':
        if (this.role === 'SLAVE') return this.write({ type: 'ERROR', xid: msg.xid, version: 4, errorType: 1, code: 10, data: Buffer.alloc(0) });
        // Delivered: counted on each output port, as PORT_STATS reports it.
        for (const a of msg.actions) {
          if (a.type !== 'OUTPUT') continue;
          const c = this.portCounters.get(a.port) ?? { rxPackets: 0n, txPackets: 0n };
          this.portCounters.set(a.port, { ...c, txPackets: c.txPackets + 1n });
        }
        return;
      case 'FLOW_MOD':
      case 'GROUP_MOD':
      case 'METER_MOD': {
        // OFPBRC_IS_SLAVE: a slave may not modify the switch.
        if (this.role === 'SLAVE') return this.write({ type: 'ERROR', xid: msg.xid, version: 4, errorType: 1, code: 10, data: Buffer.alloc(0) });
        const refusal = options.onModify?.(msg);
        if (refusal) return this.write(refusal);
        if (msg.type === 'METER_MOD') {
          if (msg.command === 'DELETE') this.table.meters.delete(msg.meterId);
          else this.table.meters.set(msg.meterId, { flags: msg.flags, bands: msg.bands });
          return;
        }
        const error = this.table.apply(msg);
        if (error) this.write({ type: 'ERROR', xid: msg.xid, version: 4, errorType: msg.type === 'FLOW_MOD' ? 5 : 6, code: 0, data: Buffer.alloc(0) });
        return;
      }
      default:
        return;
    }
  }
}
