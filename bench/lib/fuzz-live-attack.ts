/**
 * The hostile side of the live fuzz (see fuzz-live.ts), run in a worker thread: every mode
 * loops connections against the controller until the attack time is up, then posts what it
 * sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { MessageTypeCode } from '../../src/openflow/constants.js';
import { MESSAGE_LENGTH_BOUNDS } from '../../src/openflow/header-check.js';
import { captureCorpus, sampleCorpus } from './corpus.js';
import { generateCase } from './fuzz.js';
import { Prng } from './prng.js';
import { RawClient, arpRequest } from './raw-client.js';

export const HOSTILE_MODES = ['mutated', 'random', 'slowloris', 'huge', 'floodPacketIn', 'floodEcho', 'storm', 'churn'] as const;
export type HostileMode = typeof HOSTILE_MODES[number];

export interface AttackInput {
  host: string;
  port: number;
  attackMs: number;
  hostile: Record<HostileMode, number>;
  slowByteMs: number;
  seed: number;
}

export interface AttackResult {
  sent: Record<string, number>;
  connections: Record<string, number>;
  bytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The hostile side: every mode loops connections until the deadline. */
class Attack {
  readonly sent: Record<string, number> = {};
  readonly connections: Record<string, number> = {};
  bytes = 0;
  private readonly clients = new Set<RawClient>();
  private readonly corpus = [...sampleCorpus(), ...captureCorpus()];
  private nextDpid = 0xbad0_0000_0000_0000n;
  private caseIndex = 0;

  private readonly deadline: number;

  constructor(private readonly host: string, private readonly port: number, private readonly opts: AttackInput) {
    this.deadline = performance.now() + opts.attackMs;
    for (const m of HOSTILE_MODES) {
      this.sent[m] = 0;
      this.connections[m] = 0;
    }
  }

  private get running(): boolean {
    return performance.now() < this.deadline;
  }

  private open(mode: HostileMode): RawClient {
    const c = new RawClient(this.host, this.port);
    this.clients.add(c);
    this.connections[mode]!++;
    void c.closed.then(() => this.clients.delete(c));
    return c;
  }

  private async send(mode: HostileMode, c: RawClient, bytes: Buffer, messages: number): Promise<boolean> {
    const ok = await c.writeAll(bytes);
    if (ok) {
      this.sent[mode]! += messages;
      this.bytes += bytes.length;
    }
    return ok;
  }

  /** Until `c` closes or time is up. */
  private async hold(c: RawClient): Promise<void> {
    while (this.running && !c.isClosed) await Promise.race([c.closed, sleep(100)]);
  }

  async run(): Promise<void> {
    const { hostile } = this.opts;
    const loops: Promise<void>[] = [];
    const spawnLoops = (mode: HostileMode, n: number, body: (id: number, rng: Prng) => Promise<void>) => {
      for (let id = 0; id < n; id++) {
        const rng = new Prng((this.opts.seed ^ (HOSTILE_MODES.indexOf(mode) * 7919 + id * 104729)) >>> 0);
        loops.push((async () => {
          while (this.running) {
            try {
              await body(id, rng);
            } catch {
              // A refused connect (the handshake cap) is one of the outcomes under test.
              await sleep(20);
            }
          }
        })());
      }
    };
    spawnLoops('mutated', hostile.mutated, () => this.mutated());
    spawnLoops('random', hostile.random, (_id, rng) => this.random(rng));
    spawnLoops('slowloris', hostile.slowloris, (id) => this.slowloris(id));
    spawnLoops('huge', hostile.huge, (id) => this.huge(id));
    spawnLoops('floodPacketIn', hostile.floodPacketIn, () => this.flood('floodPacketIn'));
    spawnLoops('floodEcho', hostile.floodEcho, () => this.flood('floodEcho'));
    spawnLoops('churn', hostile.churn, (_id, rng) => this.churn(rng));
    // The storm comes a third of the way in, once the other modes hold their sessions: while it
    // fills the handshake cap, new connections are refused.
    if (hostile.storm > 0) loops.push(sleep(this.opts.attackMs / 3).then(() => this.storm(hostile.storm)));
    await Promise.all(loops);
    for (const c of this.clients) c.destroy();
  }

