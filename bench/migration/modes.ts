/**
 * The compared forwarding schemes ("modes") and one measured migration run in any of them.
 *
 *   vino-commit    vino: the orchestrator prepares (POST /migrations) before the freeze,
 *                  attaches, resumes, then commits (POST /migrations/{id}/commit)
 *   vino-auto      vino: prepare only; the container's first frame at its new port commits
 *   vino-auto-nohold  vino-auto without the freeze call and nothing held (--hold-frames 0): the
 *                  first frame's commit alone, without waiting for a replay (issue 11's figure)
 *   vino-burst     vino-commit with the held frames replayed all at once (--hold-replay-burst 0)
 *   vino-wide      vino-commit with replay bursts of 256 frames (--hold-replay-burst 256)
 *   vino-cut-first vino-commit with the freeze step told after the old link is cut, not before
 *   learning       OVS learning switches (NORMAL), the container silent after the move
 *   learning-garp  learning switches, one gratuitous ARP from the container after the resume
 *   osken          os-ken (Ryu) reactive learning switch, simple_switch_13
 *   ovs-testcontroller  Open vSwitch's C learning controller (bench/migration/testcontroller.ts)
 *   freeze-only    control: the same freeze and resume without a move (vino forwarding); the
 *                  service's own cost of being stopped, the floor under every scheme
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { diagnose, flushMacTables, flushNeighbours, useController, useLearningSwitches, waitControllersConnected } from './bridges.js';
import { ProbeClient } from '../../testbed/workload/client.js';
import { emulateFreezeOnly, emulateLinkFlipMigration, emulateMigration, type EmulatedMigration, type EmulateOptions } from '../../testbed/workload/emulate.js';
import type { Overlay } from '../../testbed/workload/overlay.js';
import { startOsKen } from './osken.js';
import { startTestController } from './testcontroller.js';
import { freePort, monotonicMs, sleep, type Child } from '../../testbed/workload/processes.js';
import { analyzeRun, type RunFigures } from '../../testbed/workload/stats.js';
import { counterDelta, readCounters, type Counters } from './counters.js';
import { commitOrJoin, type MigrationView, type VinoProcess } from '../../testbed/workload/vino.js';

export type ModeKey = 'freeze-only' | 'vino-commit' | 'vino-nohold' | 'vino-burst' | 'vino-wide' | 'vino-cut-first' | 'vino-auto' | 'vino-auto-nohold' | 'learning' | 'learning-garp' | 'osken' | 'ovs-testcontroller';
export const MODE_KEYS: readonly ModeKey[] = ['freeze-only', 'vino-commit', 'vino-nohold', 'vino-burst', 'vino-wide', 'vino-cut-first', 'vino-auto', 'vino-auto-nohold', 'learning', 'learning-garp', 'osken', 'ovs-testcontroller'];

export const MODE_LABELS: Record<ModeKey, string> = {
  'freeze-only': 'control: freeze + resume, no move',
  'vino-commit': 'vino, prepare + freeze + commit',
  'vino-nohold': 'vino, no hold (--hold-frames 0)',
  'vino-burst': 'vino, replay at once (--hold-replay-burst 0)',
  'vino-wide': 'vino, replay bursts of 256 (--hold-replay-burst 256)',
  'vino-cut-first': 'vino, freeze told after the cut',
  'vino-auto': 'vino, prepare + auto-commit',
  'vino-auto-nohold': 'vino, auto-commit, no freeze, no hold',
  learning: 'learning switches (OVS NORMAL)',
  'learning-garp': 'learning switches + gratuitous ARP',
  osken: 'os-ken simple_switch_13 (Ryu)',
  'ovs-testcontroller': 'ovs-testcontroller (OVS C learning switch, OF1.3)',
};

export interface Scenario {
  overlay: Overlay;
  /** The migrating container (runs probe-server) and where it goes. */
  container: string;
  home: string;
  away: string;
  /** The container running probe-client, on another host. */
  client: string;
  copyMs: number;
  /**
   * How the container moves: 'flip' (bridged container, standby link prepared before the run,
   * the move is a link down/up: a few ms) or 'veth' (the veth is re-created at the new host: 1-2 s).
   */
  emulation: 'flip' | 'veth';
  /** Carry the container's neighbour cache over the move (see testbed/workload/emulate.ts). */
  keepNeighbours: boolean;
  /** Undisturbed traffic before the freeze. */
  preMs: number;
  /** Traffic kept after both streams recovered (to catch losses after the recovery). */
  holdMs: number;
  /** Longest observation after the resume; a run not recovered by then is reported as such. */
  windowMs: number;
  /** How long the control mode keeps the service stopped. */
  controlFreezeMs: number;
  /** The vino controller (started before provisioning, so the bridges find it at once). */
  vino: VinoProcess;
  /** Where the service logs the datagrams it received twice (probe-server --duplicate-log), if it does. */
  duplicateLog?: string;
  /** Restarts the controller with these extra options (same state file, same switches). */
  restartVino(extraArgs: string[]): Promise<void>;
}

