/**
 * Runs commands on this machine through a few long-lived `sh` processes instead of one Node
 * child process per command.
 *
 * Why: starting a child process blocks Node's event loop until the child has exec'ed (libuv
 * forks and waits), which on a busy machine is tens of ms per command. Provisioning 24 nodes
 * runs a command per node while it talks OVSDB to all of them, so those stalls added up to
 * seconds and delayed every other node. A shell forks the commands itself, off our event loop.
 *
 * Each shell runs one command at a time; stdout and stderr go to files in a private temp dir
 * (so any output, binary or not, arrives intact), the exit status comes back as a line.
 * Commands are stopped by coreutils `timeout` when they overrun.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NodeExecError, shellQuote, type ExecResult } from './node-access.js';

export interface ShellCommand {
  argv: readonly string[];
  env?: Record<string, string>;
  timeoutMs: number;
}

/** Exit status of coreutils `timeout` when the command overran. */
const TIMED_OUT = 124;

interface Job extends ShellCommand {
  resolve(r: { status: number; stdout: string; stderr: string }): void;
  reject(e: Error): void;
}

class Shell {
  private readonly child: ChildProcessWithoutNullStreams;
  private buf = '';
  private job: Job | undefined;
  dead: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly onIdle: (s: Shell) => void,
  ) {
    this.child = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => this.onData(d));
    this.child.stderr.resume(); // the shell's own complaints; commands' stderr goes to files
    this.child.on('error', (e) => this.die(new Error(`cannot start sh: ${e.message}`)));
    this.child.on('exit', (code, signal) => this.die(new Error(`command shell exited (${signal ?? code})`)));
    this.child.stdin.on('error', () => undefined); // reported through 'exit'
  }

  get busy(): boolean {
    return this.job !== undefined;
  }

  /** An idle shell does not keep the process alive (a runner nobody closed must not hang the program). */
  private setRef(on: boolean): void {
    const streams = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Array<{ ref?(): void; unref?(): void }>;
    if (on) {
      this.child.ref();
      for (const s of streams) s.ref?.();
    } else {
      this.child.unref();
      for (const s of streams) s.unref?.();
    }
  }

  run(job: Job): void {
    this.job = job;
    this.setRef(true);
    const env = Object.entries(job.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`);
    const secs = Math.max(0.001, job.timeoutMs / 1000).toFixed(3);
    // TERM at the deadline (exit status 124), KILL a second later if that was ignored.
    const cmd = [...env, 'timeout', '-k', '1', secs, ...job.argv.map(shellQuote)].join(' ');
    const out = shellQuote(path.join(this.dir, 'out'));
    const err = shellQuote(path.join(this.dir, 'err'));
    this.child.stdin.write(`(${cmd}) >${out} 2>${err} </dev/null; echo "$?"\n`);
  }

  private onData(d: string): void {
    this.buf += d;
    const nl = this.buf.indexOf('\n');
    if (nl < 0) return;
    const line = this.buf.slice(0, nl);
    this.buf = this.buf.slice(nl + 1);
    const job = this.job;
    if (!job) return;
    const status = Number(line);
    void Promise.all([readFile(path.join(this.dir, 'out'), 'utf8'), readFile(path.join(this.dir, 'err'), 'utf8')]).then(
      ([stdout, stderr]) => {
        this.job = undefined;
        this.setRef(false);
        job.resolve({ status, stdout, stderr });
        this.onIdle(this);
      },
      (e: Error) => {
        this.job = undefined;
        this.setRef(false);
        job.reject(new Error(`cannot read the output of \`${job.argv.join(' ')}\`: ${e.message}`));
        this.onIdle(this);
      },
    );
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    const job = this.job;
    this.job = undefined;
    job?.reject(e);
    this.onIdle(this);
  }

  close(): void {
    if (!this.dead) this.child.stdin.end();
  }
}

export class ShellRunner {
  private readonly shells: Shell[] = [];
  private readonly queue: Job[] = [];
  private dir: string | undefined;
  private closed = false;
  /** Removes the temp dir when the program ends without close(). */
  private readonly exitHook = () => this.removeDir();

  constructor(readonly size = 4) {}

  /** Runs argv (no shell interpretation of its words); status is the command's exit status. */
  run(cmd: ShellCommand): Promise<{ status: number; stdout: string; stderr: string; timedOut: boolean }> {
    if (this.closed) return Promise.reject(new Error('the command runner is closed'));
    if (cmd.argv.length === 0) return Promise.reject(new Error('empty command'));
    return new Promise<{ status: number; stdout: string; stderr: string }>((resolve, reject) => {
      this.queue.push({ ...cmd, resolve, reject });
      this.pump();
    }).then((r) => ({ ...r, timedOut: r.status === TIMED_OUT }));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let shell = this.shells.find((s) => !s.busy && !s.dead);
      if (!shell) {
        for (let i = this.shells.length - 1; i >= 0; i--) if (this.shells[i]!.dead) this.shells.splice(i, 1);
        if (this.shells.length >= this.size) return;
        if (!this.dir) {
          this.dir = mkdtempSync(path.join(os.tmpdir(), `vino-exec-${process.pid}-`));
          process.once('exit', this.exitHook);
        }
        const dir = mkdtempSync(path.join(this.dir, 'sh-'));
        shell = new Shell(dir, () => this.pump());
        this.shells.push(shell);
      }
      shell.run(this.queue.shift()!);
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.shells) s.close();
    for (const j of this.queue.splice(0)) j.reject(new Error('the command runner was closed'));
    process.off('exit', this.exitHook);
    this.removeDir();
  }

  private removeDir(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** ExecResult or an error shaped like localExec's, for commands run through a ShellRunner. */
export async function runChecked(
  runner: ShellRunner,
  node: string,
  argv: string[],
  shown: readonly string[],
  env: Record<string, string> | undefined,
  timeoutMs: number,
): Promise<ExecResult> {
  const r = await runner.run(env ? { argv, env, timeoutMs } : { argv, timeoutMs });
  if (r.timedOut) throw new NodeExecError(node, shown, 'timeout', r.stderr, `${node}: \`${shown.join(' ')}\` did not finish within ${timeoutMs} ms`);
  if (r.status !== 0) throw new NodeExecError(node, shown, r.status, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}
