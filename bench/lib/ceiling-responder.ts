/**
 * Not a controller: the load generator's own ceiling for `bench:ofload`. It listens like a
 * controller, completes the handshake (HELLO, FEATURES, PORT_DESC, one table-miss flow so the
 * bench sees initial flows), then answers every PACKET_IN with a PACKET_OUT of its frame out of a
 * fixed port, built from a precomputed header, with no decision and no state: one write per
 * received chunk. What the emulated switches can take from it, on the same machine, is the most
 * any controller can be measured at by this bench.
 *
 * Run as its own process (`node dist/bench/lib/ceiling-responder.js --listen HOST:PORT`) so
 * that, like a real controller, it does not share the emulator's thread.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { MessageFramer } from '../../src/openflow/framer.js';
import { MessageTypeCode as T, OFP_VERSION, Port } from '../../src/openflow/constants.js';

/** ofp_packet_in: header 8, buffer_id 4, total_len 2, reason 1, table_id 1, cookie 8, then the match. */
const PACKET_IN_MATCH_OFFSET = 24;
/** The frame follows the match (padded to 8) and 2 bytes of padding. */
const PACKET_IN_MATCH_PAD_AFTER = 2;
/** ofp_packet_out with one OUTPUT action (16 bytes): header 8, buffer_id 4, in_port 4, actions_len 2, pad 6. */
const PACKET_OUT_PREFIX_LEN = 24 + 16;
/** The port the frames go out of: any port, the emulated switches look only at the frame. */
const OUT_PORT = 1;

/** The fixed part of every answer: a PACKET_OUT header (length and xid patched) and its action. */
function packetOutPrefix(): Buffer {
  const frame = Buffer.alloc(14);
  const whole = encodeMessage({
    type: 'PACKET_OUT', xid: 0, bufferId: 0xffffffff, inPort: Port.CONTROLLER,
    actions: [{ type: 'OUTPUT', port: OUT_PORT, maxLen: 0 }], data: frame,
  });
  if (whole.length !== PACKET_OUT_PREFIX_LEN + frame.length) throw new Error('ceiling responder: unexpected PACKET_OUT layout');
  return Buffer.from(whole.subarray(0, PACKET_OUT_PREFIX_LEN));
}

/** The frame inside a PACKET_IN (a view, no copy), or undefined when it is malformed. */
export function packetInFrame(msg: Buffer): Buffer | undefined {
  if (msg.length < PACKET_IN_MATCH_OFFSET + 4) return undefined;
  const matchLen = msg.readUInt16BE(PACKET_IN_MATCH_OFFSET + 2);
  const start = PACKET_IN_MATCH_OFFSET + ((matchLen + 7) & ~7) + PACKET_IN_MATCH_PAD_AFTER;
  return start <= msg.length ? msg.subarray(start) : undefined;
}

class Connection {
  private readonly framer = new MessageFramer();
  private nextXid = 1;

  constructor(private readonly socket: Socket, private readonly prefix: Buffer) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.write(Buffer.concat([
      encodeMessage({ type: 'HELLO', xid: this.nextXid++, version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', versions: [OFP_VERSION] }] }),
      encodeMessage({ type: 'FEATURES_REQUEST', xid: this.nextXid++ }),
      encodeMessage({ type: 'MULTIPART_REQUEST', xid: this.nextXid++, flags: 0, body: { kind: 'PORT_DESC' } }),
      encodeMessage({
        type: 'FLOW_MOD', xid: this.nextXid++, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'ADD', idleTimeout: 0, hardTimeout: 0,
        priority: 0, bufferId: 0xffffffff, outPort: Port.ANY, outGroup: 0xffffffff, flags: 0, match: { fields: [] },
        instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: Port.CONTROLLER, maxLen: 0xffff }] }],
      }),
    ]));
  }

  private onData(chunk: Buffer): void {
    const out: Buffer[] = [];
    let outLen = 0;
    for (const m of this.framer.push(chunk)) {
      const type = m[1];
      if (type === T.PACKET_IN) {
        const frame = packetInFrame(m);
        if (!frame) continue;
        const answer = Buffer.allocUnsafe(PACKET_OUT_PREFIX_LEN + frame.length);
        this.prefix.copy(answer, 0);
        answer.writeUInt16BE(answer.length, 2);
        answer.writeUInt32BE(m.readUInt32BE(4), 4);
        frame.copy(answer, PACKET_OUT_PREFIX_LEN);
        out.push(answer);
        outLen += answer.length;
      } else if (type === T.ECHO_REQUEST) {
        const reply = Buffer.from(m);
        reply[1] = T.ECHO_REPLY;
        out.push(reply);
        outLen += reply.length;
      }
      // Everything else (HELLO, FEATURES_REPLY, PORT_DESC, BARRIER_REPLY...) needs no answer.
    }
    if (out.length > 0) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, outLen));
  }
}

/** Listens on `host:port` (port 0: any) and answers every switch that connects. */
export function startCeilingResponder(host: string, port: number): Promise<Server> {
  const prefix = packetOutPrefix();
  const server = createServer((socket) => new Connection(socket, prefix));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { listen: { type: 'string' } }, strict: true });
  const m = /^(.+):(\d+)$/.exec(values.listen ?? '');
  if (!m) {
    process.stderr.write('usage: ceiling-responder --listen HOST:PORT\n');
    process.exit(2);
  }
  await startCeilingResponder(m[1]!, Number(m[2]));
  // Nothing to save or flush: leave at once (the bench reads a clean exit).
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
