/**
 * The service inside a migrating container (run in its namespace with spawnInContainer):
 *   - an HTTP server answering every request with `200 <name> <pid> <path>` (so a client can
 *     check it talks to this very process, before and after the move);
 *   - a UDP echo server sending every datagram back to where it came from, unchanged;
 *   - a TCP echo server (Nagle off) sending back every byte it receives, for long-lived
 *     connections that must survive the move.
 *
 *   node probe-server.js [--name NAME] [--http-port 8080] [--udp-port 7777] [--tcp-port 7778]
 *        [--udp-rcvbuf BYTES] [--duplicate-log FILE] [--counters-file FILE] [--one-process]
 *
 * Each service runs in a process of its own (this one serves HTTP and starts the other two, which
 * exit when it goes), as separate services of a container would: after a resume, the HTTP server
 * answers the connections queued during the freeze without first working through the UDP echo's
 * backlog in the same event loop (the control's HTTP refractory, no move at all, was 13 ms
 * median that way on 2 cores, 5.1 ms with a process each). --one-process keeps all three here.
 *
 * --duplicate-log appends a JSON line {"session","seq","t"} (t: CLOCK_MONOTONIC ms) for every
 * probe-client datagram received a second time: a duplicate the network delivered, told apart
 * from an echo the network duplicated on the way back.
 *
 * --counters-file keeps a JSON object of running totals over probe-client datagrams there,
 * rewritten whenever one moves: udpOutOfOrder (received after a later sequence number of its
 * session, first copy only: reordered on the way in, e.g. by a replay that a frame delivered
 * directly overtook), udpDuplicates; read before and after a run, their difference is the run's.
 * And `received`, first copies by session (the last 16 sessions; written within 50 ms): with the
 * client's count of echoes it tells a datagram lost on the way in from one lost on the way back.
 *
 * --udp-rcvbuf sets the UDP socket's SO_RCVBUF (the kernel caps it at net.core.rmem_max and
 * doubles it for its bookkeeping); 0, the default, keeps the system's (net.core.rmem_default).
 *
 * Prints one JSON line `{"ready":true,"pid":N,...}` once both listen; exits on SIGTERM/SIGINT.
 * It sends nothing on its own: after a move the network hears from it only in answer to
 * traffic, which is what makes learning switches slow to find it.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'probe' },
    'http-port': { type: 'string', default: '8080' },
    'udp-port': { type: 'string', default: '7777' },
    'tcp-port': { type: 'string', default: '7778' },
    'udp-rcvbuf': { type: 'string', default: '0' },
    'duplicate-log': { type: 'string' },
    'counters-file': { type: 'string' },
    'one-process': { type: 'boolean', default: false },
    // Internal: the one service a process started by another runs.
    serve: { type: 'string' },
  },
  strict: true,
});

function port(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    process.stderr.write(`probe-server: ${what}: expected a port 1-65535, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

const name = values.name!;
const httpPort = port(values['http-port']!, '--http-port');
const udpPort = port(values['udp-port']!, '--udp-port');
const tcpPort = port(values['tcp-port']!, '--tcp-port');
const udpRcvbuf = Number(values['udp-rcvbuf']);
if (!Number.isSafeInteger(udpRcvbuf) || udpRcvbuf < 0) {
  process.stderr.write(`probe-server: --udp-rcvbuf: expected a number of bytes >= 0, got "${values['udp-rcvbuf']}"\n`);
  process.exit(2);
}
let served = 0;
let echoed = 0;

const http = createServer((req, res) => {
  served++;
  const body = `${name} ${process.pid} ${req.url ?? '/'}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
// Probes come every 10 ms on fresh connections: no keep-alive to track, no per-socket timers.
http.keepAliveTimeout = 0;
http.on('clientError', (_err, socket) => socket.destroy());

const duplicateLog = values['duplicate-log'];
const countersFile = values['counters-file'];
// probe-client's datagrams: "VINO" magic, session, sequence number (see probe-client.ts).
const PROBE_MAGIC = 0x56494e4f;
interface SessionSeen {
  seqs: Set<number>;
  highest: number;
}
const seenBySession = new Map<number, SessionSeen>();
const totals = { udpOutOfOrder: 0, udpDuplicates: 0, received: {} as Record<string, number> };
const RECEIVED_SESSIONS = 16;
let receivedWrite: NodeJS.Timeout | undefined;

function writeCounters(): void {
  if (countersFile === undefined) return;
  // Whole or not at all for a reader (the bench reads it while the server runs).
  writeFileSync(`${countersFile}.tmp`, `${JSON.stringify(totals)}\n`);
  renameSync(`${countersFile}.tmp`, countersFile);
}

/** Notes a probe-client datagram: a duplicate (logged), or one that came after a later one of its session. */
function noteOrder(msg: Buffer): void {
  if ((duplicateLog === undefined && countersFile === undefined) || msg.length < 12 || msg.readUInt32BE(0) !== PROBE_MAGIC) return;
  const session = msg.readUInt32BE(4);
  const seq = msg.readUInt32BE(8);
  let seen = seenBySession.get(session);
  if (!seen) seenBySession.set(session, (seen = { seqs: new Set(), highest: -1 }));
  if (!seen.seqs.has(seq)) {
    seen.seqs.add(seq);
    const key = String(session);
    if (totals.received[key] === undefined) {
      const keys = Object.keys(totals.received);
      if (keys.length >= RECEIVED_SESSIONS) delete totals.received[keys[0]!];
    }
    totals.received[key] = (totals.received[key] ?? 0) + 1;
    // Not a file write per datagram: at most one per 50 ms.
    receivedWrite ??= setTimeout(() => {
      receivedWrite = undefined;
      writeCounters();
    }, 50);
    if (seq > seen.highest) {
      seen.highest = seq;
      return;
    }
    totals.udpOutOfOrder++;
    writeCounters();
    return;
  }
  totals.udpDuplicates++;
  writeCounters();
  if (duplicateLog === undefined) return;
  const t = Math.round(Number(process.hrtime.bigint()) / 1e3) / 1e3;
  appendFileSync(duplicateLog, `${JSON.stringify({ session, seq, t })}\n`);
}