export interface MigrationOutcome {
  emu: EmulatedMigration;
  /** vino only. */
  migration?: MigrationView;
  /** The explicit commit came after the first frame had committed (HTTP 409 "committing"). */
  commitRaced?: boolean;
  /** Time of the commit API call and its answer (vino-commit). */
  commitCall?: { at: number; ms: number };
}

export interface RunResult {
  mode: ModeKey;
  run: number;
  figures: RunFigures;
  emu: EmulatedMigration;
  /** Frozen for (resume − freeze), ms. */
  freezeMs: number;
  flipLatencyMs: number | null;
  /** vino: commit (or first frame) → the held frames replayed and the hold flow gone, or the flip's end if later. */
  deliveredMs: number | null;
  committedBy: 'api' | 'first-frame' | null;
  commitRaced: boolean;
  /** vino: the migration's freeze record (held / replayed / dropped frames). */
  freeze: MigrationView['freeze'] | null;
  /** Kernel and switch counters that moved during the run (bench/migration/counters.ts). */
  counters: Counters;
}

interface Mode {
  enter(s: Scenario): Promise<void>;
  /** Container back home, learned state forgotten: every run starts alike. */
  reset(s: Scenario): Promise<void>;
  migrate(s: Scenario): Promise<MigrationOutcome>;
  leave(s: Scenario): Promise<void>;
}

// ---- the move --------------------------------------------------------------------------------

/** The emulated migration of the scenario's container to the away host, as the scenario says. */
function emulate(s: Scenario, options: EmulateOptions): Promise<EmulatedMigration> {
  const all = { copyMs: s.copyMs, keepNeighbours: s.keepNeighbours, ...options };
  return s.emulation === 'flip'
    ? emulateLinkFlipMigration(s.overlay.bed, s.container, s.away, all)
    : emulateMigration(s.overlay.bed, s.container, s.away, all);
}

/**
 * Puts the container at `to` without measuring: a link flip when its standby link is there,
 * else a re-plug. With the flip emulation the standby link at the away host is then made ready
 * (its port appears now, not during the measured run).
 */
async function placeContainer(s: Scenario, to: string): Promise<void> {
  const bed = s.overlay.bed;
  if (s.overlay.where(s.container).node !== to) {
    if (s.emulation === 'flip' && bed.standby(s.container)?.node === to) await bed.switchToStandby(s.container);
    else await bed.moveContainer(s.container, to, { announce: false });
  }
  await readyStandby(s);
}

async function readyStandby(s: Scenario): Promise<void> {
  if (s.emulation === 'flip' && s.overlay.where(s.container).node === s.home) {
    await s.overlay.bed.prepareStandby(s.container, s.away, { portName: s.overlay.where(s.container).portName });
  }
}

// ---- vino -----------------------------------------------------------------------------------

/** Moves the container through a full vino migration, untimed (used to bring it back home). */
export async function vinoMove(s: Scenario, to: string): Promise<void> {
  const api = s.vino.api;
  const c = s.overlay.where(s.container);
  const m = await api.prepare(s.container, { switch: to, port: c.portName });
  const bed = s.overlay.bed;
  if (s.emulation === 'flip' && bed.standby(s.container)?.node === to) await bed.switchToStandby(s.container);
  else await bed.moveContainer(s.container, to, { announce: false });
  const { migration } = await commitOrJoin(api, m.id);
  if (migration.state !== 'committed') throw new Error(`moving ${s.container} to ${to}: migration ${m.id} ended ${migration.state}: ${migration.error ?? ''}`);
}

/**
 * `cutFirst`: the freeze step is called once the old link is cut instead of before (the old
 * contract's order); `freezeCall` false: never called (the old port going down still freezes).
 */
function vinoMode(auto: boolean, cutFirst = false, freezeCall = true): Mode {
  return {
    async enter(s) {
      // The vino process kept running while other schemes had the bridges.
      await useController(s.overlay, s.overlay.controllerTarget);
      await waitControllersConnected(s.overlay, 30_000);
    },
    async reset(s) {
      if (s.overlay.where(s.container).node !== s.home) await vinoMove(s, s.home);
      await readyStandby(s);
      await flushNeighbours(s.overlay, [s.container, s.client]);
    },
    async migrate(s) {
      const api = s.vino.api;
      const port = s.overlay.where(s.container).portName;
      const prepared = await api.prepare(s.container, { switch: s.away, port });
      // The freeze step with the service stopped, answered before the old link is cut (the old
      // port going down would freeze it too, but only once frames were lost at the cut).
      const freeze = async () => {
        await api.freeze(prepared.id);
      };
      const emu = await emulate(s, !freezeCall ? {} : cutFirst ? { afterUnplug: freeze } : { beforeUnplug: freeze });
      if (!auto) {
        const at = monotonicMs();
        const { migration, raced } = await commitOrJoin(api, prepared.id);
        return { emu, migration, commitRaced: raced, commitCall: { at, ms: monotonicMs() - at } };
      }
      // Auto-commit: the first frame does it; wait for it within the observation window.
      const migration = await api.waitSettled(prepared.id, s.windowMs);
      return { emu, migration };
    },
    async leave() {},
  };
}

