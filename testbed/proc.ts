/**
 * Processes: running commands (also inside a namespace), finding processes by network namespace
 * through /proc (what `ip netns pids` does, without a process per question), and stopping them.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ExecOptions, ExecResult } from './types.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

/** A command exited non-zero, was killed, timed out or could not start. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    /** Where it ran, e.g. `namespace vt1a2b-h1` or `the root namespace`. */
    readonly where: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    const how = timedOut ? 'timed out' : signal ? `killed by ${signal}` : exitCode === null ? 'could not start' : `exit status ${exitCode}`;
    const detail = stderr.trim() || stdout.trim();
    super(`${formatArgv(argv)} (in ${where}): ${how}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Quotes one word for sh (only when needed, so messages stay readable). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line for `sh -ec` that runs the commands in order and stops at the first failure. */
export function shellScript(commands: readonly (readonly string[])[]): string {
  return commands.map((c) => c.map(shellQuote).join(' ')).join('\n');
}

/** argv that runs `argv` inside network namespace `ns`. */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Runs a command; rejects with CommandError (carrying stderr) unless it exits 0. */
export function run(argv: readonly string[], opts: ExecOptions & { where?: string } = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('run: empty command'));
  const where = opts.where ?? 'the root namespace';
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string | null };
        const exitCode = typeof e.code === 'number' ? e.code : null;
        const timedOut = Boolean(e.killed) && e.signal === 'SIGKILL';
        const stderrText = typeof e.code === 'string' && !stderr ? `${e.code}: ${e.message}` : stderr;
        reject(new CommandError(argv, where, exitCode, e.signal ?? null, stdout, stderrText, timedOut));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a command inside network namespace `ns`. */
export function runInNetns(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run(inNetns(ns, argv), { ...opts, where: `namespace ${ns}` });
}

/** Synchronous run for exit handlers (no event loop left). Never throws; returns stderr. */
export function runSync(argv: readonly string[], input?: string): { ok: boolean; stderr: string } {
  const [file, ...args] = argv;
  const r = spawnSync(file!, args, { input, encoding: 'utf8', timeout: 15_000 });
  return { ok: r.status === 0, stderr: r.error ? r.error.message : (r.stderr ?? '') };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Runs `fn` on every item, at most `limit` at a time; rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: unknown;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (e) {
        if (!failed) firstError = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw firstError;
  return results;
}

// ---- /proc ----

export interface ProcStat {
  state: string;
  pgrp: number;
  /** Start time since boot in clock ticks: with the pid, identifies a process across pid reuse. */
  startTime: number;
}

export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgrp: Number(fields[2]), startTime: Number(fields[19]) };
}

/** Running (not a zombie: a zombie holds no namespace and cannot be signalled away). */
export function isAlive(pid: number): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^[0-9]+$/.test(d))
    .map(Number);
}

/** Inode of a named network namespace (/run/netns/NAME), or null when it does not exist. */
export function netnsInode(name: string): number | null {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return null;
  }
}

export function netnsExists(name: string): boolean {
  return netnsInode(name) !== null;
}

/** Names in /run/netns. */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Live processes in the named network namespaces, per namespace. */
export function pidsInNetns(names: readonly string[]): Map<string, number[]> {
  const byInode = new Map<number, string>();
  const out = new Map<string, number[]>();
  for (const name of names) {
    out.set(name, []);
    const ino = netnsInode(name);
    if (ino !== null) byInode.set(ino, name);
  }
  if (byInode.size === 0) return out;
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let ino: number;
    try {
      ino = statSync(`/proc/${pid}/ns/net`).ino;
    } catch {
      continue; // gone, or a kernel thread
    }
    const name = byInode.get(ino);
    if (name !== undefined && isAlive(pid)) out.get(name)!.push(pid);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops processes: SIGCONT (a frozen process cannot act on SIGTERM), SIGTERM, then SIGKILL for
 * whatever is left after `graceMs`. `groups` are process-group leaders whose whole group is
 * signalled. Returns the pids still alive at the end (none, normally).
 */
export async function stopProcesses(pids: readonly number[], groups: readonly number[], graceMs = 2000): Promise<number[]> {
  const all = [...new Set([...pids, ...groups])];
  const send = (sig: NodeJS.Signals) => {
    for (const g of groups) if (procStat(g)?.pgrp === g) signal(-g, sig);
    for (const p of all) signal(p, sig);
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (all.some(isAlive) && Date.now() < deadline) await sleep(20);
  };
  send('SIGCONT');
  send('SIGTERM');
  await waitGone(graceMs);
  if (all.some(isAlive)) {
    send('SIGKILL');
    await waitGone(3000);
  }
  return all.filter(isAlive);
}

/** stopProcesses for exit handlers: straight to SIGKILL, waits synchronously. */
export function killProcessesSync(pids: readonly number[], groups: readonly number[]): number[] {
  const all = [...new Set([...pids, ...groups])];
  for (const g of groups) if (procStat(g)?.pgrp === g) signal(-g, 'SIGKILL');
  for (const p of all) {
    signal(p, 'SIGCONT');
    signal(p, 'SIGKILL');
  }
  const deadline = Date.now() + 3000;
  while (all.some(isAlive) && Date.now() < deadline) sleepSync(10);
  return all.filter(isAlive);
}
