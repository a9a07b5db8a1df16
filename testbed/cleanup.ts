/**
 * Run records, teardown and leftovers.
 *
 * Every run writes `<runDir>/run.json` (the RunRecord) before it creates anything, and links
 * `/run/vino-testbed/<runId>` to its folder, so teardown works from any process: the owner's
 * `down()`, its exit handlers (synchronously: no event loop is left on 'exit'), the CLI's
 * `testbed down`, and `cleanupStale` for runs whose owner died without cleaning up.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { defaultBaseDir, RUN_ID_PATTERN, RUN_OBJECT_PATTERN } from './names.js';
import {
  allPids,
  cmdline,
  isAlive,
  killProcessesSync,
  listNetns,
  netnsExists,
  pidsInNetns,
  procStat,
  run,
  runSync,
  stopProcesses,
} from './proc.js';
import type { RunRecord } from './types.js';

/** Where runs are registered (tmpfs: gone at reboot, like the namespaces). */
export const REGISTRY_DIR = '/run/vino-testbed';

export const recordFile = (runDir: string) => path.join(runDir, 'run.json');

/** Writes the record atomically (a crash leaves the old or the new one, never half). */
export function saveRecord(record: RunRecord): void {
  const file = recordFile(record.runDir);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, file);
}

export function loadRecord(runDir: string): RunRecord | null {
  try {
    const r = JSON.parse(readFileSync(recordFile(runDir), 'utf8')) as RunRecord;
    return r.version === 1 && RUN_ID_PATTERN.test(r.runId) ? r : null;
  } catch {
    return null;
  }
}

export function registerRun(runId: string, runDir: string): void {
  mkdirSync(REGISTRY_DIR, { recursive: true });
  symlinkSync(runDir, path.join(REGISTRY_DIR, runId));
}

function unregisterRun(runId: string): void {
  try {
    unlinkSync(path.join(REGISTRY_DIR, runId));
  } catch {
    // not registered
  }
}

/** Folder of a registered run, or null. */
export function registeredRunDir(runId: string): string | null {
  try {
    return readlinkSync(path.join(REGISTRY_DIR, runId));
  } catch {
    return null;
  }
}

export function processStartTime(pid: number): number {
  return procStat(pid)?.startTime ?? 0;
}

/** The owner is the very process that wrote the record (same pid and start time) and still runs. */
export function ownerAlive(record: RunRecord): boolean {
  if (!record.owner) return false;
  const s = procStat(record.owner.pid);
  return s !== null && s.state !== 'Z' && s.startTime === record.owner.startTime;
}

/** Root-namespace links (from sysfs of the root namespace we run in). */
export function rootLinks(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return [];
  }
}

/** Processes whose command line names a path inside `dir` (e.g. OVS daemons of a run). */
export function pidsReferencing(dir: string): number[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return allPids().filter((pid) => pid !== process.pid && isAlive(pid) && cmdline(pid).some((a) => a.includes(prefix)));
}

/** Daemon pids of the record that still belong to the run (guards against pid reuse). */
function recordedDaemons(record: RunRecord): number[] {
  const out: number[] = [];
  for (const n of Object.values(record.nodes)) {
    for (const pid of [n.ovsdbServerPid, n.vswitchdPid]) {
      if (pid !== null && isAlive(pid) && cmdline(pid).some((a) => a.includes(`${record.runDir}/`))) out.push(pid);
    }
  }
  return out;
}

export interface TeardownTarget {
  runId: string;
  runDir: string | null;
  namespaces: string[];
  rootLinks: string[];
  /** Process-group leaders we spawned (the OVS daemons). */
  groups: number[];
  /** Also kill processes whose command line points into runDir (stale cleanup). */
  byCommandLine: boolean;
}

export function targetOf(record: RunRecord): TeardownTarget {
  return {
    runId: record.runId,
    runDir: record.runDir,
    namespaces: [...record.namespaces],
    rootLinks: [...record.rootLinks],
    groups: recordedDaemons(record),
    byCommandLine: false,
  };
}

function victims(t: TeardownTarget): number[] {
  const pids = new Set<number>();
  for (const list of pidsInNetns(t.namespaces).values()) for (const p of list) pids.add(p);
  if (t.byCommandLine && t.runDir) for (const p of pidsReferencing(t.runDir)) pids.add(p);
  pids.delete(process.pid);
  return [...pids];
}

function batchLines(t: TeardownTarget): { root: string; netns: string } {
  const present = new Set(rootLinks());
  return {
    root: t.rootLinks.filter((l) => present.has(l)).map((l) => `link del ${l}\n`).join(''),
    netns: t.namespaces.filter(netnsExists).map((n) => `netns del ${n}\n`).join(''),
  };
}

function leftovers(t: TeardownTarget, alive: number[]): string[] {
  const out: string[] = [];
  const present = new Set(rootLinks());
  for (const n of t.namespaces) if (netnsExists(n)) out.push(`namespace ${n}`);
  for (const l of t.rootLinks) if (present.has(l)) out.push(`link ${l}`);
  for (const p of alive) out.push(`process ${p} (${cmdline(p).join(' ') || '?'})`);
  if (t.runDir && existsSync(t.runDir)) out.push(`folder ${t.runDir}`);
  return out;
}

/**
 * Removes everything the target names: processes first (a namespace with processes in it
 * outlives `ip netns del`), then root links, namespaces (their veths and OVS taps go with
 * them), the run folder and the registry entry. Throws listing whatever could not be removed.
 */
