/**
 * Child processes of a benchmark run: every one is registered, stopped when the run ends, and
 * killed on Ctrl-C / SIGTERM or when the benchmark exits on an error, so no controller or
 * ovs-vswitchd outlives it. Also: free TCP ports and order statistics.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, openSync, readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];
let hooked = false;

function killAllNow(): void {
  // Clean-ups first: they may need their processes (e.g. ovs-vsctl del-br needs the daemons).
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch {
      // best effort at exit
    }
  }
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping child processes\n`);
      killAllNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Synchronous clean-up to run at exit (also on Ctrl-C), in reverse order of registration. */
export function atExit(f: () => void): () => void {
  hook();
  cleanups.push(f);
  return () => {
    const i = cleanups.indexOf(f);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export interface Child {
  proc: ChildProcess;
  /** File holding the child's stdout and stderr. */
  logFile: string;
  /** Last lines of the log (for error messages). */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a registered child whose output goes to `logFile`. */
export function startChild(argv: string[], logFile: string, options: SpawnOptions = {}): Child {
  hook();
  const fd = openSync(logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], ...options });
  } finally {
    closeSync(fd);
  }
  live.add(proc);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
    proc.once('error', (err) => {
      live.delete(proc);
      process.stderr.write(`cannot start ${argv[0]}: ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  const tail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return {
    proc, logFile, exited, tail,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest-rank quantile (q in [0, 1]); NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
