/**
 * The overlay the real-OVS migration tests run on: sw1 (CORE) — sw2 (EDGE), h1 under sw1, h2
 * and h3 under sw2; c1 on h1, c2 on h3. Each test gets its own name, subnet and MACs, so that
 * tests running side by side do not collide. On failure the teardown prints what every bridge
 * holds and how the controller's log ends.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { dumpFlows } from '../../bench/migration/bridges.js';
import { Overlay } from '../../testbed/workload/overlay.js';
import type { VinoProcess } from '../../testbed/workload/vino.js';

export interface TwoEdgeOverlay {
  ov: Overlay;
  topologyFile: string;
  /** The controller the teardown stops (and whose log it prints on failure). */
  vino?: VinoProcess;
}

/** `subnet`: the overlay's third octet (192.168.<subnet>.0/24); `macByte`: the MACs' fifth byte. */
export async function twoEdgeOverlay(t: Test, name: string, subnet: number, macByte: number): Promise<TwoEdgeOverlay> {
  const net = `192.168.${subnet}`;
  const mac = (n: number) => `02:00:00:00:${macByte.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;
  const topologyFile = path.join(t.testdir(), `${name}.json`);
  writeFileSync(topologyFile, JSON.stringify({
    name,
    overlay_subnet: `${net}.0/24`,
    nodes: {
      sw1: { kind: 'switch', region: 'CORE' },
      sw2: { kind: 'switch', region: 'EDGE' },
      h1: { kind: 'host', region: 'CORE' },
      h2: { kind: 'host', region: 'EDGE' },
      h3: { kind: 'host', region: 'EDGE' },
    },
    links: [
      { switch: 'sw1', peer: 'sw2' },
      { switch: 'sw1', host: 'h1', overlay_ip: `${net}.11` },
      { switch: 'sw2', host: 'h2', overlay_ip: `${net}.12` },
      { switch: 'sw2', host: 'h3', overlay_ip: `${net}.13` },
    ],
    containers: {
      c1: { mac: mac(1), ip: `${net}.101`, host: 'h1' },
      c2: { mac: mac(2), ip: `${net}.102`, host: 'h3' },
    },
  }, null, 2));
  const ov = await Overlay.create(topologyFile);
  const out: TwoEdgeOverlay = { ov, topologyFile };
  t.teardown(async () => {
    if (!t.passing()) {
      // Evidence for whoever reads the failure: what every bridge holds, what the controller said.
      t.comment(`flow tables at the failure:\n${await dumpFlows(ov).catch((e: Error) => e.message)}`);
      if (out.vino) t.comment(`controller log (${out.vino.child.logFile}):\n${out.vino.child.tail(40)}`);
    }
    await out.vino?.stop();
    await ov.down();
  });
  return out;
}
