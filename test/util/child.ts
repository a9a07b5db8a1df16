import { spawn, type ChildProcess } from 'node:child_process';

/** A server process started by a test fixture: its stderr kept as text, its exit awaitable. */
export interface WatchedChild {
  readonly process: ChildProcess;
  /** Everything it wrote to stderr so far (fixtures quote it in failure messages). */
  stderr(): string;
  /** Resolves once it has exited. */
  readonly exited: Promise<void>;
  /** Neither exited nor ended by a signal yet. */
  running(): boolean;
}

/** Spawns `cmd` with stdin and stdout ignored and stderr collected. */
export function spawnWatched(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): WatchedChild {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    stderr: () => stderr,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}
