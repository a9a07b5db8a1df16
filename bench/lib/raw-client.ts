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
        if (m.type === 'ERROR' && 'code' in m) this.errors.push({ errorType: m.errorType, code: m.code, xid: m.xid, data: Buffer.from(m.data) });
        else if (m.type !== 'ECHO_REPLY' && this.received.length < 64) this.received.push(m);
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
