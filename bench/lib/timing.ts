/**
 * Micro-benchmark timing: calibrate a batch size, warm up, then time several rounds and keep
 * the median (robust against a round disturbed by GC or by other work on a shared machine).
 */
import { cpus, loadavg } from 'node:os';

export interface Measurement {
  name: string;
  /** Median operations per second over the rounds. */
  opsPerSec: number;
  minOpsPerSec: number;
  maxOpsPerSec: number;
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
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < roundMs) {
      body(batch);
      ops += batch;
      t1 = performance.now();
    }
    rates.push(ops / ((t1 - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { name, opsPerSec: rates[rates.length >> 1]!, minOpsPerSec: rates[0]!, maxOpsPerSec: rates[rates.length - 1]!, rounds };
}

export function describeMachine(): string {
  const c = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `node ${process.version}, ${c.length} × ${c[0]?.model ?? 'unknown CPU'}, load average ${load}`;
}

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}