export async function teardown(t: TeardownTarget): Promise<void> {
  const alive = await stopProcesses(victims(t), t.groups);
  const { root, netns } = batchLines(t);
  const errors: string[] = [];
  // -force: go on after an error (e.g. a link that vanished with its namespace meanwhile).
  if (root) await run(['ip', '-force', '-batch', '-'], { input: root }).catch((e: Error) => errors.push(e.message));
  if (netns) await run(['ip', '-force', '-batch', '-'], { input: netns }).catch((e: Error) => errors.push(e.message));
  if (t.runDir) rmSync(t.runDir, { recursive: true, force: true });
  unregisterRun(t.runId);
  const left = leftovers(t, alive.filter(isAlive));
  if (left.length > 0) {
    throw new Error(`testbed ${t.runId}: teardown left ${left.join(', ')}${errors.length ? ` (${errors.join('; ')})` : ''}`);
  }
}

/** teardown for exit handlers: synchronous, never throws; returns what was left. */
export function teardownSync(t: TeardownTarget): string[] {
  const alive = killProcessesSync(victims(t), t.groups);
  const { root, netns } = batchLines(t);
  if (root) runSync(['ip', '-force', '-batch', '-'], root);
  if (netns) runSync(['ip', '-force', '-batch', '-'], netns);
  try {
    if (t.runDir) rmSync(t.runDir, { recursive: true, force: true });
  } catch {
    // reported as a leftover below
  }
  unregisterRun(t.runId);
  return leftovers(t, alive.filter(isAlive));
}

// ---- exit handlers ----

const exitTeardowns = new Map<string, () => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function runExitTeardowns(): void {
  for (const [runId, fn] of [...exitTeardowns]) {
    exitTeardowns.delete(runId);
    try {
      fn();
    } catch {
      // nothing more can be done while exiting
    }
  }
}

function onExit(): void {
  runExitTeardowns();
}

function onSignal(sig: NodeJS.Signals): void {
  const alone = process.listenerCount(sig) === 1;
  runExitTeardowns();
  uninstallHooks();
  // Alone: re-raise so the default action ends the process as the signal meant. Otherwise the
  // other listeners (e.g. the controller's graceful stop) decide; re-raise later in case none ends it.
  if (alone) process.kill(process.pid, sig);
  else setTimeout(() => process.kill(process.pid, sig), 3000).unref();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Tears `runId` down synchronously if the process exits or is interrupted first. */
export function registerExitTeardown(runId: string, fn: () => void): void {
  exitTeardowns.set(runId, fn);
  installHooks();
}

export function unregisterExitTeardown(runId: string): void {
  exitTeardowns.delete(runId);
  if (exitTeardowns.size === 0) uninstallHooks();
}

// ---- stale runs ----

export interface StaleCleanupResult {
  /** Runs torn down. */
  removed: string[];
  /** Runs left alone because their owner process is alive. */
  skipped: { runId: string; ownerPid: number }[];
  /** Teardown errors, one per run. */
  errors: string[];
}

/**
 * Removes what earlier runs left behind: namespaces and root links named with a run id,
 * processes in those namespaces or whose command line points into a run folder, the folders.
 * Runs whose owner process still runs (another test, a live program) are skipped; a run
 * detached by `testbed up` has no owner and is removed.
 */
export async function cleanupStale(
  options: { baseDir?: string; log?: (m: string) => void; /** Only these runs (default: every run found). */ runIds?: readonly string[] } = {},
): Promise<StaleCleanupResult> {
  const baseDir = options.baseDir ?? defaultBaseDir();
  const ids = new Set<string>();
  for (const n of [...listNetns(), ...rootLinks()]) {
    const m = RUN_OBJECT_PATTERN.exec(n);
    if (m) ids.add(m[1]!);
  }
  const dirs = new Map<string, string>();
  for (const d of safeReaddir(baseDir)) if (RUN_ID_PATTERN.test(d)) dirs.set(d, path.join(baseDir, d));
  for (const d of safeReaddir(REGISTRY_DIR)) {
    const dir = registeredRunDir(d);
    if (RUN_ID_PATTERN.test(d) && dir) dirs.set(d, dir);
  }
  for (const id of dirs.keys()) ids.add(id);
  if (options.runIds) for (const id of [...ids]) if (!options.runIds.includes(id)) ids.delete(id);

  const result: StaleCleanupResult = { removed: [], skipped: [], errors: [] };
  const netns = listNetns();
  const links = rootLinks();
  for (const runId of [...ids].sort()) {
    const runDir = dirs.get(runId) ?? null;
    const record = runDir ? loadRecord(runDir) : null;
    if (record && ownerAlive(record)) {
      result.skipped.push({ runId, ownerPid: record.owner!.pid });
      continue;
    }
    const mine = (n: string) => n.startsWith(`${runId}-`) || n.startsWith(`${runId}.`);
    const target: TeardownTarget = {
      runId,
      runDir,
      namespaces: [...new Set([...(record?.namespaces ?? []), ...netns.filter(mine)])],
      rootLinks: [...new Set([...(record?.rootLinks ?? []), ...links.filter(mine)])],
      groups: record ? recordedDaemons(record) : [],
      byCommandLine: runDir !== null,
    };
    options.log?.(`removing stale run ${runId}: ${target.namespaces.length} namespaces, ${target.rootLinks.length} links${runDir ? `, ${runDir}` : ''}`);
    try {
      await teardown(target);
      result.removed.push(runId);
    } catch (e) {
      result.errors.push((e as Error).message);
    }
  }
  return result;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
