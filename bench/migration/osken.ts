/**
 * The Ryu-style baseline: Debian's os-ken (python3-os-ken) running the reactive learning switch
 * bench/baselines/simple_switch_13.py (shared with the ofload benchmark). Run with the system
 * python (/usr/bin/python3), where Debian installed os_ken, not whatever python3 is on PATH.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../testbed/workload/overlay.js';
import { startLogged, waitListening, type Child } from '../../testbed/workload/processes.js';

export const OSKEN_MANAGER = '/usr/bin/osken-manager';
export const SYSTEM_PYTHON = '/usr/bin/python3';

export function osKenApp(): string {
  const app = path.join(repoRoot(), 'bench', 'baselines', 'simple_switch_13.py');
  if (!existsSync(app)) throw new Error(`${app} is missing (the learning-switch app of the os-ken baseline)`);
  return app;
}

/** Why os-ken cannot run here, or null when it can. */
export function osKenMissing(): string | null {
  if (!existsSync(OSKEN_MANAGER)) return `${OSKEN_MANAGER} not found (Debian package python3-os-ken; scripts/setup installs it)`;
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  return null;
}


/** Starts os-ken on host:port and waits until it accepts connections. */
export async function startOsKen(options: { host: string; port: number; logFile: string; timeoutMs?: number }): Promise<Child> {
  const missing = osKenMissing();
  if (missing) throw new Error(`os-ken: ${missing}`);
  const child = startLogged('os-ken', [SYSTEM_PYTHON, OSKEN_MANAGER, '--ofp-listen-host', options.host, '--ofp-tcp-listen-port', String(options.port), osKenApp()], options.logFile);
  return waitListening(child, 'os-ken', { host: options.host, port: options.port, logFile: options.logFile, timeoutMs: options.timeoutMs ?? 30_000, pollMs: 200 });
}