/** A vino mode (vino-commit unless given) with other controller flags: nothing held, or without paced replay. */
function restartedVinoMode(flags: string[], vino = vinoMode(false)): Mode {
  return {
    async enter(s) {
      await vino.enter(s);
      await s.restartVino(flags);
    },
    reset: vino.reset,
    migrate: vino.migrate,
    async leave(s) {
      await s.restartVino([]);
    },
  };
}

// ---- learning switches ------------------------------------------------------------------------

function learningMode(garp: boolean): Mode {
  return {
    async enter(s) {
      await useLearningSwitches(s.overlay);
    },
    async reset(s) {
      await placeContainer(s, s.home);
      await flushMacTables(s.overlay);
      await flushNeighbours(s.overlay, [s.container, s.client]);
    },
    async migrate(s) {
      return { emu: await emulate(s, { announce: garp }) };
    },
    async leave() {},
  };
}

// ---- os-ken and ovs-testcontroller (bench/migration/testcontroller.ts) --------------------------

/** A peer controller as a process of its own, started afresh on a free port for every run. */
function peerControllerMode(start: (s: Scenario, port: number) => Promise<Child>): Mode {
  let child: Child | null = null;
  let port = 0;
  return {
    async enter(s) {
      port = await freePort(s.overlay.controllerHost);
    },
    async reset(s) {
      // A fresh controller and empty tables each run: what it learned about the old place goes.
      await child?.stop();
      child = null;
      await placeContainer(s, s.home);
      await useController(s.overlay, `tcp:${s.overlay.controllerHost}:${port}`);
      child = await start(s, port);
      await waitControllersConnected(s.overlay, 30_000);
      await flushNeighbours(s.overlay, [s.container, s.client]);
    },
    async migrate(s) {
      return { emu: await emulate(s, {}) };
    },
    async leave() {
      await child?.stop();
      child = null;
    },
  };
}

function osKenMode(): Mode {
  return peerControllerMode((s, port) => startOsKen({ host: s.overlay.controllerHost, port, logFile: s.overlay.file('os-ken.log') }));
}

function testControllerMode(): Mode {
  return peerControllerMode((s, port) => startTestController({
    host: s.overlay.controllerHost, port, logFile: s.overlay.file('ovs-testcontroller.log'), ctlFile: s.overlay.file('ovs-testcontroller.ctl'),
  }));
}

// ---- control ------------------------------------------------------------------------------------

function freezeOnlyMode(): Mode {
  const vino = vinoMode(true);
  return {
    enter: vino.enter,
    reset: vino.reset,
    async migrate(s) {
      return { emu: await emulateFreezeOnly(s.overlay.bed, s.container, s.controlFreezeMs) };
    },
    async leave() {},
  };
}

export function makeMode(key: ModeKey): Mode {
  switch (key) {
    case 'freeze-only': return freezeOnlyMode();
    case 'vino-commit': return vinoMode(false);
    case 'vino-nohold': return restartedVinoMode(['--hold-frames', '0']);
    case 'vino-burst': return restartedVinoMode(['--hold-replay-burst', '0']);
    case 'vino-wide': return restartedVinoMode(['--hold-replay-burst', '256']);
    case 'vino-cut-first': return vinoMode(false, true);
    case 'vino-auto': return vinoMode(true);
    case 'vino-auto-nohold': return restartedVinoMode(['--hold-frames', '0'], vinoMode(true, false, false));
    case 'learning': return learningMode(false);
    case 'learning-garp': return learningMode(true);
    case 'osken': return osKenMode();
    case 'ovs-testcontroller': return testControllerMode();
  }
}

// ---- one run -------------------------------------------------------------------------------------

