/**
 * A bare OpenFlow client for attacking a controller: it sends whatever bytes it is told and
 * records what comes back (decoded where possible) and when the controller hangs up. Used by
 * the live fuzzer (bench/fuzz-live.ts) and the header-check tests.
 */
import { connect, type Socket } from 'node:net';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { MessageFramer } from '../../src/openflow/framer.js';
import { OFP_VERSION } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';

export interface ReceivedError {
  errorType: number;
  code: number;
  xid: number;
  data: Buffer;
}

export class RawClient {
  readonly socket: Socket;
  /** Messages from the controller, decoded (undecodable ones are skipped and counted). */
  readonly received: Message[] = [];
  readonly errors: ReceivedError[] = [];
  undecodable = 0;
  /** Resolves when the controller closed the connection or it broke (never rejects). */
  readonly closed: Promise<void>;
  isClosed = false;
  /** Resolves once connected (rejects on a connect error). */
  readonly connected: Promise<void>;
  private readonly framer = new MessageFramer();
  /** ERROR messages received in all (`errors` keeps the first 64). */
  errorCount = 0;
  /** When set, answers the handshake and keep-alive like a switch with this datapath id. */
  switchDpid?: bigint;
  answerEcho = true;
  private readonly waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  constructor(host: string, port: number) {
    this.socket = connect({ host, port });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.connected.catch(() => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => {
      this.isClosed = true;
      resolve();
    }));
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.framer.push(chunk);
      } catch {
        this.undecodable++;
        return;
      }
      for (const f of frames) {
        let m: Message;
        try {
          m = decodeMessage(f);
        } catch {
          this.undecodable++;
          continue;
        }
        // Keep only what tests look at: a flood of replies must not grow memory.
        if (m.type === 'ERROR' && 'code' in m) {
          if (++this.errorCount <= 64) this.errors.push({ errorType: m.errorType, code: m.code, xid: m.xid, data: Buffer.from(m.data) });
        } else if (m.type !== 'ECHO_REPLY' && this.received.length < 64) this.received.push(m);
        if (this.switchDpid !== undefined) this.respond(m, this.switchDpid);
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const w = this.waiters[i]!;
          if (w.pred(m)) {
            this.waiters.splice(i, 1);
            w.resolve(m);
          }
        }
      }
    });
  }

  write(bytes: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(bytes);
  }

  /** Sends an OpenFlow 1.3 HELLO. */
  hello(): void {
    this.write(encodeMessage({ type: 'HELLO', xid: 1, version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', versions: [OFP_VERSION] }] }));
  }

  /** The first message (past or future) matching `pred`, or undefined if the connection closes first. */
  waitFor(pred: (m: Message) => boolean): Promise<Message | undefined> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<Message>((resolve) => this.waiters.push({ pred, resolve })),
      this.closed.then(() => this.received.find(pred)),
    ]);
  }

  /** HELLO sent and the controller's FEATURES_REQUEST received: the HELLO exchange is over. */
  async negotiate(): Promise<boolean> {
    await this.connected;
    this.hello();
    return (await this.waitFor((m) => m.type === 'FEATURES_REQUEST')) !== undefined;
  }

  /** HELLO, then the handshake as a switch of datapath `dpid` with no ports; resolves when the controller is done asking. */
  async handshake(dpid: bigint): Promise<boolean> {
    this.switchDpid = dpid;
    await this.connected;
    this.hello();
    return (await this.waitFor((m) => m.type === 'MULTIPART_REQUEST' && m.body.kind === 'PORT_DESC')) !== undefined;
  }

  private respond(m: Message, dpid: bigint): void {
    const reply = (r: Message) => this.write(encodeMessage(r));
    switch (m.type) {
      case 'FEATURES_REQUEST':
        return void reply({ type: 'FEATURES_REPLY', xid: m.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f });
      case 'ECHO_REQUEST':
        if (this.answerEcho) reply({ type: 'ECHO_REPLY', xid: m.xid, data: Buffer.alloc(0) });
        return;
      case 'BARRIER_REQUEST':
        return void reply({ type: 'BARRIER_REPLY', xid: m.xid });
      case 'MULTIPART_REQUEST': {
        const kind = m.body.kind;
        if (kind === 'PORT_DESC') return void reply({ type: 'MULTIPART_REPLY', xid: m.xid, flags: 0, body: { kind: 'PORT_DESC', ports: [] } });
        if (kind === 'FLOW') return void reply({ type: 'MULTIPART_REPLY', xid: m.xid, flags: 0, body: { kind: 'FLOW', flows: [] } });
        if (kind === 'GROUP_DESC') return void reply({ type: 'MULTIPART_REPLY', xid: m.xid, flags: 0, body: { kind: 'GROUP_DESC', groups: [] } });
        if (kind === 'METER_CONFIG') return void reply({ type: 'MULTIPART_REPLY', xid: m.xid, flags: 0, body: { kind: 'METER_CONFIG', meters: [] } });
        return;
      }
      default:
        return;
    }
  }

  /** Writes `bytes`, waiting while the socket's buffer is full; false if the connection is gone (then or meanwhile). */
  async writeAll(bytes: Buffer): Promise<boolean> {
    if (this.isClosed || this.socket.destroyed) return false;
    // Always through the event loop: a write the kernel takes at once would otherwise let a
    // sending loop run on microtasks alone and starve every other socket of this thread.
    if (this.socket.write(bytes)) await new Promise((r) => setImmediate(r));
    else await Promise.race([new Promise((r) => this.socket.once('drain', r)), this.closed]);
    return !this.isClosed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An Ethernet ARP request "who has `targetIp`, tell `senderIp`" from `senderMac`. */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  const f = Buffer.alloc(60);
  const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');
  const ip = (s: string) => Buffer.from(s.split('.').map(Number));
  Buffer.alloc(6, 0xff).copy(f, 0);
  mac(senderMac).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  mac(senderMac).copy(f, 22);
  ip(senderIp).copy(f, 28);
  ip(targetIp).copy(f, 38);
  return f;
}
