/**
 * The client of a migration measurement (run in its own container, on another host):
 *   - HTTP probes: every --interval-ms (10) a FRESH TCP connection and one GET, given up after
 *     --timeout-ms (200). A probe is good when the whole 200 answer of the expected server came
 *     back in time. Fresh connections: each probe sees the network as it is now, not a TCP
 *     retransmission timer of an older connection.
 *   - UDP stream: ONE long-lived flow (same local and remote address and port), a datagram
 *     every --udp-interval-ms (1) carrying its sequence number and send time; the server echoes
 *     it. Sends are scheduled on a fixed grid and caught up when the event loop was late, so
 *     the rate holds.
 *   - TCP stream: ONE long-lived connection (Nagle off) to the server's TCP echo, a 16-byte
 *     request (sequence number, send time) every --tcp-interval-ms (1) on the same grid; the
 *     namespace's TCP retransmission timeouts (TcpExt TCPTimeouts) are counted over the run.
 *
 *   node probe-client.js --target IP --out FILE [--http-port 8080] [--udp-port 7777]
 *        [--udp-local-port 47777] [--interval-ms 10] [--timeout-ms 200] [--udp-interval-ms 1]
 *        [--expect NAME]
 *
 * Times are CLOCK_MONOTONIC milliseconds (process.hrtime), the same clock in every process of
 * the machine, so the orchestrator's freeze/resume times compare directly.
 *
 * Protocol on stdout (JSON lines): {"type":"ready"}, then every 50 ms a heartbeat
 * {"type":"hb","t","httpOkAt","udpEchoSentAt","udpEchoAt"}: the completion time of the latest
 * good probe, the send time of the latest echoed datagram and its echo time. On "stop" (stdin)
 * or SIGTERM it stops sending, waits for answers still due, writes every probe and datagram to
 * --out (see ClientRecord in stats.ts) and prints {"type":"done"}.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ClientRecord } from './stats.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    out: { type: 'string' },
    'http-port': { type: 'string', default: '8080' },
    'udp-port': { type: 'string', default: '7777' },
    'udp-local-port': { type: 'string', default: '47777' },
    'interval-ms': { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '200' },
    'udp-interval-ms': { type: 'string', default: '1' },
    'tcp-port': { type: 'string', default: '7778' },
    'tcp-interval-ms': { type: 'string', default: '1' },
    expect: { type: 'string' },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`probe-client: ${message}\n`);
  process.exit(2);
}
function num(name: keyof typeof values, min: number, max: number, integer = true): number {
  const text = String(values[name]);
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) fail(`--${name}: expected ${min} to ${max}, got "${text}"`);
  return n;
}
if (!values.target || !/^\d+\.\d+\.\d+\.\d+$/.test(values.target)) fail('--target IPV4 is required');
if (!values.out) fail('--out FILE is required');
const target = values.target;
const outFile = values.out;
const httpPort = num('http-port', 1, 65535);
const udpPort = num('udp-port', 1, 65535);
const udpLocalPort = num('udp-local-port', 1, 65535);
const intervalMs = num('interval-ms', 1, 10_000, false);
const timeoutMs = num('timeout-ms', 1, 60_000, false);
const udpIntervalMs = num('udp-interval-ms', 0.1, 10_000, false);
const expect = values.expect;
const tcpPort = num('tcp-port', 1, 65535);
const tcpIntervalMs = num('tcp-interval-ms', 0.1, 10_000, false);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

// ---- HTTP probes ---------------------------------------------------------------------------

const http = { sent: [] as number[], done: [] as number[], ok: [] as number[], err: [] as string[] };
let inflight = 0;
let httpOkAt: number | null = null;

function probe(): void {
  const seq = http.sent.length;
  const path = `/probe/${seq}`;
  http.sent.push(r3(now()));
  http.done.push(NaN);
  http.ok.push(0);
  http.err.push('');
  inflight++;
  let finished = false;
  let buf = '';
  const sock = connect({ host: target, port: httpPort, noDelay: true });
  const finish = (ok: boolean, err: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const t = now();
    http.done[seq] = r3(t);
    http.ok[seq] = ok ? 1 : 0;
    http.err[seq] = err;
    if (ok && (httpOkAt === null || t > httpOkAt)) httpOkAt = t;
    sock.destroy();
    inflight--;
  };
  const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
  sock.setEncoding('latin1');
  sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`));
  sock.on('data', (chunk: string) => {
    buf += chunk;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end));
    if (!length) return finish(false, 'no content-length');
    const body = buf.slice(end + 4);
    if (body.length < Number(length[1])) return;
    if (!buf.startsWith('HTTP/1.1 200')) return finish(false, `status ${buf.slice(9, 12)}`);
    // The body names the server and echoes the path: a stale or foreign answer is not good.
    const [name, , echoed] = body.trim().split(' ');
    if (echoed !== path || (expect !== undefined && name !== expect)) return finish(false, 'unexpected body');
    finish(true, '');
  });
  sock.on('end', () => finish(false, 'closed early'));
  sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
}

// ---- UDP stream ----------------------------------------------------------------------------

const MAGIC = 0x56494e4f; // "VINO"
const session = randomBytes(4).readUInt32BE(0);
const udp = { sent: [] as number[], recv: [] as number[], duplicates: 0, duplicateAt: [] as [number, number][], foreign: 0, sendErrors: 0 };
let udpEchoSentAt: number | null = null;
let udpEchoAt: number | null = null;
const sock = createSocket('udp4');
sock.on('message', (msg) => {
  const t = now();
  if (msg.length < 16 || msg.readUInt32BE(0) !== MAGIC || msg.readUInt32BE(4) !== session) {
    udp.foreign++;
    return;
  }
  const seq = msg.readUInt32BE(8);
  if (seq >= udp.sent.length) {
    udp.foreign++;
    return;
  }
  if (!Number.isNaN(udp.recv[seq]!)) {
    udp.duplicates++;
    udp.duplicateAt.push([seq, r3(t)]);
    return;
  }
  udp.recv[seq] = r3(t);
  const s = udp.sent[seq]!;
  if (udpEchoSentAt === null || s > udpEchoSentAt) udpEchoSentAt = s;
  udpEchoAt = t;
});
// ICMP errors on the connected socket (port or host unreachable while the server moves) are
// reported here and on later sends: they are losses, already visible as missing echoes.
sock.on('error', () => {
  udp.sendErrors++;
});

function sendDatagram(): void {
  const seq = udp.sent.length;
  const t = now();
  udp.sent.push(r3(t));
  udp.recv.push(NaN);
  const b = Buffer.alloc(24);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(session, 4);
  b.writeUInt32BE(seq, 8);
  b.writeDoubleBE(t, 16);
  sock.send(b, (err) => {
    if (err) udp.sendErrors++;
  });
}

await new Promise<void>((resolve, reject) => {
  sock.once('error', reject);
  sock.bind(udpLocalPort, () => {
    sock.connect(udpPort, target, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}).catch((err: Error) => fail(`UDP socket on port ${udpLocalPort}: ${err.message}`));

// ---- TCP stream ----------------------------------------------------------------------------

/** Retransmission timeouts of this namespace so far (null when /proc does not tell). */
function tcpTimeouts(): number | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const keys = lines[0]!.split(' ');
    const n = Number(lines[1]!.split(' ')[keys.indexOf('TCPTimeouts')]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
const tcp = { sent: [] as number[], recv: [] as number[], errors: [] as string[] };
const timeoutsAtStart = tcpTimeouts();
let tcpPending: Buffer = Buffer.alloc(0);
const tcpSock = connect({ host: target, port: tcpPort, noDelay: true });
tcpSock.on('data', (chunk: Buffer) => {
  const t = now();
  tcpPending = tcpPending.length ? Buffer.concat([tcpPending, chunk]) : chunk;
  while (tcpPending.length >= 16) {
    const seq = tcpPending.readUInt32BE(0);
    if (seq < tcp.recv.length && Number.isNaN(tcp.recv[seq]!)) tcp.recv[seq] = r3(t);
    tcpPending = tcpPending.subarray(16);
  }
});
tcpSock.on('error', (e: NodeJS.ErrnoException) => tcp.errors.push(e.code ?? e.message));
await new Promise<void>((resolve) => tcpSock.once('connect', () => resolve())).catch(() => undefined);
function sendTcp(): void {
  if (tcpSock.destroyed) return;
  const seq = tcp.sent.length;
  const t = now();
  tcp.sent.push(r3(t));
  tcp.recv.push(NaN);
  const b = Buffer.alloc(16);
  b.writeUInt32BE(seq, 0);
  b.writeDoubleBE(t, 8);
  tcpSock.write(b);
}

// ---- schedule --------------------------------------------------------------------------------

const started = now();
let httpDue = 0;
let udpDue = 0;
let tcpDue = 0;
let stopping = false;

// Fixed grids from `started`; a late tick sends everything due so far (no drift, no gaps).
const httpTimer = setInterval(() => {
  const due = Math.floor((now() - started) / intervalMs) + 1;
  while (httpDue < due) {
    httpDue++;
    probe();
  }
}, Math.max(1, intervalMs / 2));
const udpTimer = setInterval(() => {
  const due = Math.floor((now() - started) / udpIntervalMs) + 1;
  while (udpDue < due) {
    udpDue++;
    sendDatagram();
  }
}, 1);
const tcpTimer = setInterval(() => {
  const due = Math.floor((now() - started) / tcpIntervalMs) + 1;
  while (tcpDue < due) {
    tcpDue++;
    sendTcp();
  }
}, 1);
const hbTimer = setInterval(() => {
  process.stdout.write(`${JSON.stringify({ type: 'hb', t: r3(now()), httpOkAt, udpEchoSentAt, udpEchoAt, probes: http.sent.length, datagrams: udp.sent.length })}\n`);
}, 50);
process.stdout.write(`${JSON.stringify({ type: 'ready', t: r3(started), pid: process.pid })}\n`);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(httpTimer);
  clearInterval(udpTimer);
  clearInterval(tcpTimer);
  // Answers still due: probes until their timeout, echoes for as long again.
  const deadline = now() + timeoutMs + 50;
  while (inflight > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, Math.min(200, timeoutMs)));
  clearInterval(hbTimer);
  sock.close();
  tcpSock.destroy();
  const timeoutsAtEnd = tcpTimeouts();
  const record: ClientRecord = {
    version: 1,
    clock: 'monotonic-ms',
    target,
    intervalMs,
    timeoutMs,
    udpIntervalMs,
    http,
    udp: { session, sent: udp.sent, recv: udp.recv.map((x) => (Number.isNaN(x) ? null : x)), duplicates: udp.duplicates, duplicateAt: udp.duplicateAt, foreign: udp.foreign, sendErrors: udp.sendErrors },
    tcp: {
      intervalMs: tcpIntervalMs, sent: tcp.sent, recv: tcp.recv.map((x) => (Number.isNaN(x) ? null : x)), errors: tcp.errors,
      timeouts: timeoutsAtStart === null || timeoutsAtEnd === null ? null : timeoutsAtEnd - timeoutsAtStart,
    },
  };
  writeFileSync(outFile, JSON.stringify({ ...record, http: { ...http, done: http.done.map((x) => (Number.isNaN(x) ? null : x)) } }));
  process.stdout.write(`${JSON.stringify({ type: 'done', probes: http.sent.length, datagrams: udp.sent.length })}\n`);
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === 'stop') void stop();
  })
  // The orchestrator went away: finish rather than probe forever.
  .on('close', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