/** One measured migration: reset, steady traffic, migrate, observe until recovered (or the window ends). */
export async function measureRun(s: Scenario, key: ModeKey, mode: Mode, run: number): Promise<RunResult> {
  await mode.reset(s);
  const target = s.overlay.topology.containers[s.container]!.ip;
  const client = await ProbeClient.start(s.overlay, {
    container: s.client, target, expect: s.container, outFile: s.overlay.file(`client-${key}-${run}.json`),
  });
  try {
    try {
      await client.waitSteady(20_000);
    } catch (err) {
      // Evidence of the broken state, kept in a file the bench copies out (see --keep).
      const file = s.overlay.file(`diagnosis-${key}-${run}.txt`);
      writeFileSync(file, await diagnose(s.overlay, [s.container, s.client]));
      (err as Error).message += ` (flows, MAC tables and neighbour caches: ${file})`;
      throw err;
    }
    const ports = { [s.home]: s.overlay.where(s.container).portName, [s.away]: s.overlay.where(s.container).portName };
    const before = await readCounters(s.overlay, s.container, ports);
    const observeFrom = monotonicMs();
    await sleep(s.preMs);
    const outcome = await mode.migrate(s);
    const resumeAt = outcome.emu.resumeAt;
    const left = s.windowMs - (monotonicMs() - resumeAt);
    const back = await client.waitFor((hb) => hb.httpOkAt !== null && hb.httpOkAt > resumeAt && hb.udpEchoSentAt !== null && hb.udpEchoSentAt >= resumeAt, Math.max(0, left));
    if (back) await sleep(s.holdMs);
    const record = await client.stop();
    // Read again at the end: the replay may finish after the commit answered (its timeline grows).
    if (outcome.migration) outcome.migration = await s.vino.api.migration(outcome.migration.id);
    const drops = counterDelta(before, await readCounters(s.overlay, s.container, ports));
    const figures = analyzeRun(record, { freezeAt: outcome.emu.freezeAt, resumeAt }, { observeFrom, ...serverDuplicates(s, record.udp.session) });
    // The run's milestones beside the client record (--keep copies both out).
    // wallMinusMonotonicMs maps the controller's timeline (wall-clock ISO times) onto the probes' clock.
    writeFileSync(s.overlay.file(`run-${key}-${run}.json`), JSON.stringify({
      observeFrom, wallMinusMonotonicMs: Date.now() - monotonicMs(), emu: outcome.emu, migration: outcome.migration ?? null, commitCall: outcome.commitCall ?? null, figures, counters: drops,
    }, null, 2));
    return {
      mode: key, run, figures, emu: outcome.emu,
      freezeMs: Math.round((resumeAt - outcome.emu.freezeAt) * 1000) / 1000,
      flipLatencyMs: outcome.migration?.flipLatencyMs ?? null,
      deliveredMs: outcome.migration ? heldDeliveredMs(outcome.migration) : null,
      committedBy: outcome.migration?.committedBy ?? null,
      commitRaced: outcome.commitRaced ?? false,
      freeze: outcome.migration?.freeze ?? null,
      counters: drops,
    };
  } finally {
    client.kill();
  }
}

/**
 * Commit (or first frame) → the network delivers at the new port without the controller: the
 * later of the flip's last barrier and the end of the replay (timeline "replayed"); null when
 * the timeline does not say.
 */
export function heldDeliveredMs(m: MigrationView): number | null {
  // The flip's end ("flip confirmed", else "committed": that one after the save) is flipLatencyMs after its start.
  const committed = m.timeline.find((e) => e.event === 'flip confirmed') ?? m.timeline.find((e) => e.event === 'committed');
  if (!committed || m.flipLatencyMs === null) return null;
  const start = committed.t - m.flipLatencyMs;
  const replayed = m.timeline.find((e) => e.event === 'replayed');
  const end = replayed && replayed.t > committed.t ? replayed.t : committed.t;
  return Math.round((end - start) * 1000) / 1000;
}

/** The datagrams of the client's session the server received twice (its --duplicate-log, when it keeps one). */
function serverDuplicates(s: Scenario, session: number | undefined): { serverDuplicates?: number[] } {
  if (!s.duplicateLog || session === undefined) return {};
  let text = '';
  try {
    text = readFileSync(s.duplicateLog, 'utf8');
  } catch (e) {
    // No duplicate yet in any run: the server has not created the file.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const seqs: number[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const d = JSON.parse(line) as { session: number; seq: number };
    if (d.session === session) seqs.push(d.seq);
  }
  return { serverDuplicates: seqs };
}

/** Every run of one mode; `onRun` sees each result as it comes. */
export async function measureMode(s: Scenario, key: ModeKey, runs: number, onRun: (r: RunResult) => void): Promise<RunResult[]> {
  const mode = makeMode(key);
  const results: RunResult[] = [];
  await mode.enter(s);
  try {
    for (let i = 1; i <= runs; i++) {
      const r = await measureRun(s, key, mode, i);
      results.push(r);
      onRun(r);
    }
  } finally {
    await mode.leave(s);
  }
  return results;
}
