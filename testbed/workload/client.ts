/**
 * Drives probe-client in a container: start, follow its heartbeats (to know when the service
 * answers steadily, and when it answers again after a move), stop, read its record.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Overlay } from './overlay.js';
import { probeProgram } from './overlay.js';
import { childEnv, monotonicMs, sleep, track } from './processes.js';
import type { ClientRecord } from './stats.js';

export interface Heartbeat {
  t: number;
  /** Completion time of the latest good HTTP probe. */
  httpOkAt: number | null;
  /** Send time of the latest echoed datagram. */
  udpEchoSentAt: number | null;
  /** When that echo came back. */
  udpEchoAt: number | null;
  probes: number;
  datagrams: number;
}

export interface ProbeClientOptions {
  /** Container the client runs in. */
  container: string;
  /** Address of the service. */
  target: string;
  /** Server name the answers must carry. */
  expect: string;
  outFile: string;
  httpPort?: number;
  udpPort?: number;
  udpLocalPort?: number;
  intervalMs?: number;
  timeoutMs?: number;
  udpIntervalMs?: number;
}

export class ProbeClient {
  latest: Heartbeat | null = null;
  private stderr = '';
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly options: ProbeClientOptions,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  static async start(overlay: Overlay, options: ProbeClientOptions): Promise<ProbeClient> {
    const o = options;
    const argv = [
      process.execPath, probeProgram('probe-client'), '--target', o.target, '--out', o.outFile, '--expect', o.expect,
      '--http-port', String(o.httpPort ?? 8080), '--udp-port', String(o.udpPort ?? 7777), '--udp-local-port', String(o.udpLocalPort ?? 47777),
      '--interval-ms', String(o.intervalMs ?? 10), '--timeout-ms', String(o.timeoutMs ?? 200), '--udp-interval-ms', String(o.udpIntervalMs ?? 1),
    ];
    const child = track(overlay.bed.spawnInContainer(o.container, argv, { env: childEnv() }));
    const client = new ProbeClient(child, o);
    await client.listen();
    return client;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const rl = createInterface({ input: this.child.stdout! });
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`probe client in ${this.options.container} not ready within 15 s: ${this.stderr.trim()}`)), 15_000);
      rl.on('line', (line) => {
        let msg: { type?: string } & Partial<Heartbeat>;
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.type === 'ready' && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (msg.type === 'hb') {
          this.latest = msg as Heartbeat;
          for (const w of [...this.waiters]) w();
        }
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        for (const w of [...this.waiters]) w();
        if (!ready) reject(new Error(`probe client in ${this.options.container} exited (${signal ?? `status ${code}`}): ${this.stderr.trim()}`));
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first heartbeat satisfying `pred`, or null after `timeoutMs`. */
  waitFor(pred: (hb: Heartbeat) => boolean, timeoutMs: number): Promise<Heartbeat | null> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.running) {
          finish();
          reject(new Error(`probe client in ${this.options.container} exited: ${this.stderr.trim()}`));
        } else if (this.latest && pred(this.latest)) {
          finish();
          resolve(this.latest);
        }
      };
      const timer = setTimeout(() => {
        finish();
        resolve(null);
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Waits until the service answers steadily: a good HTTP answer and an echo within the last
   * `freshMs`, holding for `holdMs`. Throws with what was missing after `timeoutMs`.
   */
  async waitSteady(timeoutMs = 15_000, holdMs = 1000, freshMs = 250): Promise<void> {
    const fresh = (hb: Heartbeat) => hb.httpOkAt !== null && hb.udpEchoAt !== null && hb.t - hb.httpOkAt < freshMs && hb.t - hb.udpEchoAt < freshMs;
    const deadline = monotonicMs() + timeoutMs;
    while (monotonicMs() < deadline) {
      const hb = await this.waitFor(fresh, deadline - monotonicMs());
      if (!hb) break;
      const since = monotonicMs();
      let broken = false;
      while (monotonicMs() - since < holdMs) {
        await sleep(50);
        if (!this.latest || !fresh(this.latest)) {
          broken = true;
          break;
        }
      }
      if (!broken) return;
    }
    const hb = this.latest;
    throw new Error(`the service in "${this.options.expect}" (${this.options.target}) does not answer steadily from ${this.options.container}: ` +
      (hb ? `last good HTTP answer ${hb.httpOkAt === null ? 'never' : `${Math.round(hb.t - hb.httpOkAt)} ms ago`}, last UDP echo ${hb.udpEchoAt === null ? 'never' : `${Math.round(hb.t - hb.udpEchoAt)} ms ago`}` : 'no heartbeat'));
  }

  /** Stops the client and returns everything it recorded. */
  async stop(): Promise<ClientRecord> {
    if (this.running) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.stdin?.write('stop\n');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    try {
      return JSON.parse(readFileSync(this.options.outFile, 'utf8')) as ClientRecord;
    } catch (err) {
      throw new Error(`probe client in ${this.options.container} left no usable record at ${this.options.outFile}: ${(err as Error).message}${this.stderr ? ` (stderr: ${this.stderr.trim()})` : ''}`);
    }
  }

  /** Kills it without waiting for a record (clean-up paths). */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