  /** Mutated corpus messages after a completed handshake, 32 per write. */
  private async mutated(): Promise<void> {
    const c = this.open('mutated');
    if (!(await c.handshake(this.nextDpid++))) return;
    while (this.running && !c.isClosed) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 32; i++) batch.push(generateCase(this.corpus, this.opts.seed, this.caseIndex++).bytes);
      if (!(await this.send('mutated', c, Buffer.concat(batch), batch.length))) break;
    }
    c.destroy();
  }

  /** Random bytes, or messages with a plausible header and a random body. */
  private async random(rng: Prng): Promise<void> {
    const c = this.open('random');
    if (!(await c.negotiate())) return;
    if (rng.below(4) === 0) {
      const junk = randomBytes(rng, 4096);
      await this.send('random', c, junk, 1);
      await this.hold(c);
    } else {
      const types = Object.keys(MESSAGE_LENGTH_BOUNDS).map(Number);
      while (this.running && !c.isClosed) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 32; i++) {
          const type = types[rng.below(types.length)]!;
          const [min, max] = MESSAGE_LENGTH_BOUNDS[type]!;
          const len = min + rng.below(Math.min(max, 512) - min + 1);
          const m = randomBytes(rng, len);
          m[0] = 4;
          m[1] = type;
          m.writeUInt16BE(len, 2);
          m.writeUInt32BE(rng.u32(), 4);
          batch.push(m);
        }
        if (!(await this.send('random', c, Buffer.concat(batch), batch.length))) break;
      }
    }
    c.destroy();
  }

  /** One byte at a time: a HELLO (even ids), or a PACKET_IN after a completed handshake (odd ids). */
  private async slowloris(id: number): Promise<void> {
    const c = this.open('slowloris');
    let msg: Buffer;
    if (id % 2 === 0) {
      await c.connected;
      msg = encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4] }] });
    } else {
      if (!(await c.handshake(this.nextDpid++))) return;
      c.answerEcho = false;
      msg = Buffer.alloc(200);
      msg[0] = 4;
      msg[1] = MessageTypeCode.PACKET_IN;
      msg.writeUInt16BE(200, 2);
    }
    for (let i = 0; i < msg.length && this.running && !c.isClosed; i++) {
      await this.send('slowloris', c, msg.subarray(i, i + 1), i === 0 ? 1 : 0);
      await Promise.race([sleep(this.opts.slowByteMs), c.closed]);
    }
    await this.hold(c);
    c.destroy();
  }

  /** Huge announced lengths: refused outright (fixed-size type), announced and never sent, or 64 KiB echoes never read back. */
  private async huge(id: number): Promise<void> {
    const c = this.open('huge');
    if (!(await c.handshake(this.nextDpid++))) return;
    const variant = id % 3;
    if (variant === 0) {
      const h = Buffer.from('0414ffff00000001', 'hex'); // BARRIER_REQUEST of 65535 bytes
      await this.send('huge', c, h, 1);
    } else if (variant === 1) {
      c.answerEcho = false;
      const h = Buffer.alloc(1000);
      h[0] = 4;
      h[1] = MessageTypeCode.PACKET_IN;
      h.writeUInt16BE(0xffff, 2);
      await this.send('huge', c, h, 1);
    } else {
      // Never read what comes back: the controller must cap what it queues for us.
      c.socket.pause();
      const echo = Buffer.alloc(0xffff);
      echo[0] = 4;
      echo[1] = MessageTypeCode.ECHO_REQUEST;
      echo.writeUInt16BE(0xffff, 2);
      while (this.running && !c.isClosed) if (!(await this.send('huge', c, echo, 1))) break;
    }
    await this.hold(c);
    c.destroy();
  }

  /** PACKET_INs or ECHO_REQUESTs as fast as the socket takes them, 256 per write. */
  private async flood(mode: 'floodPacketIn' | 'floodEcho'): Promise<void> {
    const c = this.open(mode);
    if (!(await c.handshake(this.nextDpid++))) return;
    const one = mode === 'floodEcho'
      ? encodeMessage({ type: 'ECHO_REQUEST', xid: 7, data: Buffer.alloc(16) })
      : encodeMessage({
        type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: 60, reason: 'NO_MATCH', tableId: 0, cookie: 0n,
        match: { fields: [{ field: 'in_port', value: 1 }] }, data: arpRequest('02:66:00:00:00:01', '10.66.0.1', '10.66.0.2'),
      });
    const batch = Buffer.concat(Array.from({ length: 256 }, () => one));
    while (this.running && !c.isClosed) if (!(await this.send(mode, c, batch, 256))) break;
    c.destroy();
  }

  /** `n` connections opened at once, each sending a HELLO and then nothing. */
  private async storm(n: number): Promise<void> {
    const hello = encodeMessage({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', versions: [4] }] });
    await Promise.all(Array.from({ length: n }, async () => {
      const c = this.open('storm');
      try {
        await c.connected;
        await this.send('storm', c, hello, 1);
      } catch {
        return;
      }
      // Held for a while even when this thread got to the storm late (a loaded machine): a
      // storm that leaves at once would not test the cap. Until the controller closes it, or
      // for half the attack time at most past the deadline.
      const until = Math.max(this.deadline, performance.now() + this.opts.attackMs / 2);
      while (performance.now() < until && !c.isClosed) await Promise.race([c.closed, sleep(100)]);
      c.destroy();
    }));
  }

  /** Connect and leave at once, after the HELLO, or after the handshake. */
  private async churn(rng: Prng): Promise<void> {
    const c = this.open('churn');
    const stage = rng.below(3);
    if (stage === 0) await c.connected;
    else if (stage === 1) {
      await c.connected;
      c.hello();
      this.sent['churn']!++;
    } else await c.handshake(this.nextDpid++);
    c.destroy();
    await c.closed;
  }
}


function randomBytes(rng: Prng, n: number): Buffer {
  const b = Buffer.alloc((n + 3) & ~3);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32BE(rng.u32(), i);
  return b.subarray(0, n);
}

if (parentPort && workerData) {
  const attack = new Attack((workerData as AttackInput).host, (workerData as AttackInput).port, workerData as AttackInput);
  await attack.run();
  parentPort.postMessage({ sent: attack.sent, connections: attack.connections, bytes: attack.bytes } satisfies AttackResult);
}
