/**
 * Open vSwitch's own C learning controller as a migration baseline: `ovs-testcontroller -O
 * OpenFlow13 --wildcards ptcp:PORT:HOST` (Debian openvswitch-testcontroller), every bridge of the overlay
 * pointed at it. It learns MAC → port from packet-ins and installs (in_port, eth_src, eth_dst) flows (idle
 * timeout 60 s, its default); like os-ken it learns a moved container only from its traffic.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { flushNeighbours, useController, waitControllersConnected } from './bridges.js';
import { emulateMigration } from '../../testbed/workload/emulate.js';
import { freePort, sleep, startLogged, type Child } from '../../testbed/workload/processes.js';
import type { Mode } from './modes.js';

export const OVS_TESTCONTROLLER = '/usr/bin/ovs-testcontroller';

/** Why ovs-testcontroller cannot run here, or null when it can. */
export function testControllerMissing(): string | null {
  return existsSync(OVS_TESTCONTROLLER) ? null : `${OVS_TESTCONTROLLER} not found (Debian package openvswitch-testcontroller)`;
}

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

/** Starts ovs-testcontroller on host:port (its control socket at `ctlFile`) and waits until it accepts connections. */
export async function startTestController(options: { host: string; port: number; logFile: string; ctlFile: string; timeoutMs?: number }): Promise<Child> {
  const missing = testControllerMissing();
  if (missing) throw new Error(`ovs-testcontroller: ${missing}`);
  // Its own control socket: the default path is shared by every instance on the machine.
  const child = startLogged('ovs-testcontroller', [OVS_TESTCONTROLLER, '-O', 'OpenFlow13', '--wildcards', `--unixctl=${options.ctlFile}`, '-vconsole:warn', `ptcp:${options.port}:${options.host}`], options.logFile);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`ovs-testcontroller exited before listening; ${options.logFile}:\n${child.tail()}`);
    if (await listening(options.host, options.port)) return child;
    await sleep(100);
  }
  await child.stop(1000);
  throw new Error(`ovs-testcontroller did not listen on ${options.host}:${options.port} within ${timeoutMs} ms; ${options.logFile}:\n${child.tail()}`);
}

export function testControllerMode(): Mode {
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
      if (s.overlay.where(s.container).node !== s.home) await s.overlay.bed.moveContainer(s.container, s.home, { announce: false });
      await useController(s.overlay, `tcp:${s.overlay.controllerHost}:${port}`);
      child = await startTestController({ host: s.overlay.controllerHost, port, logFile: s.overlay.file('ovs-testcontroller.log'), ctlFile: s.overlay.file('ovs-testcontroller.ctl') });
      await waitControllersConnected(s.overlay, 30_000);
      await flushNeighbours(s.overlay, [s.container, s.client]);
    },
    async migrate(s) {
      return { emu: await emulateMigration(s.overlay.bed, s.container, s.away, { copyMs: s.copyMs, keepNeighbours: s.keepNeighbours }) };
    },
    async leave() {
      await child?.stop();
      child = null;
    },
  };
}
