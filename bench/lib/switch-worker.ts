/**
 * Emulated switches in a worker thread of their own (bench/lib/connected-startup.ts with
 * `switchesApart`): real switches are not in the controller's process, and a thousand emulated
 * switches holding a million flows in it would have the controller's garbage collector walk their
 * tables and share its event loop. The worker keeps the switches' tables across a restart.
 *
 * Messages in: { op: 'connect', host, port, timeoutMs } (new switches on the same tables, every
 * one connected and through its handshake → { op: 'connected' } or { op: 'error', message });
 * { op: 'counts' } → { op: 'counts', flowMods, flowsHeld }; { op: 'close' } → { op: 'closed' }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmulatedSwitch, type EmulatedFlowTable, type EmulatedSwitchConfig } from './emulated-switch.js';

export interface SwitchWorkerData {
  configs: Omit<EmulatedSwitchConfig, 'flows'>[];
  keepFlows: boolean;
}

type Request = { op: 'connect'; host: string; port: number; timeoutMs: number } | { op: 'counts' } | { op: 'close' };

if (parentPort) {
  const port = parentPort;
  const data = workerData as SwitchWorkerData;
  const tables: EmulatedFlowTable[] | undefined = data.keepFlows ? data.configs.map(() => new Map()) : undefined;
  let switches: EmulatedSwitch[] = [];
  const closeAll = () => {
    for (const s of switches) s.close();
    switches = [];
  };
  port.on('message', (m: Request) => {
    if (m.op === 'connect') {
      closeAll();
      switches = data.configs.map((c, i) => new EmulatedSwitch({ ...c, ...(tables ? { flows: tables[i]! } : {}) }));
      const deadline = performance.now() + m.timeoutMs;
      Promise.all(switches.map((s) => s.connect(m.host, m.port, deadline)))
        .then(() => Promise.all(switches.map((s) => s.ready)))
        .then(() => port.postMessage({ op: 'connected' }), (err: Error) => port.postMessage({ op: 'error', message: err.message }));
    } else if (m.op === 'counts') {
      port.postMessage({ op: 'counts', flowMods: switches.reduce((n, s) => n + s.counters.flowMods, 0), flowsHeld: (tables ?? []).reduce((n, t) => n + t.size, 0) });
    } else if (m.op === 'close') {
      closeAll();
      port.postMessage({ op: 'closed' });
    }
  });
}