type Service = 'http' | 'udp' | 'tcp';
const only = values.serve;
if (only !== undefined && only !== 'udp' && only !== 'tcp') {
  process.stderr.write(`probe-server: --serve: expected udp or tcp, got "${only}"\n`);
  process.exit(2);
}
const here: Service[] = only !== undefined ? [only] : values['one-process'] ? ['http', 'udp', 'tcp'] : ['http'];

function listenUdp(): Promise<() => number> {
  const udp = createSocket({ type: 'udp4', ...(udpRcvbuf > 0 ? { recvBufferSize: udpRcvbuf } : {}) });
  udp.on('message', (msg, rinfo) => {
    echoed++;
    noteOrder(msg);
    udp.send(msg, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(udpPort, '0.0.0.0', () => {
      // An echo to a client that went away (ICMP unreachable) must not stop the server.
      udp.on('error', () => {});
      resolve(() => udp.getRecvBufferSize());
    });
  });
}

function listenTcp(): Promise<void> {
  const tcp = createTcpServer({ noDelay: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(tcpPort, '0.0.0.0', () => resolve());
  });
}

function listenHttp(): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(httpPort, '0.0.0.0', () => resolve());
  });
}

let udpRcvbufNow: (() => number) | undefined;
const children: ChildProcess[] = [];

/** Starts this program again for one service; resolves once it listens (rejects when it exits first). */
function startService(service: 'udp' | 'tcp'): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--one-process');
  const child = fork(fileURLToPath(import.meta.url), [...args, '--serve', service], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m: { udpRcvbuf?: number }) => {
      if (m.udpRcvbuf !== undefined) udpRcvbufNow = () => m.udpRcvbuf!;
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`the ${service} service exited (${code}) before listening`)));
  });
}

await Promise.all([
  here.includes('http') ? listenHttp() : undefined,
  here.includes('udp') ? listenUdp().then((get) => void (udpRcvbufNow = get)) : undefined,
  here.includes('tcp') ? listenTcp() : undefined,
  ...(only === undefined && !values['one-process'] ? [startService('udp'), startService('tcp')] : []),
]).catch((err: Error) => {
  process.stderr.write(`probe-server: cannot listen: ${err.message}\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});

if (here.includes('udp')) writeCounters();
if (only !== undefined) {
  // A service of another probe-server: it goes when that one goes, however it ends.
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true, ...(udpRcvbufNow ? { udpRcvbuf: udpRcvbufNow() } : {}) });
} else {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, name, httpPort, udpPort, tcpPort, ...(udpRcvbufNow ? { udpRcvbuf: udpRcvbufNow() } : {}), processes: children.length + 1 })}\n`);
}

const stop = () => {
  if (here.includes('http')) process.stderr.write(`probe-server ${name}: ${served} HTTP requests served\n`);
  if (here.includes('udp')) process.stderr.write(`probe-server ${name}: ${echoed} datagrams echoed\n`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
