/**
 * Micro-benchmark timing: calibrate a batch size, warm up, then time several rounds and keep
 * the median (robust against a round disturbed by GC or by other work on a shared machine).
 */
import { cpus, loadavg } from 'node:os';

export interface Measurement {
  name: string;
  /** Median operations per second of wall-clock time over the rounds. */
  opsPerSec: number;
  minOpsPerSec: number;
  maxOpsPerSec: number;
  /**
   * Median operations per second of CPU time this process used (user + system, all its
   * threads): what one core would sustain if we had it to ourselves. On a busy machine the
   * wall-clock rate is lower, by the share of the core the scheduler gave us.
   */
  opsPerCpuSec: number;
  /** Median CPU time / wall time during the rounds (1 = a whole core). */
  cpuShare: number;
  rounds: number;
}

export interface MeasureOptions {
  warmupMs?: number;
  rounds?: number;
  roundMs?: number;
}

/** Something consumed by every benchmark body so the work cannot be optimised away. */
let sink = 0;
export function consume(v: number): void {
  sink = (sink + v) | 0;
}
export function sinkValue(): number {
  return sink;
}

/**
 * Times `body(n)`, which must perform the operation `n` times (and feed something derived from
 * the results to `consume`).
 */
export function measure(name: string, body: (n: number) => void, opts: MeasureOptions = {}): Measurement {
  const warmupMs = opts.warmupMs ?? 300;
  const rounds = opts.rounds ?? 7;
  const roundMs = opts.roundMs ?? 250;
  // Calibrate: grow the batch until one batch takes ~10 ms.
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    body(batch);
    const dt = performance.now() - t0;
    if (dt >= 10 || batch >= 1 << 26) break;
    batch *= dt < 1 ? 8 : 2;
  }
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) body(batch);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  const shares: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < roundMs) {
      body(batch);
      ops += batch;
      t1 = performance.now();
    }
    const c = process.cpuUsage(c0);
    const cpuSec = (c.user + c.system) / 1e6;
    rates.push(ops / ((t1 - t0) / 1000));
    cpuRates.push(ops / Math.max(cpuSec, 1e-6));
    shares.push(cpuSec / ((t1 - t0) / 1000));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  rates.sort((a, b) => a - b);
  return {
    name, opsPerSec: median(rates), minOpsPerSec: rates[0]!, maxOpsPerSec: rates[rates.length - 1]!,
    opsPerCpuSec: median(cpuRates), cpuShare: median(shares), rounds,
  };
}

export function describeMachine(): string {
  const c = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const busy = loadavg()[0]! > c.length
    ? `\nWARNING: the machine is busy (1-minute load ${loadavg()[0]!.toFixed(1)} on ${c.length} cores): wall-clock rates are ` +
      'lower than on an idle machine; the per-CPU-second rates and the ratios to the references are the comparable figures.'
    : '';
  return `node ${process.version}, ${c.length} × ${c[0]?.model ?? 'unknown CPU'}, load average ${load}${busy}`;
}

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}
