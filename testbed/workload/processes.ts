/**
 * Child processes of the migration bench and demo (controller, os-ken, probes): each one is
 * registered, stopped by PID when its owner is done, and SIGKILLed by PID when this process
 * exits or is interrupted, so none outlives a run — also after Ctrl-C or a crash.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const live = new Set<ChildProcess>();
let hooked = false;

function killAllSync(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
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
  process.on('exit', killAllSync);
}

/** Registers a child started elsewhere (e.g. by testbed.spawnInContainer) for the kill at exit. */
export function track(child: ChildProcess): ChildProcess {
  hook();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every registered child now (synchronous: usable in signal handlers). */
export function killAllChildren(): void {
  killAllSync();
}

export interface Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** File holding the child's stdout and stderr. */
  readonly logFile: string;
  /** Last lines of the log, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True while it runs. */
  running(): boolean;
}

/** Starts a registered child whose stdout and stderr go to `logFile` (appended). */
export function startLogged(name: string, argv: readonly string[], logFile: string, options: SpawnOptions = {}): Child {
  if (argv.length === 0) throw new Error(`${name}: empty command`);
  const fd = openSync(logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], ...options });
  } finally {
    closeSync(fd);
  }
  track(proc);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (err) => {
      live.delete(proc);
      try {
        // Surfaces in tail(): the reason it never ran.
        appendFileSync(logFile, `cannot start ${argv[0]}: ${err.message}\n`);
      } catch {
        // the log is best effort
      }
      resolve({ code: null, signal: null });
    });
  });
  const child: Child = {
    proc, name, logFile, exited,
    tail(lines = 20) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    running: () => proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined,
    async stop(graceMs = 5000) {
      if (!child.running()) {
        await exited;
        return;
      }
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.running()) proc.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return child;
}

/** A TCP port free on `host` right now (bound and released). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Environment for node programs started in containers: tap's loaders must not follow them. */
export function childEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0] !== 'NODE_OPTIONS' && e[1] !== undefined));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CLOCK_MONOTONIC in ms: the clock of the probes too (same in every process of the machine). */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Whether something accepts TCP connections on host:port now. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits until `child` (a server just started) accepts connections on host:port; if it exits
 * first or does not listen within `timeoutMs`, stops it and throws with its log's last lines.
 */
export async function waitListening(child: Child, what: string, options: { host: string; port: number; logFile: string; timeoutMs: number; pollMs: number }): Promise<Child> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`${what} exited before listening; ${options.logFile}:\n${child.tail()}`);
    if (await listening(options.host, options.port)) return child;
    await sleep(options.pollMs);
  }
  await child.stop(1000);
  throw new Error(`${what} did not listen on ${options.host}:${options.port} within ${options.timeoutMs} ms; ${options.logFile}:\n${child.tail()}`);
}
